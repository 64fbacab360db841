//! Without Cargo, the audit works through the tree a unit of crates at a
//! time, dropping each unit's indexes before the next (flat memory on large
//! trees). Splitting must change nothing: the same findings, errors and
//! notes as one unit over the whole tree.

use std::path::PathBuf;

use mesh_audit::{AuditOptions, Target};

fn audit(unit_files: Option<usize>, threads: usize) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules");
    let opts = AuditOptions {
        threads,
        unit_files,
        ..Default::default()
    };
    let (mut report, _) =
        mesh_audit::audit(&Target::Paths(vec![root]), &opts).expect("the audit runs");
    report.elapsed_ms = 0;
    let tool = mesh_audit_render::Tool {
        name: "cargo-mesh-audit",
        version: "0",
    };
    mesh_audit_render::render_json(&report, tool)
}

#[test]
fn splitting_the_tree_into_units_changes_no_result() {
    let whole = audit(Some(usize::MAX), 2);
    assert!(
        whole.matches("\"rule\"").count() > 50,
        "the fixtures give findings to compare"
    );
    // Units of a few files: every crate folder of the fixtures on its own.
    for (unit_files, threads) in [(3, 2), (40, 1), (1, 2)] {
        let split = audit(Some(unit_files), threads);
        assert!(
            split == whole,
            "units of {unit_files} files (-j{threads}) changed the report"
        );
    }
}
