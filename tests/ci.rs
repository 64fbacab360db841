//! The CI gate: every output format on the example workspace (snapshots),
//! SARIF checked against the published SARIF 2.1.0 schema, side outputs,
//! baselines, and the command-line behaviour cargo users expect.
//!
//! The SARIF schema is read from `../shared/schemas/sarif/` beside the
//! repository (or `MESH_AUDIT_SCHEMA_DIR`); when absent that check is skipped
//! with one line on stderr, unless `MESH_AUDIT_REQUIRE_SCHEMAS=1`.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// The example workspace's path inside this repository, which GitHub
/// formats prefix (they resolve paths from the checkout). Outside a Git
/// checkout there is no prefix; snapshots are taken without it.
const IN_REPO: &str = "fixtures/example-workspace/";

fn in_git_checkout() -> bool {
    repo().join(".git").exists()
}

fn without_repo_prefix(text: &str) -> String {
    if in_git_checkout() {
        assert!(
            text.contains(IN_REPO),
            "paths are relative to the repository root:\n{text}"
        );
    }
    text.replace(IN_REPO, "")
}

// ------------------------------------------------------------------ formats

#[test]
fn example_workspace_short() {
    let o = run_example(&["--format", "short"]);
    assert_exit(&o, 1);
    insta::assert_snapshot!("example_workspace_short", stdout(&o));
}

#[test]
fn example_workspace_github() {
    let o = run_example(&["--format", "github"]);
    assert_exit(&o, 1);
    let text = without_repo_prefix(&stdout(&o));
    for line in text.lines() {
        assert!(
            line.starts_with("::error file=services/")
                || line.starts_with("::warning file=services/")
                || line.starts_with("::notice file=services/"),
            "{line}"
        );
        assert!(
            !line.contains('\n') && line.contains(",title=mesh-audit "),
            "{line}"
        );
    }
    insta::assert_snapshot!("example_workspace_github", text);
}

/// The rustc JSON stream with the machine's paths replaced.
#[test]
fn example_workspace_rustc_json() {
    let o = run_example(&["--message-format", "json"]);
    assert_exit(&o, 1);
    let root = example_workspace().canonicalize().unwrap();
    let text = stdout(&o).replace(root.to_str().unwrap(), "[root]");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    insta::assert_json_snapshot!("example_workspace_rustc_json", lines);
}

fn sarif_of(o: &std::process::Output) -> Value {
    let mut v = json(o);
    let base = &mut v["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"];
    assert!(
        base.as_str()
            .is_some_and(|u| u.starts_with("file:///") && u.ends_with('/')),
        "{base}"
    );
    *base = Value::from("[repository root]");
    v["runs"][0]["tool"]["driver"]["version"] = Value::from("[version]");
    v["runs"][0]["tool"]["driver"]["semanticVersion"] = Value::from("[version]");
    v
}

#[test]
fn example_workspace_sarif() {
    let o = run_example(&["--format", "sarif"]);
    assert_exit(&o, 1);
    let v = sarif_of(&o);
    validate_sarif(&v);
    let run = &v["runs"][0];
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), mesh_audit::rules::all().len());
    for r in rules {
        for key in [
            "id",
            "name",
            "shortDescription",
            "fullDescription",
            "help",
            "helpUri",
            "defaultConfiguration",
        ] {
            assert!(!r[key].is_null(), "rule {} has {key}", r["id"]);
        }
    }
    for result in run["results"].as_array().unwrap() {
        let i = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[i]["id"], result["ruleId"]);
        let loc = &result["locations"][0]["physicalLocation"]["artifactLocation"];
        assert_eq!(loc["uriBaseId"], "%SRCROOT%");
        let uri = s(&loc["uri"]);
        // Resolves from the repository root, where code scanning looks.
        let base = if in_git_checkout() {
            repo()
        } else {
            example_workspace()
        };
        assert!(base.join(&uri).is_file(), "{uri}");
        assert!(result["partialFingerprints"]["meshAuditFingerprint/v1"].is_string());
    }
    let mut text = serde_json::to_string_pretty(&v).unwrap();
    text = without_repo_prefix(&text);
    insta::assert_snapshot!("example_workspace_sarif", text);
}

/// The SARIF schema, if present; `None` (with one line) when absent and not
/// required.
fn sarif_schema() -> Option<Value> {
    let candidates: Vec<PathBuf> = match std::env::var_os("MESH_AUDIT_SCHEMA_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            vec![
                dir.join("sarif/sarif-2.1.0.json"),
                dir.join("sarif-2.1.0.json"),
            ]
        }
        None => vec![repo().join("../shared/schemas/sarif/sarif-2.1.0.json")],
    };
    match candidates.iter().find(|p| p.is_file()) {
        Some(p) => Some(serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()),
        None => {
            let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            if std::env::var("MESH_AUDIT_REQUIRE_SCHEMAS").is_ok_and(|v| v == "1") {
                panic!("the SARIF schema is required (MESH_AUDIT_REQUIRE_SCHEMAS=1) but none of {looked:?} exists");
            }
            mesh_audit_suggest::validate::announce_skip(&format!(
                "SARIF schema not found ({}); SARIF schema validation skipped",
                looked.join(", ")
            ));
            None
        }
    }
}

fn validate_sarif(v: &Value) {
    let Some(schema) = sarif_schema() else { return };
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let problems: Vec<String> = validator
        .iter_errors(v)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        problems.is_empty(),
        "SARIF schema violations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn sarif_carries_fixes_and_unanalysable_files_and_still_validates() {
    let dir = scratch(&[
        ("src/main.rs", LOOPBACK_MAIN),
        ("src/broken.rs", "fn main() {\n    let x = (1, 2;\n}\n"),
    ]);
    let o = run(dir.path(), &["src", "--format", "sarif"]);
    assert_exit(&o, 1);
    let v = json(&o);
    validate_sarif(&v);
    let run = &v["runs"][0];
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "loopback-bind");
    assert_eq!(result["properties"]["values"]["port"], "8080");
    let fix = &result["fixes"][0]["artifactChanges"][0]["replacements"][0];
    assert_eq!(fix["insertedContent"]["text"], "\"0.0.0.0:8080\"");
    assert_eq!(fix["deletedRegion"]["startLine"], 4);
    let notes = &run["invocations"][0]["toolExecutionNotifications"];
    assert_eq!(notes[0]["level"], "error");
    assert_eq!(
        notes[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/broken.rs"
    );
}

#[test]
fn side_outputs_write_machine_formats_while_stdout_stays_human() {
    let dir = scratch(&[("src/main.rs", LOOPBACK_MAIN)]);
    let o = run(
        dir.path(),
        &[
            "src",
            "--color",
            "never",
            "--sarif-output",
            "out.sarif",
            "--json-output",
            "out.json",
        ],
    );
    assert_exit(&o, 1);
    assert!(
        stdout(&o).starts_with("error[loopback-bind]"),
        "{}",
        stdout(&o)
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.json")).unwrap())
            .unwrap();
    assert_eq!(locations(&report), ["src/main.rs:4:20 loopback-bind"]);
}

#[test]
fn github_escaping_keeps_one_command_a_line() {
    let dir = scratch(&[("src/a,b:c%.rs", LOOPBACK_MAIN)]);
    let o = run(dir.path(), &["src", "--format", "github"]);
    let out = stdout(&o);
    assert!(
        out.starts_with("::error file=src/a%2Cb%3Ac%25.rs,line=4,col=20,"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 1);
    assert!(
        out.contains("%0A"),
        "the help follows on an escaped new line: {out}"
    );
}

// ---------------------------------------------------------------- baselines

/// Two identical binds in one function, and one elsewhere.
const TWO_BINDS: &str = "use tokio::net::TcpListener;

async fn serve() {
    let a = TcpListener::bind(\"127.0.0.1:8080\").await.unwrap();
}

async fn admin() {
    let a = TcpListener::bind(\"127.0.0.1:8080\").await.unwrap();
}
";

fn findings_in(o: &std::process::Output) -> Vec<String> {
    locations(&json(o))
}

#[test]
fn baseline_round_trip() {
    let dir = scratch(&[("src/main.rs", TWO_BINDS)]);
    let p = dir.path();
    let o = run(
        p,
        &[
            "src",
            "--format",
            "json",
            "--write-baseline",
            "baseline.json",
        ],
    );
    assert_exit(&o, 0);
    assert_eq!(findings_in(&o).len(), 2, "the recording run still reports");
    assert!(
        stderr(&o).contains("2 findings recorded as known"),
        "{}",
        stderr(&o)
    );

    let with_baseline = |p: &Path| {
        run(
            p,
            &["src", "--format", "json", "--baseline", "baseline.json"],
        )
    };
    let o = with_baseline(p);
    assert_exit(&o, 0);
    assert_eq!(findings_in(&o), Vec::<String>::new());
    assert!(
        stderr(&o).contains("2 known findings not reported, 0 baseline entries no longer match"),
        "{}",
        stderr(&o)
    );

    // Unrelated edits above and re-formatting keep every entry matching.
    let edited = format!(
        "//! A service.\n\nconst LIMIT: u32 = 3;\n\n{}",
        TWO_BINDS
            .replace(
                "    let a = TcpListener::bind(",
                "        let a = TcpListener::bind ("
            )
            .replace(
                ".await.unwrap();",
                "\n            .await\n            .unwrap();"
            )
    );
    write(p, "src/main.rs", edited.as_bytes());
    let o = with_baseline(p);
    assert_exit(&o, 0);
    assert_eq!(findings_in(&o), Vec::<String>::new());

    // A second, identical bind in `serve` is new: the baseline is a multiset.
    let doubled = edited.replacen(
        "            .unwrap();\n}\n",
        "            .unwrap();\n    let b = TcpListener::bind(\"127.0.0.1:8080\").await.unwrap();\n}\n",
        1,
    );
    write(p, "src/main.rs", doubled.as_bytes());
    let o = with_baseline(p);
    assert_exit(&o, 1);
    assert_eq!(
        findings_in(&o),
        ["src/main.rs:11:13 loopback-bind"],
        "only the new one"
    );
    assert!(
        stderr(&o).contains("2 known findings not reported"),
        "{}",
        stderr(&o)
    );

    // Fixed findings are counted as entries that no longer match.
    write(p, "src/main.rs", b"fn main() {}\n");
    let o = with_baseline(p);
    assert_exit(&o, 0);
    assert!(
        stderr(&o).contains("0 known findings not reported, 2 baseline entries no longer match"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn baseline_survives_edits_to_a_rule_fixture() {
    let fixture =
        std::fs::read_to_string(repo().join("fixtures/rules/retry-loop/positive.rs")).unwrap();
    let dir = scratch(&[("src/lib.rs", &fixture)]);
    let p = dir.path();
    let o = run(
        p,
        &["src", "--format", "json", "--write-baseline", "b.json"],
    );
    let count = findings_in(&o).len();
    assert!(count > 3, "the fixture has findings");
    // Lines added at the top and every line re-indented.
    let edited = format!(
        "// Edited.\n// More.\n{}",
        fixture
            .lines()
            .map(|l| format!("{l}  \n"))
            .collect::<String>()
    );
    write(p, "src/lib.rs", edited.as_bytes());
    let o = run(p, &["src", "--format", "json", "--baseline", "b.json"]);
    assert_exit(&o, 0);
    assert_eq!(findings_in(&o), Vec::<String>::new());
}

#[test]
fn a_broken_baseline_is_a_usage_error() {
    let dir = scratch(&[
        ("src/main.rs", LOOPBACK_MAIN),
        ("b.json", "{\"findings\": 3}"),
    ]);
    let o = run(dir.path(), &["src", "--baseline", "b.json"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("b.json: not a mesh-audit baseline"),
        "{}",
        stderr(&o)
    );
}

// ------------------------------------------------------------- command line

#[test]
fn flags_win_over_the_configuration() {
    let dir = scratch(&[
        (
            "mesh-audit.toml",
            "ignore = [\"loopback-bind\"]\n[rules.ephemeral-port]\nseverity = \"info\"\n",
        ),
        ("src/main.rs", LOOPBACK_MAIN),
    ]);
    let o = run(dir.path(), &["src", "--format", "json"]);
    assert_eq!(findings_in(&o), Vec::<String>::new());
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_eq!(findings_in(&o), ["src/main.rs:4:20 loopback-bind"]);

    // --list-rules shows the state after the configuration.
    let o = run(dir.path(), &["--list-rules"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    let row = |id: &str| -> Vec<String> {
        out.lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap()
            .split_whitespace()
            .take(3)
            .map(str::to_string)
            .collect()
    };
    assert_eq!(row("loopback-bind"), ["loopback-bind", "error", "no"]);
    assert_eq!(row("ephemeral-port"), ["ephemeral-port", "info", "yes"]);
    let o = run(dir.path(), &["--list-rules", "--select", "loopback-bind"]);
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("loopback-bind ") && l.contains(" yes ")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("retry-loop ") && l.contains(" no ")),
        "{out}"
    );
}

#[test]
fn select_trims_spaces() {
    let dir = scratch(&[("src/main.rs", LOOPBACK_MAIN)]);
    let o = run(
        dir.path(),
        &[
            "src",
            "--format",
            "json",
            "--select",
            "retry-loop, loopback-bind ,",
        ],
    );
    assert_exit(&o, 1);
    assert_eq!(findings_in(&o), ["src/main.rs:4:20 loopback-bind"]);
}

fn two_member_workspace() -> tempfile::TempDir {
    scratch(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"svc-a\", \"svc-b\", \"tool\"]\nresolver = \"2\"\n",
        ),
        ("svc-a/Cargo.toml", &package_manifest("svc-a")),
        ("svc-a/src/main.rs", LOOPBACK_MAIN),
        ("svc-b/Cargo.toml", &package_manifest("svc-b")),
        ("svc-b/src/main.rs", LOOPBACK_MAIN),
        ("tool/Cargo.toml", &package_manifest("tool")),
        ("tool/src/main.rs", LOOPBACK_MAIN),
    ])
}

#[test]
fn package_flag_takes_cargo_globs() {
    let dir = two_member_workspace();
    let o = run(dir.path(), &["--format", "json", "-p", "svc-*"]);
    assert_exit(&o, 1);
    assert_eq!(
        findings_in(&o),
        [
            "svc-a/src/main.rs:4:20 loopback-bind",
            "svc-b/src/main.rs:4:20 loopback-bind"
        ]
    );
    let o = run(
        dir.path(),
        &["--format", "json", "--workspace", "--exclude", "svc-?"],
    );
    assert_eq!(findings_in(&o), ["tool/src/main.rs:4:20 loopback-bind"]);
    let o = run(dir.path(), &["-p", "web-*"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("package `web-*` matches no member"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn manifest_path_to_a_directory_asks_for_the_file() {
    let dir = two_member_workspace();
    let o = run(dir.path(), &["--manifest-path", "svc-a"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("the manifest-path must be a path to a Cargo.toml file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_broken_member_manifest_is_reported_under_that_file() {
    let dir = two_member_workspace();
    write(
        dir.path(),
        "svc-b/Cargo.toml",
        b"[package]\nname = \"svc-b\"\nversion = 0.1.0\n",
    );
    let o = run(dir.path(), &["--format", "json"]);
    let errs = errors(&json(&o));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        (errs[0].0.as_str(), errs[0].1),
        ("svc-b/Cargo.toml", Some(3)),
        "{errs:?}"
    );
}

#[test]
fn unclosed_delimiters_are_named() {
    let dir = scratch(&[("src/broken.rs", "fn main() {\n    let x = foo(1, 2;\n}\n")]);
    let o = run(dir.path(), &["src", "--format", "json"]);
    let errs = errors(&json(&o));
    assert_eq!(
        errs,
        [(
            "src/broken.rs".to_string(),
            Some(3),
            Some(1),
            "cannot parse: mismatched closing delimiter `}`: the `(` opened at 2:16 is closed here"
                .to_string()
        )]
    );
}
