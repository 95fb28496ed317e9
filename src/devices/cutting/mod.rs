//! Hulklip cutting stations over MQTT (`docs/devices/hulklip-mqtt.md`): the embedded broker
//! used when no external one is configured, and konsign's own MQTT link (the "host").

pub mod broker;
pub mod host;
pub mod passwd;
