//! Labels: templates as data (`label-templates/`), checked when loaded, rendered to ZPL II for
//! thermal printers. PDF and PNG renderers, the printer spooler and the printer simulator come
//! with the rest of the labels issue.

pub mod code128;
pub mod template;
pub mod zpl;
