//! The cargo-mesh-audit engine.
//!
//! Data flows one way: [`discover`] finds files, [`engine`] parses each one,
//! summarises it into the crate [`index`], runs the [`rules`] over it with the
//! shared [`analysis`], and returns a sorted [`Report`]. Suggestions and
//! rendering live in other crates.

pub mod analysis;
pub mod config;
pub mod deploy;
pub mod discover;
pub mod engine;
pub mod fingerprint;
pub mod ignore_files;
pub mod index;
mod manifests;
pub mod modtree;
pub mod packages;
pub mod prefilter;
pub mod reach;
pub mod rules;
pub mod safe_fs;
pub mod source;
pub mod suppress;
pub mod toolcode;
mod workers;

pub use discover::Target;
pub use engine::{audit, audit_observed, AuditFailure, AuditOptions, Progress, Timings};
pub use mesh_audit_model::*;
