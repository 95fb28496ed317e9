//! Printers on raw TCP (port 9100): label printers (ZPL II, the `~HS` status protocol) and
//! document printers (a PDF in a PJL job), the spooler that works each printer's persistent
//! queue, and a simulated printer that speaks both.

pub mod pjl;
pub mod sim;
pub mod spooler;
pub mod status;
