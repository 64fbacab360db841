//! Mesh config end to end: the real binary's `--emit-manifests` and the
//! suggestions in its reports, on the example workspace.
//!
//! Every YAML document written is parsed back and checked against the Istio
//! CRD schemas of every supported version with closed objects (a misspelt
//! field fails), plus the webhook rules the schemas do not encode, through
//! the `validate` helpers of `mesh-audit-suggest`. The schemas are read from
//! `../shared/schemas/istio` (or `MESH_AUDIT_SCHEMA_DIR`); when they are
//! absent the schema part is skipped with one line on stderr, unless
//! `MESH_AUDIT_REQUIRE_SCHEMAS=1`.
//!
//! The files' contents are insta snapshots (`tests/snapshots/manifests__*`);
//! accept a reviewed change with `INSTA_UPDATE=always cargo test --test manifests`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::sync::OnceLock;

use common::*;
use mesh_audit_suggest::validate::{self, SchemaLoad, Schemas, ISTIO_VERSIONS};
use serde_json::Value;

/// What `--emit-manifests` writes for the example workspace: one file per
/// destination. `pricing` (gateway) and `pricing.shop.svc.cluster.local`
/// (orders) are one Service of the namespace `shop`, so one file. The
/// circuit breaker (breaker.rs) guards the calls payments.rs makes to
/// `payments`, which the crate index tells it.
const EXAMPLE_FILES: [&str; 4] = [
    "inventory.yaml",
    "orders.yaml",
    "payments.yaml",
    "pricing.yaml",
];

/// The stderr warnings for the two `pricing` findings, which disagree on the
/// port and the timeout.
const PRICING_CONFLICTS: &str = "\
warning: pricing: ports differ (50051 at services/gateway/src/upstream.rs:24, 8080 at services/orders/src/pricing.rs:16): port left out (http[].route[].destination.port.number)
warning: pricing: timeouts differ (3s at services/gateway/src/upstream.rs:24, 1500ms at services/orders/src/pricing.rs:16): kept 1500ms, the shortest (http[].timeout)
";

const POLICY_RULES: [&str; 4] = [
    "retry-loop",
    "retry-crate",
    "timeout-wrapper",
    "circuit-breaker",
];
const BIND_RULES: [&str; 2] = ["loopback-bind", "ephemeral-port"];
/// Lifecycle rules: a code or Kubernetes change at most, no mesh resource.
const LIFECYCLE_RULES: [&str; 5] = [
    "exit-after-bind",
    "missing-graceful-shutdown",
    "missing-health-endpoint",
    "health-check-calls-downstream",
    "in-code-metrics",
];

// ------------------------------------------------------------------ helpers

/// The compiled schemas, loaded once; `None` (with one line printed) when
/// the directory is absent and not required.
fn schemas() -> Option<&'static Schemas> {
    static SCHEMAS: OnceLock<Option<Schemas>> = OnceLock::new();
    SCHEMAS
        .get_or_init(|| match validate::load_schemas() {
            Ok(SchemaLoad::Loaded(s)) => Some(s),
            Ok(SchemaLoad::Absent(msg)) => {
                validate::announce_skip(&msg);
                None
            }
            Err(e) => panic!("Istio schemas: {e}"),
        })
        .as_ref()
}

/// Everything wrong with one YAML text: it must parse into documents with
/// no `null`, keep the webhook rules and pass the schema of every version in
/// `versions`. Returns the parsed documents.
#[track_caller]
fn checked_documents(what: &str, text: &str, versions: &[&str]) -> Vec<Value> {
    let docs = validate::yaml_documents(text)
        .unwrap_or_else(|e| panic!("{what}: YAML does not parse: {e}\n{text}"));
    assert!(!docs.is_empty(), "{what}: no YAML document:\n{text}");
    let mut problems = Vec::new();
    for doc in &docs {
        problems.extend(
            validate::nulls(doc)
                .into_iter()
                .map(|p| format!("null at {p}")),
        );
        problems.extend(validate::semantic_problems(doc));
        if let Some(schemas) = schemas() {
            for version in versions {
                problems.extend(schemas.validate(version, doc));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{what}:\n{}\n---\n{text}",
        problems.join("\n")
    );
    docs
}

/// The sorted names of the files in `dir` (it must hold nothing else).
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let e = e.unwrap();
            assert!(
                e.file_type().unwrap().is_file(),
                "{:?} is not a file",
                e.path()
            );
            e.file_name().into_string().unwrap()
        })
        .collect();
    names.sort();
    names
}

/// Every file of `dir`, by name.
fn read_all(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    file_names(dir)
        .into_iter()
        .map(|n| {
            let bytes = std::fs::read(dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

/// Runs the example workspace with `--emit-manifests dir` and `extra`.
fn emit(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "--emit-manifests",
        dir.to_str().unwrap(),
        "--fail-on",
        "never",
    ];
    args.extend_from_slice(extra);
    run_example(&args)
}

/// stderr with the output directory replaced by `[dir]`.
fn stderr_in(o: &Output, dir: &Path) -> String {
    stderr(o).replace(dir.to_str().unwrap(), "[dir]")
}

/// `"[dir]/<name>"` lines as printed for every written file.
fn wrote_lines(names: &[&str]) -> String {
    names.iter().map(|n| format!("wrote [dir]/{n}\n")).collect()
}

/// The parsed, schema-checked documents of every file in `dir`, by file.
fn documents_in(dir: &Path, versions: &[&str]) -> BTreeMap<String, Vec<Value>> {
    read_all(dir)
        .into_iter()
        .map(|(name, bytes)| {
            let text = String::from_utf8(bytes).expect("manifest is UTF-8");
            let docs = checked_documents(&name, &text, versions);
            (name, docs)
        })
        .collect()
}

/// `apiVersion kind namespace/name` of every document, by file.
fn summary(docs: &BTreeMap<String, Vec<Value>>) -> Vec<String> {
    docs.iter()
        .flat_map(|(file, docs)| {
            docs.iter().map(move |d| {
                format!(
                    "{file}: {} {} {}/{}",
                    s(&d["apiVersion"]),
                    s(&d["kind"]),
                    s(&d["metadata"]["namespace"]),
                    s(&d["metadata"]["name"])
                )
            })
        })
        .collect()
}

fn example_summary(api: &str) -> Vec<String> {
    [
        ("inventory", "VirtualService"),
        ("orders", "VirtualService"),
        ("payments", "DestinationRule"),
        ("pricing", "VirtualService"),
    ]
    .iter()
    .map(|(name, kind)| format!("{name}.yaml: networking.istio.io/{api} {kind} shop/{name}"))
    .collect()
}

/// `.spec.http[0].retries` of a VirtualService file's only document.
fn retries(docs: &BTreeMap<String, Vec<Value>>, file: &str) -> Value {
    let d = &docs[file];
    assert_eq!(d.len(), 1, "{file}: {d:?}");
    d[0]["spec"]["http"][0]["retries"].clone()
}

// ---------------------------------------------------------------- the files

#[test]
fn emits_one_valid_file_per_destination_host() {
    let tmp = tempfile::tempdir().unwrap();
    // A directory that does not exist yet is created.
    let dir = tmp.path().join("mesh/out");
    let o = emit(&dir, &["--format", "json"]);
    assert_exit(&o, 0);
    assert_eq!(file_names(&dir), EXAMPLE_FILES);
    assert_eq!(
        stderr_in(&o, &dir),
        format!("{}{PRICING_CONFLICTS}", wrote_lines(&EXAMPLE_FILES))
    );

    // The report on stdout is the same as without --emit-manifests.
    let plain = run_example(&["--format", "json", "--fail-on", "never"]);
    assert_exit(&plain, 0);
    assert_eq!(stable(json(&o)), stable(json(&plain)));

    // Namespace from the workspace's mesh-audit.toml.
    let docs = documents_in(&dir, &ISTIO_VERSIONS);
    assert_eq!(summary(&docs), example_summary("v1"));

    // The values read from the code, on the fields Istio 1.22 accepts; the
    // backoff stays a comment without --istio-version.
    assert_eq!(
        retries(&docs, "inventory.yaml"),
        serde_json::json!({"attempts": 2, "perTryTimeout": "2s", "retryOn": "5xx,connect-failure,reset"})
    );
    assert_eq!(
        retries(&docs, "orders.yaml"),
        serde_json::json!({"attempts": 4, "retryOn": "5xx,connect-failure,reset"})
    );
    // Both `pricing` hosts as the short name, the shorter timeout, no port.
    let pricing = &docs["pricing.yaml"][0]["spec"];
    assert_eq!(pricing["hosts"], serde_json::json!(["pricing"]));
    assert_eq!(
        pricing["http"][0]["route"],
        serde_json::json!([{"destination": {"host": "pricing"}}])
    );
    assert_eq!(pricing["http"][0]["timeout"], "1500ms");

    // Every per-finding suggestion with a known host has the name and host
    // of the document written for it.
    let mut matched = Vec::new();
    for f in json(&o)["findings"].as_array().unwrap() {
        for sug in f["suggestions"].as_array().unwrap() {
            let Some(yaml) = sug["yaml"].as_str() else {
                continue;
            };
            let doc = &validate::yaml_documents(yaml).unwrap()[0];
            let name = s(&doc["metadata"]["name"]);
            if name == "replace-me" {
                continue;
            }
            let file = format!("{name}.yaml");
            let written = docs[&file]
                .iter()
                .find(|d| d["kind"] == doc["kind"])
                .unwrap_or_else(|| panic!("{file}: no {}", doc["kind"]));
            assert_eq!(written["metadata"], doc["metadata"], "{file}");
            assert_eq!(written["spec"]["hosts"], doc["spec"]["hosts"], "{file}");
            matched.push(format!("{}:{} {file}", s(&f["file"]), f["line"]));
        }
    }
    assert_eq!(
        matched,
        [
            "services/gateway/src/upstream.rs:24 pricing.yaml",
            "services/gateway/src/upstream.rs:34 orders.yaml",
            "services/orders/src/breaker.rs:22 payments.yaml",
            "services/orders/src/inventory.rs:20 inventory.yaml",
            "services/orders/src/pricing.rs:16 pricing.yaml",
        ]
    );

    let root = repo().canonicalize().unwrap();
    for (name, bytes) in read_all(&dir) {
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.ends_with('\n') && !text.ends_with("\n\n"),
            "{name}: {text:?}"
        );
        assert!(
            !text.contains(root.to_str().unwrap()),
            "{name}: absolute path:\n{text}"
        );
        assert!(
            !text.contains(tmp.path().to_str().unwrap()),
            "{name}:\n{text}"
        );
        let snapshot = format!("emit_{}", name.replace(['.', '-'], "_"));
        insta::assert_snapshot!(snapshot, text);
    }
}

#[test]
fn existing_files_are_kept_without_force_and_rewritten_identically_with_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let first = emit(dir, &["--format", "short"]);
    assert_exit(&first, 0);
    let written = read_all(dir);
    assert_eq!(written.keys().collect::<Vec<_>>(), EXAMPLE_FILES);

    // Again without --force: refused, before the report, naming the first
    // file that exists; nothing changes.
    let again = emit(dir, &["--format", "short"]);
    assert_exit(&again, 2);
    assert_eq!(
        stderr_in(&again, dir),
        "error: [dir]/inventory.yaml already exists; pass --force to overwrite it\n"
    );
    assert_eq!(stdout(&again), "");
    assert_eq!(read_all(dir), written);

    // With --force, over a file changed in between: the same bytes again.
    std::fs::write(dir.join("orders.yaml"), "edited by hand\n").unwrap();
    let forced = emit(dir, &["--format", "short", "--force"]);
    assert_exit(&forced, 0);
    assert_eq!(stdout(&forced), stdout(&first));
    assert_eq!(
        stderr_in(&forced, dir),
        format!("{}{PRICING_CONFLICTS}", wrote_lines(&EXAMPLE_FILES))
    );
    assert_eq!(read_all(dir), written);
}

#[test]
fn one_existing_file_stops_the_whole_set() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("pricing.yaml"), "mine\n").unwrap();
    let o = emit(dir, &["--quiet"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr_in(&o, dir),
        "error: [dir]/pricing.yaml already exists; pass --force to overwrite it\n"
    );
    // All or nothing: no other file was written, the existing one is intact.
    assert_eq!(file_names(dir), ["pricing.yaml"]);
    assert_eq!(std::fs::read(dir.join("pricing.yaml")).unwrap(), b"mine\n");
}

#[test]
fn quiet_drops_the_wrote_lines_but_not_the_notes() {
    let tmp = tempfile::tempdir().unwrap();
    let o = emit(tmp.path(), &["--quiet", "--format", "short"]);
    assert_exit(&o, 0);
    assert_eq!(stderr(&o), format!("{PRICING_CONFLICTS}"));
    assert_eq!(file_names(tmp.path()), EXAMPLE_FILES);
}

// -------------------------------------------------------------- the options

#[test]
fn namespace_flag_overrides_the_config() {
    let tmp = tempfile::tempdir().unwrap();
    let o = emit(tmp.path(), &["--namespace", "other", "--format", "json"]);
    assert_exit(&o, 0);
    let docs = documents_in(tmp.path(), &ISTIO_VERSIONS);
    // From `other`, `pricing.shop.svc.cluster.local` is another namespace's
    // Service: its own file, and both `pricing` files get their full names.
    assert_eq!(
        summary(&docs),
        [
            "inventory.yaml: networking.istio.io/v1 VirtualService other/inventory",
            "orders.yaml: networking.istio.io/v1 VirtualService other/orders",
            "payments.yaml: networking.istio.io/v1 DestinationRule other/payments",
            "pricing.shop.svc.cluster.local.yaml: networking.istio.io/v1 VirtualService other/pricing-shop-svc-cluster-local",
            "pricing.yaml: networking.istio.io/v1 VirtualService other/pricing",
        ]
    );
    assert_eq!(
        docs["pricing.shop.svc.cluster.local.yaml"][0]["spec"]["hosts"],
        serde_json::json!(["pricing.shop.svc.cluster.local"])
    );

    // The per-finding suggestions follow the flag too.
    let report = json(&o);
    let mut namespaces = Vec::new();
    for f in report["findings"].as_array().unwrap() {
        for sug in f["suggestions"].as_array().unwrap() {
            if let Some(yaml) = sug["yaml"].as_str() {
                for d in validate::yaml_documents(yaml).unwrap() {
                    namespaces.push(s(&d["metadata"]["namespace"]));
                }
            }
        }
    }
    assert_eq!(namespaces, ["other"; 5]);
}

#[test]
fn invalid_namespace_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let o = emit(&dir, &["--namespace", "Shop_1"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: namespace `Shop_1` is not a valid Kubernetes name (lower-case letters, digits and `-`, at most 63)\n"
    );
    assert_eq!(stdout(&o), "");
    assert!(!dir.exists());
}

#[test]
fn mesh_api_version_v1beta1_changes_every_api_version() {
    let tmp = tempfile::tempdir().unwrap();
    let o = emit(tmp.path(), &["--mesh-api-version", "v1beta1", "--quiet"]);
    assert_exit(&o, 0);
    let docs = documents_in(tmp.path(), &ISTIO_VERSIONS);
    assert_eq!(summary(&docs), example_summary("v1beta1"));
}

#[test]
fn unknown_mesh_api_version_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let o = emit(&dir, &["--mesh-api-version", "v9"]);
    assert_exit(&o, 2);
    assert_eq!(
        stderr(&o),
        "error: --mesh-api-version: unknown mesh API version `v9` (expected `v1` or `v1beta1`)\n"
    );
    assert_eq!(stdout(&o), "");
    assert!(!dir.exists(), "nothing is written");
}

#[test]
fn istio_version_errors_are_usage_errors() {
    for (version, message) in [
        (
            "1.x",
            "error: Istio version `1.x` is not like `1.26` or `1.30.3`\n",
        ),
        (
            "1.20",
            "error: Istio 1.20 does not serve the v1 API; use --mesh-api-version v1beta1\n",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let o = emit(&dir, &["--istio-version", version]);
        assert_exit(&o, 2);
        assert_eq!(stderr(&o), message, "--istio-version {version}");
        assert!(!dir.exists());
    }
    // An old mesh is fine on the old API.
    let tmp = tempfile::tempdir().unwrap();
    let o = emit(
        tmp.path(),
        &[
            "--istio-version",
            "1.20",
            "--mesh-api-version",
            "v1beta1",
            "--quiet",
        ],
    );
    assert_exit(&o, 0);
    assert_eq!(file_names(tmp.path()), EXAMPLE_FILES);
}

#[test]
fn istio_1_26_writes_the_backoff() {
    let tmp = tempfile::tempdir().unwrap();
    let o = emit(tmp.path(), &["--istio-version", "1.26", "--quiet"]);
    assert_exit(&o, 0);
    assert_eq!(file_names(tmp.path()), EXAMPLE_FILES);
    // `retries.backoff` only exists from Istio 1.26: check on 1.30.3.
    let docs = documents_in(tmp.path(), &["1.30.3"]);
    assert_eq!(summary(&docs), example_summary("v1"));
    assert_eq!(
        retries(&docs, "inventory.yaml"),
        serde_json::json!({"attempts": 2, "perTryTimeout": "2s", "retryOn": "5xx,connect-failure,reset", "backoff": "200ms"})
    );
    assert_eq!(
        retries(&docs, "orders.yaml"),
        serde_json::json!({"attempts": 4, "retryOn": "5xx,connect-failure,reset", "backoff": "100ms"})
    );
    let inventory = std::fs::read_to_string(tmp.path().join("inventory.yaml")).unwrap();
    assert!(
        inventory.contains("\n      backoff: 200ms\n"),
        "{inventory}"
    );
    assert!(!inventory.contains("# backoff"), "{inventory}");
    // Timeout-only files do not change.
    let default = tempfile::tempdir().unwrap();
    assert_exit(&emit(default.path(), &["--quiet"]), 0);
    assert_eq!(
        std::fs::read(tmp.path().join("pricing.yaml")).unwrap(),
        std::fs::read(default.path().join("pricing.yaml")).unwrap(),
    );

    // The closed 1.22.0 schema rejects the field: the check has teeth.
    if let Some(schemas) = schemas() {
        let errors = schemas.validate("1.22.0", &docs["inventory.yaml"][0]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("Istio 1.22.0 VirtualService at `/spec/http/0/retries`: ")
                && errors[0].contains("backoff"),
            "{errors:?}"
        );
    }
}

// ------------------------------------------------------ suggestions in reports

#[test]
fn json_findings_carry_suggestions_by_rule_kind() {
    let o = run_example(&["--format", "json", "--fail-on", "never"]);
    assert_exit(&o, 0);
    let report = json(&o);
    let mut seen = Vec::new();
    for f in report["findings"].as_array().unwrap() {
        let rule = s(&f["rule"]);
        let at = format!("{}:{} {rule}", s(&f["file"]), f["line"]);
        let suggestions = f["suggestions"]
            .as_array()
            .unwrap_or_else(|| panic!("{at}: no suggestions array"));
        if LIFECYCLE_RULES.contains(&rule.as_str()) {
            continue;
        }
        assert!(!suggestions.is_empty(), "{at}: no suggestion");
        let mut kinds = Vec::new();
        for sug in suggestions {
            let kind = s(&sug["kind"]);
            assert!(!s(&sug["note"]).is_empty(), "{at}: empty note");
            if POLICY_RULES.contains(&rule.as_str()) {
                assert!(
                    kind == "VirtualService" || kind == "DestinationRule",
                    "{at}: {kind}"
                );
                assert!(sug.get("code").is_none(), "{at}: {sug}");
                let yaml = s(&sug["yaml"]);
                let docs = checked_documents(&at, &yaml, &ISTIO_VERSIONS);
                assert_eq!(docs.len(), 1, "{at}: {yaml}");
                assert_eq!(docs[0]["kind"], kind.as_str(), "{at}");
                assert_eq!(docs[0]["metadata"]["namespace"], "shop", "{at}");
            } else {
                assert!(BIND_RULES.contains(&rule.as_str()), "{at}: unexpected rule");
                assert_eq!(kind, "code", "{at}");
                assert!(sug.get("yaml").is_none(), "{at}: {sug}");
                let code = s(&sug["code"]);
                assert!(code.contains("(\"0.0.0.0\", port)"), "{at}: {code}");
            }
            kinds.push(kind);
        }
        seen.push(format!("{at}: {}", kinds.join(",")));
    }
    assert_eq!(
        seen,
        [
            "services/gateway/src/main.rs:23 loopback-bind: code",
            "services/gateway/src/main.rs:53 ephemeral-port: code",
            "services/gateway/src/upstream.rs:24 timeout-wrapper: VirtualService",
            "services/gateway/src/upstream.rs:34 retry-crate: VirtualService",
            "services/inventory/src/main.rs:31 loopback-bind: code",
            "services/orders/src/breaker.rs:22 circuit-breaker: DestinationRule",
            "services/orders/src/inventory.rs:20 retry-loop: VirtualService",
            "services/orders/src/main.rs:43 loopback-bind: code",
            "services/orders/src/pricing.rs:16 timeout-wrapper: VirtualService",
        ]
    );
}

#[test]
fn bind_suggestions_replace_only_a_loopback_literal() {
    let o = run_example(&[
        "--format",
        "json",
        "--select",
        "loopback-bind,ephemeral-port",
    ]);
    assert_exit(&o, 1);
    let report = json(&o);
    let replacements: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let r = &f["suggestions"][0]["replacement"];
            let what = if r.is_null() {
                "none".to_string()
            } else {
                format!(
                    "{}:{}-{}:{} {} {}",
                    r["line"],
                    r["column"],
                    r["end_line"],
                    r["end_column"],
                    s(&r["text"]),
                    s(&r["applicability"])
                )
            };
            format!("{}:{} {}", s(&f["file"]), f["line"], what)
        })
        .collect();
    // An env default (gateway:23) and port 0 (gateway:53) are not a literal swap.
    assert_eq!(
        replacements,
        [
            "services/gateway/src/main.rs:23 none",
            "services/gateway/src/main.rs:53 none",
            "services/inventory/src/main.rs:31 31:16-31:27 \"0.0.0.0\" MaybeIncorrect",
            "services/orders/src/main.rs:43 43:38-43:54 \"0.0.0.0:9090\" MaybeIncorrect",
        ]
    );
}

#[test]
fn human_output_shows_yaml_unless_no_suggestions() {
    let with = run_example(&["--color", "never", "--fail-on", "never"]);
    assert_exit(&with, 0);
    let text = stdout(&with);
    for needle in [
        "\nsuggestion: VirtualService for `pricing`\n  Drop the client-side timeout and set it on the route: apply this VirtualService for `pricing`.\n    # Retries and timeouts",
        "\nsuggestion: DestinationRule for `payments`\n  Remove the client-side circuit breaker",
        "\nsuggestion: code change\n  Bind every interface",
        "\n  quick fix: replace `\"127.0.0.1:9090\"` with `\"0.0.0.0:9090\"` (line 43:38)\n",
        "\n    apiVersion: networking.istio.io/v1\n",
        "namespace: shop",
        "retries:",
    ] {
        assert!(text.contains(needle), "missing `{needle}`:\n{text}");
    }

    let without = run_example(&["--color", "never", "--fail-on", "never", "--no-suggestions"]);
    assert_exit(&without, 0);
    let bare = stdout(&without);
    for needle in [
        "suggestion",
        "quick fix",
        "apiVersion",
        "kind: ",
        "namespace: ",
        "retries:",
        "bind((\"0.0.0.0\", port))",
    ] {
        assert!(
            !bare.contains(needle),
            "`{needle}` with --no-suggestions:\n{bare}"
        );
    }
    // Only the suggestions go: every finding header and help line stays.
    let kept = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| {
                l.starts_with("error[") || l.starts_with("warning[") || l.contains("= help:")
            })
            .map(String::from)
            .collect()
    };
    assert_eq!(kept(&bare), kept(&text));
    // 9 resilience/bind findings and 3 missing-health-endpoint warnings (a
    // header and a help each), and the help lines of 4 info findings.
    assert_eq!(kept(&bare).len(), 28, "{bare}");
}

#[test]
fn short_output_never_prints_yaml() {
    for extra in [&[][..], &["--istio-version", "1.26"][..]] {
        let mut args = vec!["--format", "short", "--fail-on", "never"];
        args.extend_from_slice(extra);
        let o = run_example(&args);
        assert_exit(&o, 0);
        let out = stdout(&o);
        assert_eq!(out.lines().count(), 16, "{out}");
        for line in out.lines() {
            assert!(line.starts_with("services/"), "{line}");
        }
        for needle in ["apiVersion", "kind:", "retries:", "spec:"] {
            assert!(!out.contains(needle), "{needle}:\n{out}");
        }
    }
}

// ------------------------------------------------------------ hand-rolled TLS

/// A crate with server and client TLS of its own: the server side becomes
/// one PeerAuthentication (STRICT) for the crate, each client host a
/// DestinationRule with `tls.mode: ISTIO_MUTUAL`; every document, in the
/// report and in the files, passes both Istio versions' schemas.
#[test]
fn hand_rolled_tls_gets_peer_authentication_and_istio_mutual() {
    let work = tempfile::tempdir().unwrap();
    let krate = work.path().join("orders");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    std::fs::write(
        krate.join("Cargo.toml"),
        "[package]\nname = \"orders\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    for case in ["positive-tonic", "positive-https-urls"] {
        std::fs::copy(
            repo().join(format!("fixtures/rules/hand-rolled-tls/{case}.rs")),
            krate.join(format!("src/{}.rs", case.replace('-', "_"))),
        )
        .unwrap();
    }
    let out = work.path().join("manifests");
    let o = run(
        work.path(),
        &[
            "--select",
            "hand-rolled-tls",
            "--namespace",
            "shop",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--emit-manifests",
            out.to_str().unwrap(),
            krate.to_str().unwrap(),
        ],
    );
    assert_exit(&o, 0);
    let mut seen = Vec::new();
    for f in json(&o)["findings"].as_array().unwrap() {
        let at = format!("{}:{}", s(&f["file"]), f["line"]);
        let kinds: Vec<String> = f["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sug| {
                let kind = s(&sug["kind"]);
                let docs = checked_documents(&at, &s(&sug["yaml"]), &ISTIO_VERSIONS);
                assert_eq!(docs.len(), 1, "{at}");
                assert_eq!(docs[0]["kind"], kind.as_str(), "{at}");
                kind
            })
            .collect();
        seen.push(format!(
            "{at} {}: {}",
            s(&f["values"]["side"]),
            kinds.join(",")
        ));
    }
    assert_eq!(
        seen,
        [
            "orders/src/positive_https_urls.rs:9 client: DestinationRule",
            "orders/src/positive_https_urls.rs:22 client: DestinationRule",
            "orders/src/positive_https_urls.rs:28 client: DestinationRule",
            "orders/src/positive_tonic.rs:7 server: PeerAuthentication",
            "orders/src/positive_tonic.rs:18 server: PeerAuthentication",
            "orders/src/positive_tonic.rs:23 client: DestinationRule",
            "orders/src/positive_tonic.rs:35 client: DestinationRule",
        ]
    );
    let docs = documents_in(&out, &ISTIO_VERSIONS);
    assert_eq!(
        summary(&docs),
        [
            "audit.yaml: networking.istio.io/v1 DestinationRule shop/audit",
            "inventory.yaml: networking.istio.io/v1 DestinationRule shop/inventory",
            "ledger.payments.svc.cluster.local.yaml: networking.istio.io/v1 DestinationRule shop/ledger",
            "orders.peerauthentication.yaml: security.istio.io/v1 PeerAuthentication shop/orders",
            "pricing.yaml: networking.istio.io/v1 DestinationRule shop/pricing",
        ]
    );
    for (file, docs) in &docs {
        let d = &docs[0];
        if file.ends_with(".peerauthentication.yaml") {
            assert_eq!(d["spec"]["mtls"]["mode"], "STRICT", "{file}");
        } else {
            assert_eq!(
                d["spec"]["trafficPolicy"],
                serde_json::json!({ "tls": { "mode": "ISTIO_MUTUAL" } }),
                "{file}"
            );
        }
    }
}
