//! The wire types of konsign's cutting-station protocol (`docs/devices/hulklip-mqtt.md`), shared
//! by konsign (the host) and `konsign-bridge` (a station): topics, the envelope, every message,
//! and decoding with the protocol's checks (size, version, the message's JSON Schema, the header matching the topic); and
//! the serial line protocol between the bridge and the cutting machine (`line`, PROTOCOL.md).

pub mod bridge;
pub mod engine;
pub mod line;
pub mod machine;
pub mod schema;
pub mod wire;
