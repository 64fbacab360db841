//! Crates that cannot reach the network are not parsed
//! (`fixtures/network-reach`, `mesh_audit::reach`): skipping them changes
//! no finding, Cargo's dependency graph keeps the crates a network crate
//! calls or is called by, manifests' renames keep a crate, and no positive
//! rule fixture would be skipped.

mod common;

use common::*;

/// The `--timings` count of files not parsed.
fn unreached(o: &std::process::Output) -> usize {
    let err = stderr(o);
    let line = err
        .lines()
        .find(|l| l.trim_start().starts_with("reach "))
        .unwrap_or_else(|| panic!("no reach line in --timings:\n{err}"));
    line.split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line:?}"))
}

fn audit(args: &[&str]) -> (Vec<String>, usize) {
    let mut all = vec!["--format", "json", "--no-suggestions", "--timings"];
    all.extend_from_slice(args);
    let o = run(&repo(), &all);
    assert_no_panic(&o);
    (findings_with_values(&json(&o)), unreached(&o))
}

fn manifest() -> String {
    repo()
        .join("fixtures/network-reach/Cargo.toml")
        .display()
        .to_string()
}

#[test]
fn cargo_mode_keeps_the_members_linked_to_a_network_crate() {
    let m = manifest();
    let (findings, skipped) = audit(&["--manifest-path", &m]);
    assert_eq!(
        findings,
        [
            r#"retry-loop app/src/main.rs:5 {"host":"warehouse","port":"8080","protocol":"http","retries":"3"}"#,
            r#"loopback-bind std-net/src/main.rs:4 {"host":"127.0.0.1","port":"8080"}"#,
        ]
    );
    // Only `calc`: `app` calls `netlib`, `helper` is used by `app`,
    // `renamed` and `inherited` rename reqwest.
    assert_eq!(skipped, 1);
    let report = audit_manifest("fixtures/network-reach/Cargo.toml", &[]);
    let offline: Vec<(String, bool)> = report["summary"]["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| p["scope"] == "offline")
        .map(|p| (s(&p["name"]), p["audited"].as_bool().unwrap_or(true)))
        .collect();
    assert_eq!(offline, [("calc".to_string(), false)]);
    let o = run(&repo(), &["--manifest-path", &m, "--no-suggestions"]);
    assert!(
        stdout(&o).contains(
            "6 packages audited (6 unknown); 1 offline (no network crate in their code: not parsed)"
        ),
        "{}",
        stdout(&o)
    );
    let (all, none) = audit(&["--manifest-path", &m, "--no-prefilter"]);
    assert_eq!((all, none), (findings, 0));
}

#[test]
fn a_member_audited_alone_keeps_what_its_unread_members_may_reach() {
    // `-p`-like selection through the member's manifest: `netlib` is not
    // read, so nothing says `app` cannot reach the network through it.
    let m = repo().join("fixtures/network-reach/app/Cargo.toml");
    let (_, skipped) = audit(&["--manifest-path", m.to_str().unwrap()]);
    assert_eq!(skipped, 0);
    let m = repo().join("fixtures/network-reach/calc/Cargo.toml");
    let (_, skipped) = audit(&["--manifest-path", m.to_str().unwrap()]);
    assert_eq!(skipped, 1);
}

#[test]
fn folders_without_cargo_skip_crates_that_name_no_network_crate() {
    let (findings, skipped) = audit(&["fixtures/network-reach"]);
    assert_eq!(
        findings,
        [
            r#"loopback-bind fixtures/network-reach/std-net/src/main.rs:4 {"host":"127.0.0.1","port":"8080"}"#
        ]
    );
    // `app`, `helper` and `calc`: without Cargo no crate reads another's
    // index, so `app`'s call into `netlib` is no network call here either.
    assert_eq!(skipped, 3);
    let (all, none) = audit(&["fixtures/network-reach", "--no-prefilter"]);
    assert_eq!((all, none), (findings, 0));
}

#[test]
fn manifests_that_rename_a_network_crate() {
    use mesh_audit::reach::manifest_renames_network;
    let dir = repo().join("fixtures/network-reach");
    let renames = |member: &str| manifest_renames_network(&dir.join(member).join("Cargo.toml"));
    assert!(renames("renamed"), "http = {{ package = \"reqwest\" }}");
    assert!(
        renames("inherited"),
        "web.workspace = true, renamed at the root"
    );
    assert!(
        !renames("netlib"),
        "reqwest under its own name is no rename"
    );
    assert!(!renames("calc"));
    assert!(!renames("app"), "path dependencies are no network crates");
}

/// Every positive rule fixture names a network crate in its code: one that
/// did not (a crate the analysis learnt, missing from `reach`'s list) would
/// be skipped in a crate that depends on nothing else.
#[test]
fn no_positive_rule_fixture_would_be_skipped() {
    let rules = repo().join("fixtures/rules");
    let mut checked = 0;
    let mut skipped = Vec::new();
    for rule in std::fs::read_dir(&rules).expect("fixtures/rules") {
        let rule = rule.expect("entry").path();
        let Ok(entries) = std::fs::read_dir(&rule) else {
            continue;
        };
        for f in entries {
            let f = f.expect("entry").path();
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !(name.starts_with("positive") && name.ends_with(".rs")) {
                continue;
            }
            let text = std::fs::read_to_string(&f).expect("fixture text");
            checked += 1;
            if !mesh_audit::reach::names_network(&text) {
                skipped.push(f.strip_prefix(&rules).unwrap().display().to_string());
            }
        }
    }
    assert!(checked > 100, "found {checked} positive fixtures");
    assert!(skipped.is_empty(), "would be skipped: {skipped:#?}");
}
