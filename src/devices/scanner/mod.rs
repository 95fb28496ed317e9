//! Serial barcode scanners: the frame codec (pure), the link task that owns each port, and the
//! supervisor that keeps one link per configured scanner.

pub mod codec;
pub mod link;
pub mod simulator;
pub mod supervisor;

pub use codec::{Decoded, DropReason, ScanCodec, Terminator};
pub use link::{spawn, LinkHandle, LinkStatus, ScanEvent, ScannerConfig};
pub use supervisor::Supervisor;
