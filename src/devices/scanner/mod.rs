//! Serial barcode scanners: the frame codec (pure) and the link task that owns the port.

pub mod codec;
pub mod link;

pub use codec::{Decoded, DropReason, ScanCodec, Terminator};
pub use link::{spawn, LinkHandle, LinkStatus, ScanEvent, ScannerConfig};
