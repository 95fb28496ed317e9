//! Devices on the warehouse floor. Each has a pure codec, a link task that owns the port or
//! socket, and is reached by the rest of the app through channels.

pub mod cutting;
pub mod printer;
pub mod scanner;
