//! Label printers on raw TCP (port 9100, ZPL II): the `~HS` status protocol, the spooler that
//! works each printer's persistent queue, and a simulated printer.

pub mod sim;
pub mod spooler;
pub mod status;
