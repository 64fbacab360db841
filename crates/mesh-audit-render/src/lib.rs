//! Output formats. Only this crate knows how a report looks on the outside;
//! each format is one module with one `render_*` function over the plain
//! `Report`, so adding a format never touches the engine.

mod github;
mod human;
mod json;
mod rustc_json;
mod sarif;
mod short;

pub use github::render_github;
pub use human::{render_finding, render_human, HumanOptions};
pub use json::{render_json, report_json, JSON_VERSION};
pub use rustc_json::{render_rustc_json, RustcJsonOptions};
pub use sarif::{file_uri_of_dir, render_sarif, sarif_json, RuleInfo, SarifOptions};
pub use short::render_short;

/// Tool identity printed in machine-readable output.
#[derive(Debug, Clone, Copy)]
pub struct Tool<'a> {
    pub name: &'a str,
    pub version: &'a str,
}
