//! The command line, end to end: the real `cargo-mesh-audit` binary on the
//! example workspace (`fixtures/example-workspace`) and on small projects
//! written into temporary directories. Only the bind rules are selected
//! where exact findings are asserted, so that rules added later do not
//! change these expectations.

mod common;

use common::*;
use serde_json::Value;

const BIND_RULES: &str = "loopback-bind,ephemeral-port";

/// What the bind rules find in the example workspace, outside test code.
const EXAMPLE_BIND_FINDINGS: [&str; 4] = [
    "services/gateway/src/main.rs:23:20 loopback-bind",
    "services/gateway/src/main.rs:53:20 ephemeral-port",
    "services/inventory/src/main.rs:31:10 loopback-bind",
    "services/orders/src/main.rs:43:20 loopback-bind",
];

/// Every `.rs` file of the example workspace (tests and build scripts included).
const EXAMPLE_FILES: usize = 14;

fn example_json(extra: &[&str]) -> (std::process::Output, Value) {
    let mut args = vec!["--format", "json", "--select", BIND_RULES];
    args.extend_from_slice(extra);
    let o = run_example(&args);
    let v = json(&o);
    (o, v)
}

// ---------------------------------------------------------------- invocation

#[test]
fn cargo_subcommand_word_is_dropped() {
    let cwd = repo();
    let plain = run(&cwd, &["--list-rules"]);
    let via_cargo = run(&cwd, &["mesh-audit", "--list-rules"]);
    assert_exit(&plain, 0);
    assert_exit(&via_cargo, 0);
    assert_eq!(stdout(&plain), stdout(&via_cargo));
    assert!(stdout(&plain).starts_with("RULE "), "{}", stdout(&plain));

    let manifest = example_manifest();
    let m = manifest.to_str().unwrap();
    let a = run(
        &cwd,
        &[
            "mesh-audit",
            "--manifest-path",
            m,
            "--format",
            "json",
            "--select",
            BIND_RULES,
        ],
    );
    let b = run(
        &cwd,
        &[
            "--manifest-path",
            m,
            "--format",
            "json",
            "--select",
            BIND_RULES,
        ],
    );
    assert_exit(&a, 1);
    assert_exit(&b, 1);
    assert_eq!(stable(json(&a)), stable(json(&b)));
}

#[test]
fn only_the_first_mesh_audit_word_is_the_subcommand() {
    // `cargo mesh-audit mesh-audit` audits a folder named `mesh-audit`.
    let dir = scratch(&[("mesh-audit/server.rs", LOOPBACK_MAIN)]);
    let o = run(
        dir.path(),
        &[
            "mesh-audit",
            "mesh-audit",
            "--format",
            "short",
            "--select",
            "loopback-bind",
        ],
    );
    assert_exit(&o, 1);
    assert!(
        stdout(&o).starts_with("mesh-audit/server.rs:4:20: error[loopback-bind]: "),
        "{}",
        stdout(&o)
    );
}

#[test]
fn help_and_version_exit_zero() {
    let o = run(&repo(), &["--help"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(out.contains("Exit codes:"), "{out}");
    assert!(out.contains("--manifest-path"), "{out}");
    let o = run(&repo(), &["mesh-audit", "--version"]);
    assert_exit(&o, 0);
    assert_eq!(
        stdout(&o),
        format!("cargo-mesh-audit {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let o = run(&repo(), &["--frobnicate"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("--frobnicate"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let o = run(&repo(), &["--format", "xml"]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("xml"), "{}", stderr(&o));
}

// ------------------------------------------------------ rules and their docs

#[test]
fn list_rules_prints_one_row_per_rule() {
    let o = run(&repo(), &["--list-rules"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["RULE", "SEVERITY", "ENABLED", "CATEGORY", "SUMMARY"]
    );
    assert_eq!(lines.len(), mesh_audit::rules::all().len() + 1, "{out}");
    let row = |id: &str| {
        lines
            .iter()
            .find(|l| l.split_whitespace().next() == Some(id))
            .unwrap_or_else(|| panic!("{id} missing from:\n{out}"))
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        row("loopback-bind"),
        ["loopback-bind", "error", "yes", "networking"]
    );
    assert_eq!(
        row("ephemeral-port"),
        ["ephemeral-port", "error", "yes", "networking"]
    );
    assert!(
        out.contains("server listens on a loopback address the sidecar cannot reach"),
        "{out}"
    );
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

#[test]
fn explain_prints_the_rule_documentation() {
    let o = run(&repo(), &["--explain", "loopback-bind"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    assert!(
        out.starts_with("# loopback-bind\n\n## What it finds\n"),
        "{out}"
    );
    for section in [
        "## Why it breaks under a mesh",
        "## Example",
        "## Use instead",
        "## Mesh config",
        "## Not reported",
    ] {
        assert!(out.contains(section), "missing {section}:\n{out}");
    }
    assert!(!out.contains("//!"), "doc comment markers leaked:\n{out}");
    assert!(
        !out.contains("use std::collections"),
        "source code leaked:\n{out}"
    );

    let o = run(&repo(), &["mesh-audit", "--explain", "ephemeral-port"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).starts_with("# ephemeral-port\n"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn explain_unknown_rule_is_a_usage_error() {
    let o = run(&repo(), &["--explain", "nope"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: unknown rule `nope` (see --list-rules)\n"
    );
    assert!(o.stdout.is_empty());
}

// --------------------------------------------------------- package selection

#[test]
fn manifest_path_audits_every_member() {
    let (o, v) = example_json(&[]);
    assert_exit(&o, 1);
    assert_eq!(locations(&v), EXAMPLE_BIND_FINDINGS);
    assert_eq!(v["summary"]["files_scanned"], EXAMPLE_FILES);
    assert_eq!(v["errors"], serde_json::json!([]));
    let packages: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| s(&f["package"]))
        .collect();
    assert_eq!(packages, ["gateway", "gateway", "inventory", "orders"]);
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

#[test]
fn example_findings_carry_the_values_read_from_the_code() {
    let (_, v) = example_json(&[]);
    let f = &v["findings"];
    assert_eq!(
        f[0]["values"],
        serde_json::json!({"host": "127.0.0.1", "host_source": "env", "port": "8000"})
    );
    assert_eq!(
        f[1]["values"],
        serde_json::json!({"host": "0.0.0.0", "port": "0"})
    );
    assert_eq!(
        f[2]["values"],
        serde_json::json!({"host": "127.0.0.1", "port": "8080"})
    );
    assert_eq!(
        f[3]["values"],
        serde_json::json!({"host": "127.0.0.1", "port": "9090"})
    );
    assert_eq!(
        s(&f[3]["message"]),
        "tokio server listens on loopback address `127.0.0.1`; the sidecar forwards to the pod IP and cannot reach it"
    );
    assert_eq!(
        s(&f[0]["message"]),
        "tokio server falls back to loopback address `127.0.0.1` when its environment variable is unset; \
         the sidecar forwards to the pod IP and cannot reach it"
    );
    // The range of `TcpListener::bind("127.0.0.1:9090")`.
    assert_eq!(
        (&f[3]["end_line"], &f[3]["end_column"]),
        (&Value::from(43), &Value::from(55))
    );
    let source =
        std::fs::read_to_string(example_workspace().join("services/orders/src/main.rs")).unwrap();
    let (start, end) = (
        f[3]["byte_start"].as_u64().unwrap() as usize,
        f[3]["byte_end"].as_u64().unwrap() as usize,
    );
    assert_eq!(&source[start..end], "TcpListener::bind(\"127.0.0.1:9090\")");
}

#[test]
fn workspace_flag_and_cwd_discovery_audit_the_same_workspace() {
    let (_, with_manifest) = example_json(&[]);
    let o = run(
        &example_workspace(),
        &["--workspace", "--format", "json", "--select", BIND_RULES],
    );
    assert_exit(&o, 1);
    assert_eq!(stable(json(&o)), stable(with_manifest));
}

#[test]
fn package_flag_selects_packages() {
    let (o, v) = example_json(&["-p", "orders"]);
    assert_exit(&o, 1);
    assert_eq!(
        locations(&v),
        ["services/orders/src/main.rs:43:20 loopback-bind"]
    );
    assert_eq!(v["summary"]["files_scanned"], 7);

    let (o, v) = example_json(&["--package", "pricing"]);
    assert_exit(&o, 0);
    assert_eq!(locations(&v), Vec::<String>::new());
    assert_eq!(v["summary"]["files_scanned"], 2);

    let (_, v) = example_json(&["-p", "orders", "-p", "inventory"]);
    assert_eq!(
        locations(&v),
        [EXAMPLE_BIND_FINDINGS[2], EXAMPLE_BIND_FINDINGS[3]]
    );
    assert_eq!(v["summary"]["files_scanned"], 9);
}

#[test]
fn unknown_package_is_a_usage_error() {
    let o = run_example(&["-p", "shipping"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.starts_with("error: package `shipping` is not a member of the workspace at "),
        "{err}"
    );
    assert!(err.contains("example-workspace"), "{err}");
    assert!(o.stdout.is_empty());
}

#[test]
fn exclude_flag_leaves_packages_out() {
    let (o, v) = example_json(&["--workspace", "--exclude", "gateway"]);
    assert_exit(&o, 1);
    assert_eq!(locations(&v), EXAMPLE_BIND_FINDINGS[2..]);
    assert_eq!(v["summary"]["files_scanned"], EXAMPLE_FILES - 3);

    let (o, v) = example_json(&[
        "--workspace",
        "--exclude",
        "gateway",
        "--exclude",
        "inventory",
        "--exclude",
        "orders",
    ]);
    assert_exit(&o, 0);
    assert_eq!(locations(&v), Vec::<String>::new());
    assert_eq!(v["summary"]["files_scanned"], 2);

    let o = run_example(&["--workspace", "--exclude", "nope"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("package `nope` is not a member"),
        "{}",
        stderr(&o)
    );

    // As in cargo, --exclude only means something with --workspace.
    let o = run_example(&["--exclude", "gateway"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: --exclude can only be used together with --workspace\n"
    );
}

#[test]
fn plain_paths_without_manifest_treat_tests_beside_src_as_test_code() {
    let bind = "pub async fn serve() {\n    let _l = tokio::net::TcpListener::bind(\"127.0.0.1:8080\").await;\n}\n";
    let dir = scratch(&[
        ("svc/src/main.rs", bind),
        ("svc/tests/it.rs", bind),
        ("svc/benches/load.rs", bind),
        ("svc/examples/demo.rs", bind),
        // Not beside a `src/`: an ordinary folder that happens to be named so.
        ("tools/examples/run.rs", bind),
    ]);
    let o = run(
        dir.path(),
        &[".", "--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    assert_eq!(
        locations(&json(&o)),
        [
            "svc/src/main.rs:2:14 loopback-bind",
            "tools/examples/run.rs:2:14 loopback-bind"
        ]
    );
}

#[test]
fn plain_paths_are_audited_relative_to_the_working_directory() {
    let ws = example_workspace();
    let o = run(
        &ws,
        &[
            "services/orders/src",
            "services/gateway/src/main.rs",
            "--format",
            "short",
            "--select",
            BIND_RULES,
        ],
    );
    assert_exit(&o, 1);
    let lines: Vec<String> = stdout(&o)
        .lines()
        .map(|l| l.split(": ").next().unwrap().to_string())
        .collect();
    assert_eq!(
        lines,
        [
            "services/gateway/src/main.rs:23:20",
            "services/gateway/src/main.rs:53:20",
            "services/orders/src/main.rs:43:20"
        ]
    );

    // A whole folder of packages: test files under `tests/` stay out of the report.
    let o = run(
        &ws,
        &["services", "--format", "json", "--select", BIND_RULES],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(locations(&v), EXAMPLE_BIND_FINDINGS);
    assert_eq!(v["summary"]["files_scanned"], EXAMPLE_FILES);
    // Path mode still knows the package each file belongs to.
    assert_eq!(v["findings"][3]["package"], "orders");
}

#[test]
fn paths_cannot_be_combined_with_cargo_selection() {
    let o = run_example(&["services"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: paths cannot be combined with --manifest-path, --package, --exclude or --workspace\n"
    );
    let o = run(&example_workspace(), &["services", "-p", "orders"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: paths cannot be combined with --manifest-path, --package, --exclude or --workspace\n"
    );
}

// -------------------------------------------------------------------- output

#[test]
fn short_format_is_one_finding_a_line() {
    let o = run_example(&["--format", "short", "--select", BIND_RULES]);
    assert_exit(&o, 1);
    assert_eq!(
        stdout(&o),
        "services/gateway/src/main.rs:23:20: error[loopback-bind]: tokio server falls back to loopback address `127.0.0.1` when its environment variable is unset; the sidecar forwards to the pod IP and cannot reach it\n\
         services/gateway/src/main.rs:53:20: error[ephemeral-port]: std server binds port 0 on `0.0.0.0`; the kernel picks a random port that no Service or sidecar rule targets\n\
         services/inventory/src/main.rs:31:10: error[loopback-bind]: actix-web server listens on loopback address `127.0.0.1`; the sidecar forwards to the pod IP and cannot reach it\n\
         services/orders/src/main.rs:43:20: error[loopback-bind]: tokio server listens on loopback address `127.0.0.1`; the sidecar forwards to the pod IP and cannot reach it\n"
    );
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
}

#[test]
fn json_format_has_the_documented_shape() {
    let (o, v) = example_json(&[]);
    assert_exit(&o, 1);
    assert_eq!(v["version"], 1);
    assert_eq!(
        v["tool"],
        serde_json::json!({"name": "cargo-mesh-audit", "version": env!("CARGO_PKG_VERSION")})
    );
    let root = std::fs::canonicalize(example_workspace()).unwrap();
    assert_eq!(std::fs::canonicalize(s(&v["root"])).unwrap(), root);
    let summary = &v["summary"];
    assert_eq!(summary["files_scanned"], EXAMPLE_FILES);
    assert_eq!(summary["findings"], 4);
    assert_eq!(summary["errors"], 0);
    assert_eq!(
        summary["by_rule"],
        serde_json::json!({"ephemeral-port": 1, "loopback-bind": 3})
    );
    assert!(summary["elapsed_ms"].is_u64());
    let mut keys: Vec<&String> = v["findings"][0].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "byte_end",
            "byte_start",
            "column",
            "end_column",
            "end_line",
            "file",
            "fingerprint",
            "help",
            "line",
            "message",
            "package",
            "rule",
            "severity",
            "suggestions",
            "values"
        ]
    );
    for f in v["findings"].as_array().unwrap() {
        let fp = s(&f["fingerprint"]);
        assert!(
            fp.len() == 16 && fp.bytes().all(|b| b.is_ascii_hexdigit()),
            "{fp}"
        );
    }
    let fps: std::collections::BTreeSet<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| s(&f["fingerprint"]))
        .collect();
    assert_eq!(fps.len(), 4, "fingerprints are unique");
    // `--message-format json` is cargo's: rustc diagnostics, one a line.
    let o = run_example(&["--message-format", "json", "--select", BIND_RULES]);
    let lines: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    // Cargo mode: each diagnostic in a `compiler-message`, then `build-finished`.
    assert_eq!(lines.len(), 5);
    assert!(lines[..4].iter().all(
        |d| d["reason"] == "compiler-message" && d["message"]["$message_type"] == "diagnostic"
    ));
    assert_eq!(lines[4]["reason"], "build-finished");
}

#[test]
fn human_format_shows_snippets_and_a_summary() {
    let o = run_example(&[
        "--format", "human", "--color", "never", "--select", BIND_RULES,
    ]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "error[loopback-bind]: tokio server falls back to loopback address `127.0.0.1` when its environment variable is unset"
        ),
        "{out}"
    );
    assert!(
        out.contains("  --> services/orders/src/main.rs:43:20\n"),
        "{out}"
    );
    assert!(
        out.contains("43 |     let listener = TcpListener::bind(\"127.0.0.1:9090\").await?;\n"),
        "{out}"
    );
    assert!(
        out.contains("^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ host=127.0.0.1 port=9090"),
        "{out}"
    );
    assert!(
        out.contains("= help: bind `0.0.0.0` and read the port from the environment (e.g. `PORT`)"),
        "{out}"
    );
    let last = out.lines().last().unwrap();
    let prefix = "14 files scanned: 4 errors, 0 warnings, 0 infos; 0 files not analysed (";
    assert!(last.starts_with(prefix) && last.ends_with(" ms)"), "{last}");
    assert!(!out.contains('\u{1b}'), "no colour with --color never");
    // Human is the default format.
    let default = run_example(&["--color", "never", "--select", BIND_RULES]);
    let strip = |s: String| {
        s.lines()
            .filter(|l| !l.ends_with(" ms)"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(stdout(&default)), strip(out));
}

#[test]
fn quiet_drops_the_summary_line() {
    let o = run_example(&["--quiet", "--color", "never", "--select", BIND_RULES]);
    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(!out.contains("files scanned"), "{out}");
    assert_eq!(out.matches("error[").count(), 4, "{out}");
}

#[test]
fn colour_follows_flags_and_environment() {
    let esc = |o: &std::process::Output| o.stdout.contains(&0x1b);
    let base = ["--select", BIND_RULES, "-p", "orders"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> { [&base[..], extra].concat() };
    assert!(esc(&run_example(&with(&["--color", "always"]))));
    assert!(!esc(&run_example(&with(&["--color", "never"]))));
    // Piped stdout: no colour by default.
    assert!(!esc(&run_example(&base)));
    let m = example_manifest();
    let m = m.to_str().unwrap();
    let o = cmd(&repo())
        .args(["--manifest-path", m])
        .args(base)
        .env("CARGO_TERM_COLOR", "always")
        .output()
        .unwrap();
    assert!(esc(&o), "CARGO_TERM_COLOR=always colours piped output");
    let o = cmd(&repo())
        .args(["--manifest-path", m, "--color", "never"])
        .args(base)
        .env("CARGO_TERM_COLOR", "always")
        .output()
        .unwrap();
    assert!(!esc(&o), "--color wins over CARGO_TERM_COLOR");
}

#[test]
fn output_flag_writes_the_report_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.json");
    let o = run_example(&[
        "--format",
        "json",
        "--select",
        BIND_RULES,
        "--output",
        file.to_str().unwrap(),
    ]);
    assert_exit(&o, 1);
    assert!(o.stdout.is_empty(), "nothing on stdout: {}", stdout(&o));
    assert!(o.stderr.is_empty(), "{}", stderr(&o));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let (_, on_stdout) = example_json(&[]);
    assert_eq!(stable(written), stable(on_stdout));

    // Human output to a file is never coloured and keeps the summary.
    let file = dir.path().join("report.txt");
    let o = run_example(&["-o", file.to_str().unwrap(), "--select", BIND_RULES]);
    assert_exit(&o, 1);
    assert!(o.stdout.is_empty());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("14 files scanned: 4 errors"), "{text}");
}

#[test]
fn output_to_an_unwritable_place_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("no-such-dir/report.json");
    let o = run_example(&["--format", "json", "--output", file.to_str().unwrap()]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.starts_with("error: cannot write "), "{err}");
    assert!(err.contains("no-such-dir/report.json"), "{err}");
}

// ------------------------------------------------------------ rule selection

#[test]
fn select_and_ignore_choose_rules() {
    let o = run_example(&["--format", "json", "--select", "ephemeral-port"]);
    assert_exit(&o, 1);
    assert_eq!(
        locations(&json(&o)),
        ["services/gateway/src/main.rs:53:20 ephemeral-port"]
    );

    let o = run_example(&[
        "--format",
        "json",
        "--select",
        BIND_RULES,
        "--ignore",
        "loopback-bind",
    ]);
    assert_eq!(
        locations(&json(&o)),
        ["services/gateway/src/main.rs:53:20 ephemeral-port"]
    );

    // Nothing left to run is a usage error, not a silent empty run.
    let o = run_example(&[
        "--format",
        "json",
        "--select",
        "loopback-bind",
        "--ignore",
        "loopback-bind",
    ]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: no rule left to run: --ignore removes every rule --select chose\n"
    );

    // Repeated flags accumulate.
    let o = run_example(&[
        "--format",
        "json",
        "--select",
        "loopback-bind",
        "--select",
        "ephemeral-port",
    ]);
    assert_eq!(locations(&json(&o)), EXAMPLE_BIND_FINDINGS);
}

#[test]
fn unknown_rule_in_select_or_ignore_is_a_usage_error() {
    for args in [
        &["--select", "nope"][..],
        &["--select", "loopback-bind,nope"][..],
        &["--ignore", "nope"][..],
    ] {
        let o = run_example(args);
        assert_exit(&o, 2);
        assert_eq!(
            stderr(&o),
            "error: unknown rule `nope` (see --list-rules)\n",
            "{args:?}"
        );
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn fail_on_sets_the_exit_code_threshold() {
    // Example findings are errors.
    for (level, expected) in [("error", 1), ("warning", 1), ("info", 1), ("never", 0)] {
        let o = run_example(&[
            "--select",
            BIND_RULES,
            "--format",
            "short",
            "--fail-on",
            level,
        ]);
        assert_exit(&o, expected);
        assert_eq!(
            stdout(&o).lines().count(),
            4,
            "--fail-on {level} reports the same findings"
        );
    }
    // No finding at all: 0 whatever the level.
    let o = run_example(&["-p", "pricing", "--select", BIND_RULES, "--fail-on", "info"]);
    assert_exit(&o, 0);

    // Warnings and infos, through configuration.
    for (severity, cases) in [
        (
            "warning",
            [("error", 0), ("warning", 1), ("info", 1), ("never", 0)],
        ),
        (
            "info",
            [("error", 0), ("warning", 0), ("info", 1), ("never", 0)],
        ),
    ] {
        let config = format!("[rules.loopback-bind]\nseverity = \"{severity}\"\n");
        let dir = scratch(&[("mesh-audit.toml", &config), ("src/main.rs", LOOPBACK_MAIN)]);
        for (level, expected) in cases {
            let o = run(
                dir.path(),
                &["src", "--select", "loopback-bind", "--fail-on", level],
            );
            assert_exit(&o, expected);
        }
    }
    // The default threshold is `warning`.
    let dir = scratch(&[
        (
            "mesh-audit.toml",
            "[rules.loopback-bind]\nseverity = \"warning\"\n",
        ),
        ("src/main.rs", LOOPBACK_MAIN),
    ]);
    assert_exit(&run(dir.path(), &["src"]), 1);
    let dir = scratch(&[
        (
            "mesh-audit.toml",
            "[rules.loopback-bind]\nseverity = \"info\"\n",
        ),
        ("src/main.rs", LOOPBACK_MAIN),
    ]);
    assert_exit(&run(dir.path(), &["src"]), 0);
}

#[test]
fn files_that_cannot_be_analysed_fail_the_run_unless_fail_on_never() {
    let dir = scratch(&[
        ("src/ok.rs", "fn main() {}\n"),
        ("src/broken.rs", "fn main( {\n"),
    ]);
    assert_exit(&run(dir.path(), &["src", "--fail-on", "error"]), 1);
    assert_exit(&run(dir.path(), &["src", "--fail-on", "never"]), 0);
}

// ------------------------------------------------------------- configuration

#[test]
fn config_file_changes_severity() {
    let dir = scratch(&[
        ("Cargo.toml", &package_manifest("svc")),
        (
            "mesh-audit.toml",
            "[rules.loopback-bind]\nseverity = \"warning\"\n",
        ),
        ("src/main.rs", LOOPBACK_MAIN),
    ]);
    let o = run(
        dir.path(),
        &["--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(severities(&v), ["src/main.rs:4 warning loopback-bind"]);
    assert_eq!(v["findings"][0]["package"], "svc");
    // And the human output says so.
    let o = run(
        dir.path(),
        &["--color", "never", "--select", "loopback-bind"],
    );
    assert!(
        stdout(&o).starts_with("warning[loopback-bind]: "),
        "{}",
        stdout(&o)
    );
    assert!(
        stdout(&o).contains("0 errors, 1 warning, 0 infos"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn workspace_and_package_metadata_are_configuration_too() {
    let manifest = format!(
        "{}\n[workspace]\n\n[workspace.metadata.mesh-audit]\nnamespace = \"shop\"\n\n[workspace.metadata.mesh-audit.rules.loopback-bind]\nseverity = \"info\"\n",
        package_manifest("svc")
    );
    let dir = scratch(&[("Cargo.toml", &manifest), ("src/main.rs", LOOPBACK_MAIN)]);
    let o = run(
        dir.path(),
        &["--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 0);
    assert_eq!(severities(&json(&o)), ["src/main.rs:4 info loopback-bind"]);

    let manifest = format!(
        "{}\n[package.metadata.mesh-audit]\nignore = [\"loopback-bind\"]\n",
        package_manifest("svc")
    );
    let dir = scratch(&[("Cargo.toml", &manifest), ("src/main.rs", LOOPBACK_MAIN)]);
    let o = run(dir.path(), &["--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(json(&o)["findings"], serde_json::json!([]));
}

#[test]
fn mesh_audit_toml_wins_over_cargo_metadata() {
    let manifest = format!(
        "{}\n[package.metadata.mesh-audit.rules.loopback-bind]\nseverity = \"info\"\n",
        package_manifest("svc")
    );
    let dir = scratch(&[
        ("Cargo.toml", &manifest),
        (
            "mesh-audit.toml",
            "[rules.loopback-bind]\nseverity = \"warning\"\n",
        ),
        ("src/main.rs", LOOPBACK_MAIN),
    ]);
    let o = run(
        dir.path(),
        &["--format", "json", "--select", "loopback-bind"],
    );
    assert_eq!(
        severities(&json(&o)),
        ["src/main.rs:4 warning loopback-bind"]
    );
}

#[test]
fn explicit_config_flag_replaces_discovery() {
    let dir = scratch(&[
        (
            "mesh-audit.toml",
            "[rules.loopback-bind]\nseverity = \"warning\"\n",
        ),
        ("ci.toml", "[rules.loopback-bind]\nseverity = \"info\"\n"),
        ("src/main.rs", LOOPBACK_MAIN),
    ]);
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--config", "ci.toml"],
    );
    assert_exit(&o, 0);
    assert_eq!(severities(&json(&o)), ["src/main.rs:4 info loopback-bind"]);

    let o = run(dir.path(), &["src", "--config", "missing.toml"]);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).starts_with("error: missing.toml: cannot read: "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn config_rule_switches_select_and_exclude() {
    let files = |config: &str| {
        scratch(&[
            ("mesh-audit.toml", config),
            ("src/main.rs", LOOPBACK_MAIN),
            ("src/generated/server.rs", LOOPBACK_MAIN),
        ])
    };
    let all = [
        "src/generated/server.rs:4:20 loopback-bind",
        "src/main.rs:4:20 loopback-bind",
    ];

    let dir = files("");
    assert_eq!(
        locations(&json(&run(dir.path(), &["src", "--format", "json"]))),
        all
    );

    let dir = files("[rules.loopback-bind]\nenabled = false\n");
    let o = run(dir.path(), &["src", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(locations(&json(&o)), Vec::<String>::new());
    // `--select` on the command line runs a rule the configuration disabled.
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_eq!(locations(&json(&o)), all);

    let dir = files("select = [\"ephemeral-port\"]\n");
    let o = run(dir.path(), &["src", "--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(locations(&json(&o)), Vec::<String>::new());
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    );
    assert_eq!(
        locations(&json(&o)),
        all,
        "the command line's --select wins over the file's"
    );

    let dir = files("exclude = [\"src/generated/\"]\n");
    let o = run(dir.path(), &["src", "--format", "json"]);
    assert_eq!(locations(&json(&o)), [all[1]]);
    assert_eq!(json(&o)["summary"]["files_scanned"], 1);
}

#[test]
fn config_errors_name_the_file_and_the_key() {
    let cases: [(&str, &str); 7] = [
        ("selekt = []\n", "`selekt`: unknown key; expected one of "),
        ("[rules.loopback-bind]\nseverity = \"loud\"\n", "`rules.loopback-bind.severity`: expected \"error\", \"warning\" or \"info\""),
        ("[rules.loopback-bind]\nthreshold = 3\n", "`rules.loopback-bind.threshold`: unknown option; `loopback-bind` accepts severity, enabled"),
        ("[rules.no-such-rule]\nenabled = true\n", "`rules.no-such-rule`: unknown rule `no-such-rule` (see --list-rules)"),
        ("select = [\"nope\"]\n", "`select`: unknown rule `nope` (see --list-rules)"),
        ("namespace = \"Shop_1\"\n", "`namespace`: `Shop_1` is not a valid Kubernetes namespace (DNS-1123 label)"),
        ("include-tests = \"yes\"\n", "`include-tests`: expected true or false"),
    ];
    for (config, message) in cases {
        let dir = scratch(&[("mesh-audit.toml", config), ("src/main.rs", LOOPBACK_MAIN)]);
        let o = run(dir.path(), &["src"]);
        assert_exit(&o, 2);
        let err = stderr(&o);
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains("mesh-audit.toml: "), "names the file: {err}");
        assert!(
            err.contains(message),
            "{config:?} should say {message:?}, said {err}"
        );
        assert!(o.stdout.is_empty(), "{config:?}: {}", stdout(&o));
    }
}

#[test]
fn config_error_in_cargo_metadata_names_the_manifest_and_the_full_key() {
    let manifest = format!(
        "{}\n[package.metadata.mesh-audit]\nselekt = []\n",
        package_manifest("svc")
    );
    let dir = scratch(&[("Cargo.toml", &manifest), ("src/main.rs", LOOPBACK_MAIN)]);
    let o = run(dir.path(), &[]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("Cargo.toml: `package.metadata.mesh-audit.selekt`: unknown key"),
        "{err}"
    );
}

#[test]
fn invalid_toml_in_config_is_a_usage_error() {
    let dir = scratch(&[
        ("mesh-audit.toml", "namespace = \n"),
        ("src/main.rs", LOOPBACK_MAIN),
    ]);
    let o = run(dir.path(), &["src"]);
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(err.contains("mesh-audit.toml: invalid TOML: "), "{err}");
}

// -------------------------------------------------------------- suppressions

const SUPPRESSED: &str = r#"use tokio::net::TcpListener;

async fn line_above() {
    // mesh-audit: allow(loopback-bind) -- dev-only admin port
    let l = TcpListener::bind("127.0.0.1:8080").await.unwrap();
}

async fn trailing() {
    let l = TcpListener::bind("127.0.0.1:8081").await.unwrap(); // mesh-audit: allow(loopback-bind) -- trailing
}

async fn trailing_after_a_url() {
    let l = TcpListener::bind("127.0.0.1:8082").await; let _u = "http://x"; // mesh-audit: allow(loopback-bind) -- after a URL
}

async fn only_the_next_code_line() {
    // mesh-audit: allow(loopback-bind) -- covers `let x` only
    let x = 1;
    let l = TcpListener::bind("127.0.0.1:8083").await.unwrap();
}

async fn unknown_rule() {
    // mesh-audit: allow(retry-everything) -- typo
    let l = TcpListener::bind("127.0.0.1:8084").await.unwrap();
}

async fn missing_reason() {
    // mesh-audit: allow(loopback-bind)
    let l = TcpListener::bind("127.0.0.1:8085").await.unwrap();
}

async fn other_rule_only() {
    // mesh-audit: allow(ephemeral-port) -- tests use port 0
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
}

async fn through_comments_and_attributes() {
    // mesh-audit: allow(loopback-bind, ephemeral-port) -- both, over an attribute
    // (a second comment line)
    #[allow(unused_variables)]
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
}

async fn not_a_directive() {
    let l = TcpListener::bind("127.0.0.1:8086").await.unwrap(); // see mesh-audit: allow(loopback-bind) in the docs
}
"#;

const FILE_WIDE: &str = r#"// mesh-audit: allow-file(loopback-bind) -- a dev-only admin server
use tokio::net::TcpListener;

async fn a() {
    let l = TcpListener::bind("127.0.0.1:9000").await.unwrap();
}

async fn b() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
}
"#;

#[test]
fn suppression_comments() {
    let dir = scratch(&[("src/lib.rs", SUPPRESSED), ("src/admin.rs", FILE_WIDE)]);
    let o = run(
        dir.path(),
        &["src", "--format", "json", "--select", BIND_RULES],
    );
    assert_exit(&o, 1);
    let v = json(&o);
    assert_eq!(
        locations(&v),
        [
            // allow-file(loopback-bind) leaves the other rule alone.
            "src/admin.rs:9:13 ephemeral-port",
            "src/lib.rs:19:13 loopback-bind",
            "src/lib.rs:24:13 loopback-bind",
            // 34: `127.0.0.1:0` is one finding (ephemeral-port), suppressed.
            "src/lib.rs:45:13 loopback-bind",
        ]
    );
    let notes: Vec<String> = v["suppression_notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| format!("{}:{} {}", s(&n["file"]), n["line"], s(&n["kind"])))
        .collect();
    assert_eq!(
        notes,
        ["src/lib.rs:23 unknown-rule", "src/lib.rs:28 missing-reason"]
    );
    assert_eq!(
        s(&v["suppression_notes"][0]["message"]),
        "unknown rule `retry-everything` in suppression comment (see --list-rules)"
    );
}

#[test]
fn missing_reasons_are_listed_only_when_verbose() {
    let dir = scratch(&[("src/lib.rs", SUPPRESSED)]);
    let o = run(
        dir.path(),
        &["src", "--color", "never", "--select", BIND_RULES],
    );
    let out = stdout(&o);
    assert!(
        out.contains("src/lib.rs:23: unknown rule `retry-everything` in suppression comment (see --list-rules)"),
        "unknown rules are always shown: {out}"
    );
    assert!(!out.contains("suppression without a reason"), "{out}");

    let o = run(
        dir.path(),
        &["src", "--color", "never", "--select", BIND_RULES, "-v"],
    );
    let out = stdout(&o);
    assert!(
        out.contains(
            "src/lib.rs:28: suppression without a reason; add `-- why` after the rule list"
        ),
        "{out}"
    );
    assert!(
        out.contains("src/lib.rs:23: unknown rule `retry-everything`"),
        "{out}"
    );
}

#[test]
fn suppression_in_the_example_workspace_hides_the_admin_server() {
    // Without the comment the admin server (admin::ADDR, 127.0.0.1:9901) is
    // reported: prove the comment is what hides it.
    let src = example_workspace().join("services/inventory/src");
    let main = std::fs::read_to_string(src.join("main.rs")).unwrap();
    let admin = std::fs::read_to_string(src.join("admin.rs")).unwrap();
    let comment =
        "    // mesh-audit: allow(loopback-bind) -- admin server only reachable via port-forward\n";
    assert!(main.contains(comment));
    let without = main.replace(comment, "");
    let manifest = package_manifest("inventory");
    let dir = scratch(&[
        ("Cargo.toml", &manifest),
        ("src/main.rs", &without),
        ("src/admin.rs", &admin),
    ]);
    let o = run(
        dir.path(),
        &["--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    assert_eq!(
        locations(&json(&o)),
        [
            "src/main.rs:31:10 loopback-bind",
            "src/main.rs:34:84 loopback-bind"
        ]
    );
    assert_eq!(
        json(&o)["findings"][1]["values"],
        serde_json::json!({"host": "127.0.0.1", "port": "9901"})
    );
}

// ---------------------------------------------------------------- test code

#[test]
fn include_tests_brings_test_findings_back() {
    let (_, without) = example_json(&[]);
    assert_eq!(locations(&without), EXAMPLE_BIND_FINDINGS);
    let (o, v) = example_json(&["--include-tests"]);
    assert_exit(&o, 1);
    assert_eq!(
        locations(&v),
        [
            "services/gateway/src/main.rs:23:20 loopback-bind",
            "services/gateway/src/main.rs:53:20 ephemeral-port",
            "services/inventory/src/main.rs:31:10 loopback-bind",
            // #[cfg(test)] modules
            "services/inventory/src/main.rs:47:65 ephemeral-port",
            "services/orders/src/main.rs:43:20 loopback-bind",
            // The other test servers (`orders` `spawn_app`, `tests/api.rs`,
            // `pricing`) bind loopback port 0 and hand out `local_addr()`:
            // in-process servers, which ephemeral-port leaves alone even
            // when test code is audited.
        ]
    );
    assert_eq!(
        v["summary"]["files_scanned"],
        without["summary"]["files_scanned"]
    );
}

#[test]
fn include_tests_from_configuration() {
    let test_only = "#[cfg(test)]\nmod tests {\n    #[tokio::test]\n    async fn t() {\n        let l = tokio::net::TcpListener::bind(\"127.0.0.1:8080\").await.unwrap();\n    }\n}\n";
    let dir = scratch(&[
        ("src/lib.rs", test_only),
        ("tests/it.rs", LOOPBACK_MAIN),
        ("Cargo.toml", &package_manifest("t")),
    ]);
    let o = run(
        dir.path(),
        &["--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 0);
    assert_eq!(locations(&json(&o)), Vec::<String>::new());

    write(dir.path(), "mesh-audit.toml", b"include-tests = true\n");
    let o = run(
        dir.path(),
        &["--format", "json", "--select", "loopback-bind"],
    );
    assert_exit(&o, 1);
    assert_eq!(
        locations(&json(&o)),
        [
            "src/lib.rs:5:17 loopback-bind",
            "tests/it.rs:4:20 loopback-bind"
        ]
    );
}

// -------------------------------------------------------------- determinism

#[test]
fn output_is_deterministic() {
    let a = run_example(&["--format", "json"]);
    let b = run_example(&["--format", "json"]);
    assert_eq!(stable(json(&a)), stable(json(&b)));
    // Byte for byte, once the timing line is gone.
    let strip = |o: &std::process::Output| {
        stdout(o)
            .lines()
            .filter(|l| !l.contains("\"elapsed_ms\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&a), strip(&b));

    let one = run_example(&["--format", "json", "-j", "1"]);
    let two = run_example(&["--format", "json", "-j", "2"]);
    let many = run_example(&["--format", "json", "--threads", "8", "--include-tests"]);
    let many_again = run_example(&["--format", "json", "-j", "3", "--include-tests"]);
    assert_eq!(strip(&one), strip(&two));
    assert_eq!(strip(&one), strip(&a));
    assert_eq!(strip(&many), strip(&many_again));

    let h1 = run_example(&["--color", "never", "-j", "1"]);
    let h2 = run_example(&["--color", "never", "-j", "2"]);
    let strip_ms = |o: &std::process::Output| {
        stdout(o)
            .lines()
            .filter(|l| !l.ends_with(" ms)"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip_ms(&h1), strip_ms(&h2));
}

#[test]
fn fingerprints_survive_edits_elsewhere_in_the_file() {
    let dir = scratch(&[("src/main.rs", LOOPBACK_MAIN)]);
    let before = json(&run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    ));
    write(
        dir.path(),
        "src/main.rs",
        format!("// a new header line\n\n{LOOPBACK_MAIN}").as_bytes(),
    );
    let after = json(&run(
        dir.path(),
        &["src", "--format", "json", "--select", "loopback-bind"],
    ));
    assert_eq!(before["findings"][0]["line"], 4);
    assert_eq!(after["findings"][0]["line"], 6);
    assert_eq!(
        before["findings"][0]["fingerprint"],
        after["findings"][0]["fingerprint"]
    );
}
