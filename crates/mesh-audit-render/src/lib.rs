//! Output formats. Only this crate knows how a report looks on the outside;
//! each format is one module with one `render_*` function over the plain
//! `Report`, so adding a format never touches the engine.

mod human;
mod json;
mod rustc_json;
mod short;

pub use human::{render_human, HumanOptions};
pub use json::{render_json, report_json, JSON_VERSION};
pub use rustc_json::render_rustc_json;
pub use short::render_short;

/// Tool identity printed in machine-readable output.
#[derive(Debug, Clone, Copy)]
pub struct Tool<'a> {
    pub name: &'a str,
    pub version: &'a str,
}
