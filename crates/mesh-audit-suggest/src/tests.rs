use std::collections::BTreeMap;

use mesh_audit_model::Finding;

use super::*;
use crate::test_support::{finding, finding_at};
use crate::validate::{self, load_schemas, SchemaLoad, Schemas, ISTIO_VERSIONS};

fn schemas() -> Option<Schemas> {
    match load_schemas() {
        Ok(SchemaLoad::Loaded(s)) => Some(s),
        Ok(SchemaLoad::Absent(msg)) => {
            validate::announce_skip(&msg);
            None
        }
        Err(e) => panic!("{e}"),
    }
}

fn yaml_of(s: &[Suggestion], kind: &str) -> String {
    s.iter()
        .find(|s| s.kind == kind)
        .and_then(|s| s.yaml.clone())
        .unwrap_or_else(|| panic!("no {kind} in {s:#?}"))
}

fn retry(file: &str, line: u32, values: &[(&str, &str)]) -> Finding {
    finding("retry-loop", file, line, values)
}

#[test]
fn retry_loop_becomes_a_virtual_service() {
    let f = retry(
        "src/client.rs",
        42,
        &[
            ("retries", "3"),
            ("per_try_timeout", "2s"),
            ("retry_on", "5xx,connect-failure,reset"),
            ("host", "inventory"),
            ("port", "8080"),
            ("protocol", "http"),
        ],
    );
    let s = suggestions_for(&f, None, &SuggestOptions::default());
    assert_eq!(s.len(), 1);
    assert_eq!(
        yaml_of(&s, "VirtualService"),
        "\
# Retries and timeouts for this destination, enforced by the sidecar; replaces the code at:
#   src/client.rs:42 (retry-loop)
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: inventory
  namespace: default
spec:
  hosts:
  - inventory
  http:
  - route:
    - destination:
        host: inventory
        port:
          number: 8080
    retries:
      attempts: 3
      perTryTimeout: 2s
      retryOn: 5xx,connect-failure,reset
"
    );
    assert_eq!(
        s[0].note,
        "Delete the client-side retries and let the sidecar retry: apply this VirtualService for `inventory`; until it goes, each of the code's 4 tries is retried by the sidecar's default policy too (up to 12 upstream attempts)."
    );
}

#[test]
fn grpc_retry_crate_with_backoff_and_max_elapsed() {
    let f = finding(
        "retry-crate",
        "src/grpc.rs",
        7,
        &[
            ("retries", "5"),
            ("backoff", "100ms"),
            ("timeout", "30s"),
            ("protocol", "grpc"),
            ("host", "pricing.shop.svc.cluster.local"),
        ],
    );
    let yaml = yaml_of(
        &suggestions_for(&f, None, &SuggestOptions::default()),
        "VirtualService",
    );
    assert_eq!(
        yaml,
        "\
# Retries and timeouts for this destination, enforced by the sidecar; replaces the code at:
#   src/grpc.rs:7 (retry-crate)
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: pricing
  namespace: default
spec:
  hosts:
  - pricing.shop.svc.cluster.local
  http:
  - route:
    - destination:
        host: pricing.shop.svc.cluster.local
    timeout: 30s
    retries:
      attempts: 5
      retryOn: connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes
      # backoff: 100ms  # from src/grpc.rs:7; needs Istio >= 1.26, emit it with --istio-version 1.26 or later
"
    );
    let newer = SuggestOptions {
        istio_version: Some("1.30.3".into()),
        ..SuggestOptions::default()
    };
    let yaml = yaml_of(&suggestions_for(&f, None, &newer), "VirtualService");
    assert!(yaml.contains("      backoff: 100ms\n"), "{yaml}");
    let older = SuggestOptions {
        istio_version: Some("1.25".into()),
        ..SuggestOptions::default()
    };
    let yaml = yaml_of(&suggestions_for(&f, None, &older), "VirtualService");
    assert!(yaml.contains("# backoff: 100ms"), "{yaml}");
}

#[test]
fn timeout_wrapper_with_connect_timeout_gives_vs_and_dr() {
    let f = finding(
        "timeout-wrapper",
        "src/http.rs",
        9,
        &[
            ("timeout", "2500ms"),
            ("connect_timeout", "500ms"),
            ("host", "Inventory"),
        ],
    );
    let s = suggestions_for(&f, None, &SuggestOptions::default());
    assert_eq!(
        s.iter().map(|s| s.kind.as_str()).collect::<Vec<_>>(),
        ["VirtualService", "DestinationRule"]
    );
    assert!(yaml_of(&s, "VirtualService").contains("    timeout: 2500ms\n"));
    assert_eq!(
        yaml_of(&s, "DestinationRule"),
        "\
# Connection policy for this destination, enforced by the sidecar; replaces the code at:
#   src/http.rs:9 (timeout-wrapper)
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: inventory
  namespace: default
spec:
  host: inventory
  trafficPolicy:
    connectionPool:
      tcp:
        connectTimeout: 500ms
"
    );
}

#[test]
fn circuit_breaker_becomes_outlier_detection() {
    let f = finding(
        "circuit-breaker",
        "src/breaker.rs",
        3,
        &[
            ("consecutive_errors", "5"),
            ("base_ejection_time", "30s"),
            ("interval", "10s"),
            ("host", "payments"),
        ],
    );
    let opts = SuggestOptions {
        namespace: "shop".into(),
        api_version: ApiVersion::V1beta1,
        ..SuggestOptions::default()
    };
    let s = suggestions_for(&f, None, &opts);
    assert_eq!(
        yaml_of(&s, "DestinationRule"),
        "\
# Connection policy for this destination, enforced by the sidecar; replaces the code at:
#   src/breaker.rs:3 (circuit-breaker)
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: payments
  namespace: shop
spec:
  host: payments
  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 5
      interval: 10s
      baseEjectionTime: 30s
      # maxEjectionPercent: 10  # Istio's default; a client-side breaker stopped all calls, raise this only knowingly
"
    );
    assert!(!yaml_of(&s, "DestinationRule").contains("consecutiveErrors:"));
}

#[test]
fn hand_rolled_tls_sides() {
    let mut server = finding("hand-rolled-tls", "src/main.rs", 12, &[("side", "server")]);
    server.package = Some("orders_api".into());
    let s = suggestions_for(&server, None, &SuggestOptions::default());
    assert_eq!(s.len(), 1);
    assert_eq!(
        yaml_of(&s, "PeerAuthentication"),
        "\
# Strict mTLS for this workload, terminated by the sidecar; replaces the code at:
#   src/main.rs:12 (hand-rolled-tls)
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: orders-api
  namespace: default
spec:
  selector:
    # REPLACE-ME: put the pod labels of this workload here (or name them in the config)
    matchLabels:
      app: REPLACE-ME
  mtls:
    mode: STRICT
"
    );
    let opts = SuggestOptions {
        selector_labels: BTreeMap::from([(
            "orders_api".to_string(),
            BTreeMap::from([("app.kubernetes.io/name".to_string(), "orders".to_string())]),
        )]),
        ..SuggestOptions::default()
    };
    let yaml = yaml_of(&suggestions_for(&server, None, &opts), "PeerAuthentication");
    assert!(
        yaml.contains("    matchLabels:\n      app.kubernetes.io/name: orders\n"),
        "{yaml}"
    );
    assert!(!yaml.contains("REPLACE-ME"));

    let client = finding(
        "hand-rolled-tls",
        "src/db.rs",
        4,
        &[("side", "client"), ("host", "ledger")],
    );
    let s = suggestions_for(&client, None, &SuggestOptions::default());
    assert_eq!(s.len(), 1);
    assert!(yaml_of(&s, "DestinationRule")
        .ends_with("  trafficPolicy:\n    tls:\n      mode: ISTIO_MUTUAL\n"));

    let both = finding("hand-rolled-tls", "src/both.rs", 4, &[("host", "ledger")]);
    let kinds: Vec<String> = suggestions_for(&both, None, &SuggestOptions::default())
        .into_iter()
        .map(|s| s.kind)
        .collect();
    assert_eq!(kinds, ["DestinationRule", "PeerAuthentication"]);
}

#[test]
fn unknown_host_is_a_marked_placeholder() {
    let f = retry("src/a.rs", 1, &[("retries", "2")]);
    let s = suggestions_for(&f, None, &SuggestOptions::default());
    let yaml = yaml_of(&s, "VirtualService");
    assert!(yaml.contains(
        "  # REPLACE-ME.svc.cluster.local: the destination host could not be read from the code; put the Service's host here\n  hosts:\n  - REPLACE-ME.svc.cluster.local\n"
    ), "{yaml}");
    assert!(yaml.contains("  name: replace-me\n"));
    assert!(
        s[0].note.contains("could not be read from the code"),
        "{}",
        s[0].note
    );

    let f = retry("src/a.rs", 1, &[("retries", "2"), ("host", "../etc")]);
    let s = suggestions_for(&f, None, &SuggestOptions::default());
    assert!(yaml_of(&s, "VirtualService").contains("- REPLACE-ME.svc.cluster.local\n"));
    assert!(
        s[0].note.contains("`../etc` is not a Kubernetes host name"),
        "{}",
        s[0].note
    );
}

#[test]
fn env_host_is_flagged() {
    let f = retry(
        "src/a.rs",
        1,
        &[
            ("retries", "2"),
            ("host", "inventory"),
            ("host_source", "env"),
        ],
    );
    let s = suggestions_for(&f, None, &SuggestOptions::default());
    assert!(s[0].note.ends_with(
        "The host is the default of an environment variable: check the value deployed."
    ));
}

#[test]
fn zero_attempts_sets_nothing_else() {
    let f = retry(
        "src/a.rs",
        1,
        &[
            ("retries", "0"),
            ("per_try_timeout", "1s"),
            ("host", "inventory"),
        ],
    );
    let yaml = yaml_of(
        &suggestions_for(&f, None, &SuggestOptions::default()),
        "VirtualService",
    );
    assert!(yaml.ends_with(
        "    retries:\n      # attempts: 0 disables the mesh default retries; perTryTimeout and retryOn must stay unset\n      attempts: 0\n"
    ), "{yaml}");
}

#[test]
fn unbounded_loop_gets_the_mesh_default_with_a_comment() {
    let f = retry("src/a.rs", 1, &[("host", "inventory")]);
    let s = suggestions_for(&f, None, &SuggestOptions::default());
    let yaml = yaml_of(&s, "VirtualService");
    assert!(yaml.contains(
        "      # the code retried without a bound; 2 is Istio's default, choose the bound you want\n      attempts: 2\n"
    ), "{yaml}");
    assert!(s[0].note.contains("unbounded loop"));
}

#[test]
fn per_try_timeout_not_shorter_than_timeout_is_flagged() {
    let f = finding(
        "retry-crate",
        "src/a.rs",
        1,
        &[
            ("retries", "2"),
            ("per_try_timeout", "5s"),
            ("timeout", "3s"),
            ("host", "inventory"),
        ],
    );
    let yaml = yaml_of(
        &suggestions_for(&f, None, &SuggestOptions::default()),
        "VirtualService",
    );
    assert!(
        yaml.contains("# perTryTimeout >= timeout: Envoy will not retry at all"),
        "{yaml}"
    );
}

#[test]
fn bind_findings_get_code_and_a_replacement() {
    let src = "#[tokio::main]\nasync fn main() {\n    let listener = TcpListener::bind(\"127.0.0.1:8080\").await.unwrap();\n}\n";
    let mut findings = vec![
        finding_at(
            "loopback-bind",
            "src/main.rs",
            &[("host", "127.0.0.1"), ("port", "8080")],
            (3, 20, 3, 55),
        ),
        finding("ephemeral-port", "src/other.rs", 1, &[("host", "0.0.0.0")]),
        retry(
            "src/client.rs",
            5,
            &[("retries", "1"), ("host", "inventory")],
        ),
    ];
    let asked = std::cell::RefCell::new(Vec::new());
    let source_of = |file: &str| {
        asked.borrow_mut().push(file.to_string());
        (file == "src/main.rs").then(|| src.to_string())
    };
    attach_suggestions(&mut findings, &source_of, &SuggestOptions::default());
    let bind = &findings[0].suggestions[0];
    assert_eq!(bind.kind, "code");
    assert!(bind.yaml.is_none());
    let r = bind.replacement.as_ref().unwrap();
    assert_eq!((r.line, r.column, r.end_line, r.end_column), (3, 38, 3, 54));
    assert_eq!(r.text, "\"0.0.0.0:8080\"");
    assert!(bind
        .code
        .as_deref()
        .unwrap()
        .contains("tokio::net::TcpListener::bind((\"0.0.0.0\", port)).await?"));
    assert_eq!(findings[1].suggestions[0].kind, "code");
    assert!(findings[1].suggestions[0].replacement.is_none());
    assert_eq!(findings[2].suggestions[0].kind, "VirtualService");
    // Only files of code findings are read.
    assert_eq!(*asked.borrow(), ["src/main.rs", "src/other.rs"]);
}

#[test]
fn conflicting_findings_merge_to_the_conservative_value() {
    let findings = vec![
        retry(
            "src/b.rs",
            20,
            &[
                ("retries", "5"),
                ("per_try_timeout", "1s"),
                ("host", "inventory"),
            ],
        ),
        retry(
            "src/a.rs",
            10,
            &[
                ("retries", "3"),
                ("per_try_timeout", "2s"),
                ("host", "inventory"),
            ],
        ),
    ];
    let set = build_manifests(&findings, &SuggestOptions::default());
    assert_eq!(set.files.len(), 1);
    let file = &set.files[0];
    assert_eq!(file.file_name, "inventory.yaml");
    assert_eq!(file.subject, ManifestSubject::Host("inventory".into()));
    assert_eq!(
        file.contents,
        "\
# Retries and timeouts for this destination, enforced by the sidecar; replaces the code at:
#   src/a.rs:10 (retry-loop)
#   src/b.rs:20 (retry-loop)
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: inventory
  namespace: default
spec:
  hosts:
  - inventory
  http:
  - route:
    - destination:
        host: inventory
    retries:
      # conflict: 3 (fewest kept); the code says 3 at src/a.rs:10, 5 at src/b.rs:20
      attempts: 3
      # conflict: 1s (shortest kept); the code says 2s at src/a.rs:10, 1s at src/b.rs:20
      perTryTimeout: 1s
      retryOn: 5xx,connect-failure,reset
"
    );
    assert_eq!(
        set.conflicts,
        vec![
            Conflict {
                host: "inventory".into(),
                field: "http[].retries.attempts".into(),
                chosen: "3".into(),
                values: vec![
                    ("3".into(), "src/a.rs:10".into()),
                    ("5".into(), "src/b.rs:20".into())
                ],
                why: "fewest kept".into(),
            },
            Conflict {
                host: "inventory".into(),
                field: "http[].retries.perTryTimeout".into(),
                chosen: "1s".into(),
                values: vec![
                    ("2s".into(), "src/a.rs:10".into()),
                    ("1s".into(), "src/b.rs:20".into())
                ],
                why: "shortest kept".into(),
            },
        ]
    );
    assert_eq!(
        set.conflicts[0].to_string(),
        "inventory: retry attempts differ (3 at src/a.rs:10, 5 at src/b.rs:20): kept 3, the fewest (http[].retries.attempts)"
    );
    assert!(set.unplaced.is_empty());
}

#[test]
fn breaker_conflicts_keep_higher_threshold_and_shorter_ejection() {
    let findings = vec![
        finding(
            "circuit-breaker",
            "src/a.rs",
            1,
            &[
                ("consecutive_errors", "3"),
                ("base_ejection_time", "60s"),
                ("host", "payments"),
            ],
        ),
        finding(
            "circuit-breaker",
            "src/b.rs",
            1,
            &[
                ("consecutive_errors", "7"),
                ("base_ejection_time", "15s"),
                ("host", "payments"),
            ],
        ),
        finding(
            "timeout-wrapper",
            "src/c.rs",
            1,
            &[
                ("connect_timeout", "1s"),
                ("timeout", "4s"),
                ("host", "payments"),
            ],
        ),
    ];
    let set = build_manifests(&findings, &SuggestOptions::default());
    let file = &set.files[0];
    assert_eq!(file.documents.len(), 2);
    let Resource::DestinationRule(dr) = &file.documents[1] else {
        panic!("expected a DestinationRule");
    };
    let od = dr.spec.traffic_policy.outlier_detection.as_ref().unwrap();
    assert_eq!(od.consecutive_5xx_errors, Some(7));
    assert_eq!(od.base_ejection_time.as_deref(), Some("15s"));
    assert_eq!(
        dr.spec
            .traffic_policy
            .connection_pool
            .as_ref()
            .unwrap()
            .tcp
            .connect_timeout,
        "1s"
    );
    assert!(file.contents.contains("---\n"));
    let fields: Vec<&str> = set.conflicts.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "trafficPolicy.outlierDetection.consecutive5xxErrors",
            "trafficPolicy.outlierDetection.baseEjectionTime"
        ]
    );
}

#[test]
fn port_disagreement_drops_the_port() {
    let findings = vec![
        retry(
            "src/a.rs",
            1,
            &[("retries", "1"), ("host", "inventory"), ("port", "8080")],
        ),
        retry(
            "src/b.rs",
            1,
            &[("retries", "1"), ("host", "inventory"), ("port", "9090")],
        ),
    ];
    let set = build_manifests(&findings, &SuggestOptions::default());
    assert!(!set.files[0].contents.contains("number:"));
    assert!(set.files[0].contents.contains("# port left out"));
    assert_eq!(
        set.conflicts[0].field,
        "http[].route[].destination.port.number"
    );
}

#[test]
fn findings_without_a_usable_host_are_listed_not_merged() {
    let findings = vec![
        retry("src/a.rs", 1, &[("retries", "1")]),
        retry("src/b.rs", 2, &[("retries", "1"), ("host", "../etc")]),
        retry("src/c.rs", 3, &[("retries", "1"), ("host", "/abs/path")]),
        finding("hand-rolled-tls", "src/d.rs", 4, &[("side", "server")]),
        finding(
            "loopback-bind",
            "src/e.rs",
            5,
            &[("host", "127.0.0.1"), ("port", "80")],
        ),
        finding("ephemeral-port", "src/f.rs", 6, &[("host", "localhost")]),
    ];
    let set = build_manifests(&findings, &SuggestOptions::default());
    assert!(set.files.is_empty(), "{:#?}", set.files);
    assert_eq!(
        set.unplaced,
        vec![
            ("src/a.rs".to_string(), 1, "retry-loop"),
            ("src/b.rs".to_string(), 2, "retry-loop"),
            ("src/c.rs".to_string(), 3, "retry-loop"),
            ("src/d.rs".to_string(), 4, "hand-rolled-tls"),
        ]
    );
}

#[test]
fn bind_hosts_never_name_a_manifest() {
    let findings = vec![finding(
        "loopback-bind",
        "src/e.rs",
        5,
        &[("host", "inventory"), ("port", "80")],
    )];
    let set = build_manifests(&findings, &SuggestOptions::default());
    assert!(set.files.is_empty() && set.unplaced.is_empty());
}

#[test]
fn names_and_file_names_are_safe_and_unique() {
    let long = format!("{}.example.com", vec!["svc".repeat(20); 3].join("."));
    let findings = vec![
        retry(
            "a.rs",
            1,
            &[("retries", "1"), ("host", "pricing.shop.svc.cluster.local")],
        ),
        retry("a.rs", 2, &[("retries", "1"), ("host", "pricing.other")]),
        retry("a.rs", 3, &[("retries", "1"), ("host", "INVENTORY.Shop")]),
        retry("a.rs", 4, &[("retries", "1"), ("host", "api.stripe.com")]),
        retry("a.rs", 5, &[("retries", "1"), ("host", &long)]),
        retry("a.rs", 6, &[("retries", "1"), ("host", "a-b.c")]),
        retry("a.rs", 7, &[("retries", "1"), ("host", "a.b-c")]),
    ];
    let set = build_manifests(&findings, &SuggestOptions::default());
    let mut names = Vec::new();
    for file in &set.files {
        assert!(
            names::is_safe_file_name(&file.file_name),
            "{}",
            file.file_name
        );
        let name = file.documents[0].name().to_string();
        assert!(
            name.len() <= 63 && dns_label(&name, &name) == name,
            "{name}"
        );
        names.push((file.file_name.clone(), name));
    }
    let by_file: BTreeMap<_, _> = names.iter().cloned().collect();
    assert_eq!(
        by_file["pricing.shop.svc.cluster.local.yaml"],
        "pricing-shop-svc-cluster-local"
    );
    assert_eq!(by_file["pricing.other.yaml"], "pricing-other");
    assert_eq!(by_file["inventory.shop.yaml"], "inventory");
    assert_eq!(by_file["api.stripe.com.yaml"], "api-stripe-com");
    let distinct: std::collections::BTreeSet<_> = names.iter().map(|(_, n)| n).collect();
    assert_eq!(distinct.len(), names.len(), "{names:#?}");
    let Resource::VirtualService(vs) = &set
        .files
        .iter()
        .find(|f| f.file_name == "inventory.shop.yaml")
        .unwrap()
        .documents[0]
    else {
        panic!()
    };
    assert_eq!(vs.spec.hosts, ["inventory.shop"]);

    let single = build_manifests(&findings[..1], &SuggestOptions::default());
    assert_eq!(single.files[0].documents[0].name(), "pricing");
    let Resource::VirtualService(vs) = &single.files[0].documents[0] else {
        panic!()
    };
    assert_eq!(vs.spec.hosts, ["pricing.shop.svc.cluster.local"]);
}

/// Findings for one Service of the target namespace, under each of its
/// names, plus the same Service name in another namespace and an external
/// host.
fn pricing_under_many_names() -> Vec<Finding> {
    vec![
        retry(
            "src/a.rs",
            1,
            &[("retries", "3"), ("host", "pricing"), ("port", "8080")],
        ),
        finding(
            "timeout-wrapper",
            "src/b.rs",
            2,
            &[
                ("timeout", "1500ms"),
                ("host", "pricing.shop.svc.cluster.local"),
                ("port", "8080"),
            ],
        ),
        finding(
            "timeout-wrapper",
            "src/c.rs",
            3,
            &[("timeout", "3s"), ("host", "Pricing.Shop.svc.")],
        ),
        retry("src/d.rs", 4, &[("retries", "2"), ("host", "pricing.shop")]),
        finding(
            "circuit-breaker",
            "src/e.rs",
            5,
            &[
                ("consecutive_errors", "5"),
                ("host", "pricing.shop.svc.cluster.local"),
            ],
        ),
        finding(
            "timeout-wrapper",
            "src/f.rs",
            6,
            &[
                ("timeout", "2s"),
                ("host", "pricing.other.svc.cluster.local"),
            ],
        ),
        finding(
            "timeout-wrapper",
            "src/g.rs",
            7,
            &[("timeout", "5s"), ("host", "api.stripe.com")],
        ),
    ]
}

fn shop() -> SuggestOptions {
    SuggestOptions {
        namespace: "shop".into(),
        ..SuggestOptions::default()
    }
}

#[test]
fn hosts_of_one_service_are_one_destination() {
    let set = build_manifests(&pricing_under_many_names(), &shop());
    let files: Vec<_> = set
        .files
        .iter()
        .map(|f| (f.file_name.as_str(), f.subject.clone()))
        .collect();
    assert_eq!(
        files,
        [
            (
                "api.stripe.com.yaml",
                ManifestSubject::Host("api.stripe.com".into())
            ),
            (
                "pricing.other.svc.cluster.local.yaml",
                ManifestSubject::Host("pricing.other.svc.cluster.local".into())
            ),
            ("pricing.yaml", ManifestSubject::Host("pricing".into())),
        ]
    );
    let names: Vec<_> = set
        .files
        .iter()
        .flat_map(|f| f.documents.iter().map(|d| (d.kind(), d.name())))
        .collect();
    assert_eq!(
        names,
        [
            ("VirtualService", "api-stripe-com"),
            ("VirtualService", "pricing-other-svc-cluster-local"),
            ("VirtualService", "pricing"),
            ("DestinationRule", "pricing"),
        ]
    );
    assert_eq!(
        set.files[2].contents,
        "\
# Retries and timeouts for this destination, enforced by the sidecar; replaces the code at:
#   src/a.rs:1 (retry-loop)
#   src/b.rs:2 (timeout-wrapper)
#   src/c.rs:3 (timeout-wrapper)
#   src/d.rs:4 (retry-loop)
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: pricing
  namespace: shop
spec:
  hosts:
  - pricing
  http:
  - route:
    - destination:
        host: pricing
        port:
          number: 8080
    # conflict: 1500ms (shortest kept); the code says 1500ms at src/b.rs:2, 3s at src/c.rs:3
    timeout: 1500ms
    retries:
      # conflict: 2 (fewest kept); the code says 3 at src/a.rs:1, 2 at src/d.rs:4
      attempts: 2
      retryOn: 5xx,connect-failure,reset
---
# Connection policy for this destination, enforced by the sidecar; replaces the code at:
#   src/e.rs:5 (circuit-breaker)
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: pricing
  namespace: shop
spec:
  host: pricing
  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 5
      # maxEjectionPercent: 10  # Istio's default; a client-side breaker stopped all calls, raise this only knowingly
"
    );
    let conflicts: Vec<String> = set.conflicts.iter().map(ToString::to_string).collect();
    assert_eq!(
        conflicts,
        [
            "pricing: timeouts differ (1500ms at src/b.rs:2, 3s at src/c.rs:3): kept 1500ms, the shortest (http[].timeout)",
            "pricing: retry attempts differ (3 at src/a.rs:1, 2 at src/d.rs:4): kept 2, the fewest (http[].retries.attempts)",
        ]
    );
    let problems = validate::check_manifest_set(&set, schemas().as_ref(), &ISTIO_VERSIONS);
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // In the default namespace none of them is a local Service name but the
    // short one: `pricing.shop...` are another namespace's and stay apart.
    let default = build_manifests(&pricing_under_many_names(), &SuggestOptions::default());
    let files: Vec<_> = default.files.iter().map(|f| f.file_name.as_str()).collect();
    assert_eq!(
        files,
        [
            "api.stripe.com.yaml",
            "pricing.other.svc.cluster.local.yaml",
            "pricing.shop.svc.cluster.local.yaml",
            "pricing.shop.svc.yaml",
            "pricing.shop.yaml",
            "pricing.yaml",
        ]
    );
}

/// `metadata.name` and host of every YAML suggestion, as
/// `file:line Kind name host`.
fn suggested_names(findings: &[Finding]) -> Vec<String> {
    let mut out = Vec::new();
    for f in findings {
        for s in &f.suggestions {
            let Some(yaml) = &s.yaml else { continue };
            let doc = &validate::yaml_documents(yaml).unwrap()[0];
            let host = doc["spec"]["hosts"][0]
                .as_str()
                .or(doc["spec"]["host"].as_str())
                .unwrap();
            out.push(format!(
                "{}:{} {} {} {host}",
                f.file,
                f.range.line,
                s.kind,
                doc["metadata"]["name"].as_str().unwrap()
            ));
        }
    }
    out
}

#[test]
fn per_finding_suggestions_use_the_manifest_host_and_name() {
    let mut findings = pricing_under_many_names();
    attach_suggestions(&mut findings, &|_| None, &shop());
    assert_eq!(
        suggested_names(&findings),
        [
            "src/a.rs:1 VirtualService pricing pricing",
            "src/b.rs:2 VirtualService pricing pricing",
            "src/c.rs:3 VirtualService pricing pricing",
            "src/d.rs:4 VirtualService pricing pricing",
            "src/e.rs:5 DestinationRule pricing pricing",
            "src/f.rs:6 VirtualService pricing-other-svc-cluster-local pricing.other.svc.cluster.local",
            "src/g.rs:7 VirtualService api-stripe-com api.stripe.com",
        ]
    );
    // The same (kind, name, host) as the manifest files, finding by finding.
    let set = build_manifests(&findings, &shop());
    for f in &findings {
        for s in &f.suggestions {
            let Some(yaml) = &s.yaml else { continue };
            let doc = &validate::yaml_documents(yaml).unwrap()[0];
            let name = doc["metadata"]["name"].as_str().unwrap();
            let in_set = set.files.iter().flat_map(|m| &m.documents).any(|d| {
                d.kind() == s.kind && d.name() == name && {
                    let m = serde_json::to_value(d).unwrap();
                    m["spec"]["hosts"] == doc["spec"]["hosts"]
                        && m["spec"]["host"] == doc["spec"]["host"]
                }
            });
            assert!(in_set, "{}:{} {yaml}", f.file, f.range.line);
        }
    }
    // The note names the host written.
    assert_eq!(
        findings[1].suggestions[0].note,
        "Drop the client-side timeout and set it on the route: apply this VirtualService for `pricing`."
    );

    // Alone, a finding is named after its Service.
    let alone = suggestions_for(&findings[5], None, &shop());
    assert_eq!(
        suggested_names(&[Finding {
            suggestions: alone,
            ..findings[5].clone()
        }]),
        ["src/f.rs:6 VirtualService pricing pricing.other.svc.cluster.local"]
    );
}

#[test]
fn peer_authentication_files_per_crate() {
    let mut a = finding(
        "hand-rolled-tls",
        "svc/src/main.rs",
        3,
        &[("side", "server")],
    );
    a.package = Some("orders_api".into());
    let mut b = finding(
        "hand-rolled-tls",
        "svc/src/tls.rs",
        9,
        &[("side", "server")],
    );
    b.package = Some("orders_api".into());
    let mut evil = finding("hand-rolled-tls", "x/src/main.rs", 1, &[("side", "server")]);
    evil.package = Some("../../etc/passwd".into());
    let set = build_manifests(&[a, b, evil], &SuggestOptions::default());
    let files: Vec<&str> = set.files.iter().map(|f| f.file_name.as_str()).collect();
    assert_eq!(
        files,
        [
            "etc-passwd.peerauthentication.yaml",
            "orders_api.peerauthentication.yaml"
        ]
    );
    let orders = &set.files[1];
    assert_eq!(orders.subject, ManifestSubject::Crate("orders_api".into()));
    assert!(orders.contents.contains(
        "#   svc/src/main.rs:3 (hand-rolled-tls)\n#   svc/src/tls.rs:9 (hand-rolled-tls)\n"
    ));
}

#[test]
fn output_is_deterministic_whatever_the_input_order() {
    let mut findings = all_kinds();
    let first = build_manifests(&findings, &SuggestOptions::default());
    findings.reverse();
    let second = build_manifests(&findings, &SuggestOptions::default());
    assert_eq!(first, second);
}

#[test]
fn comments_from_file_paths_cannot_break_yaml() {
    let f = retry(
        "src/evil\nkind: Secret\r\n.rs",
        1,
        &[("retries", "1"), ("host", "inventory")],
    );
    let set = build_manifests(&[f], &SuggestOptions::default());
    let docs = validate::yaml_documents(&set.files[0].contents).unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["kind"], "VirtualService");
}

#[test]
fn write_refuses_to_overwrite_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("manifests");
    let set = build_manifests(&all_kinds(), &SuggestOptions::default());
    let written = write_manifests(&set, &out, false).unwrap();
    assert_eq!(written.len(), set.files.len());
    for (path, file) in written.iter().zip(&set.files) {
        assert_eq!(path.parent(), Some(out.as_path()));
        assert_eq!(std::fs::read_to_string(path).unwrap(), file.contents);
    }

    std::fs::write(&written[0], "mine\n").unwrap();
    let err = write_manifests(&set, &out, false).unwrap_err();
    assert!(
        matches!(&err, WriteError::Exists { path } if *path == written[0]),
        "{err}"
    );
    assert!(err.to_string().contains(&set.files[0].file_name), "{err}");
    assert!(err.to_string().contains("--force"));
    assert_eq!(std::fs::read_to_string(&written[0]).unwrap(), "mine\n");

    let again = write_manifests(&set, &out, true).unwrap();
    assert_eq!(again, written);
    assert_eq!(
        std::fs::read_to_string(&written[0]).unwrap(),
        set.files[0].contents
    );
}

#[test]
fn write_rejects_names_that_leave_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        "../escape.yaml",
        "/tmp/abs.yaml",
        "a/b.yaml",
        "..",
        ".hidden.yaml",
    ] {
        let set = ManifestSet {
            files: vec![ManifestFile {
                file_name: bad.into(),
                contents: "x: 1\n".into(),
                subject: ManifestSubject::Host("x".into()),
                documents: Vec::new(),
            }],
            ..ManifestSet::default()
        };
        let err = write_manifests(&set, dir.path(), true).unwrap_err();
        assert!(matches!(err, WriteError::UnsafeName { .. }), "{bad}: {err}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn options_are_checked() {
    assert!(SuggestOptions::default().check().is_ok());
    let bad_ns = SuggestOptions {
        namespace: "Shop_NS".into(),
        ..SuggestOptions::default()
    };
    assert!(bad_ns.check().is_err());
    let old = SuggestOptions {
        istio_version: Some("1.21".into()),
        ..SuggestOptions::default()
    };
    assert!(old.check().unwrap_err().contains("v1beta1"));
    let old_beta = SuggestOptions {
        istio_version: Some("1.21".into()),
        api_version: ApiVersion::V1beta1,
        ..SuggestOptions::default()
    };
    assert!(old_beta.check().is_ok());
    assert_eq!("v1beta1".parse::<ApiVersion>(), Ok(ApiVersion::V1beta1));
    assert!("v2".parse::<ApiVersion>().is_err());
}

/// One finding of every kind, with conflicts, for the whole-set tests.
fn all_kinds() -> Vec<Finding> {
    let mut tls_server = finding(
        "hand-rolled-tls",
        "api/src/main.rs",
        30,
        &[("side", "server")],
    );
    tls_server.package = Some("api".into());
    vec![
        retry(
            "api/src/inventory.rs",
            10,
            &[
                ("retries", "3"),
                ("per_try_timeout", "2s"),
                ("retry_on", "5xx,503"),
                ("host", "inventory"),
                ("port", "8080"),
            ],
        ),
        retry(
            "api/src/inventory.rs",
            50,
            &[
                ("retries", "5"),
                ("retry_on", "503,reset"),
                ("host", "inventory"),
                ("port", "8080"),
            ],
        ),
        finding(
            "retry-crate",
            "api/src/pricing.rs",
            7,
            &[
                ("retries", "4"),
                ("backoff", "250ms"),
                ("timeout", "100500ms"),
                ("protocol", "grpc"),
                ("host", "pricing.shop.svc.cluster.local"),
            ],
        ),
        finding(
            "timeout-wrapper",
            "api/src/pricing.rs",
            20,
            &[
                ("timeout", "1.5s"),
                ("connect_timeout", "250us"),
                ("host", "pricing.shop.svc.cluster.local"),
            ],
        ),
        finding(
            "circuit-breaker",
            "api/src/payments.rs",
            3,
            &[
                ("consecutive_errors", "5"),
                ("interval", "10s"),
                ("base_ejection_time", "30s"),
                ("max_ejection_percent", "50"),
                ("host", "payments"),
            ],
        ),
        finding(
            "hand-rolled-tls",
            "api/src/ledger.rs",
            8,
            &[("side", "client"), ("host", "ledger")],
        ),
        tls_server,
        retry(
            "api/src/zero.rs",
            1,
            &[
                ("retries", "0"),
                ("per_try_timeout", "1s"),
                ("host", "audit"),
            ],
        ),
        retry(
            "api/src/forever.rs",
            1,
            &[
                ("host", "search"),
                ("port", "9090"),
                ("retry_on", "unavailable,cancelled"),
            ],
        ),
        retry(
            "api/src/search.rs",
            2,
            &[
                ("retries", "1"),
                ("host", "search"),
                ("port", "9091"),
                ("retry_on", "bogus"),
            ],
        ),
        retry("api/src/nohost.rs", 1, &[("retries", "2")]),
        finding(
            "loopback-bind",
            "api/src/main.rs",
            40,
            &[("host", "127.0.0.1"), ("port", "8080")],
        ),
    ]
}

#[test]
fn every_manifest_parses_back_and_validates() {
    let schemas = schemas();
    for opts in [
        SuggestOptions::default(),
        SuggestOptions {
            api_version: ApiVersion::V1beta1,
            namespace: "shop".into(),
            ..SuggestOptions::default()
        },
    ] {
        let set = build_manifests(&all_kinds(), &opts);
        assert_eq!(
            set.files.len(),
            7,
            "{:#?}",
            set.files.iter().map(|f| &f.file_name).collect::<Vec<_>>()
        );
        assert!(set.errors.is_empty(), "{:?}", set.errors);
        let problems = validate::check_manifest_set(&set, schemas.as_ref(), &ISTIO_VERSIONS);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }
}

#[test]
fn every_per_finding_suggestion_parses_and_validates() {
    let schemas = schemas();
    let mut findings = all_kinds();
    attach_suggestions(&mut findings, &|_| None, &SuggestOptions::default());
    let mut checked = 0;
    for f in &findings {
        for s in &f.suggestions {
            let Some(yaml) = &s.yaml else { continue };
            let docs = validate::yaml_documents(yaml).unwrap();
            assert_eq!(docs.len(), 1);
            assert_eq!(docs[0]["kind"], s.kind.as_str());
            assert!(validate::nulls(&docs[0]).is_empty());
            let mut problems = validate::semantic_problems(&docs[0]);
            if let Some(schemas) = &schemas {
                for v in ISTIO_VERSIONS {
                    problems.extend(schemas.validate(v, &docs[0]));
                }
            }
            assert!(
                problems.is_empty(),
                "{}:{} {}\n{yaml}",
                f.file,
                f.range.line,
                problems.join("\n")
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}

#[test]
fn backoff_is_valid_only_where_the_version_has_it() {
    let Some(schemas) = schemas() else { return };
    let opts = SuggestOptions {
        istio_version: Some("1.30.3".into()),
        ..SuggestOptions::default()
    };
    let set = build_manifests(&all_kinds(), &opts);
    assert!(validate::check_manifest_set(&set, Some(&schemas), &["1.30.3"]).is_empty());
    let old = validate::check_manifest_set(&set, Some(&schemas), &["1.22.0"]);
    assert!(old.iter().any(|p| p.contains("backoff")), "{old:?}");
}

#[test]
fn closed_schemas_catch_misspelt_fields() {
    let Some(schemas) = schemas() else { return };
    let set = build_manifests(&all_kinds(), &SuggestOptions::default());
    let inventory = set
        .files
        .iter()
        .find(|f| f.file_name == "inventory.yaml")
        .unwrap();
    let mut doc = serde_json::to_value(&inventory.documents[0]).unwrap();
    for v in ISTIO_VERSIONS {
        assert!(schemas.validate(v, &doc).is_empty());
    }
    doc["spec"]["http"][0]["retries"]["retryon"] = "5xx".into();
    doc["metadata"]["nmae"] = "x".into();
    for v in ISTIO_VERSIONS {
        let errors = schemas.validate(v, &doc);
        assert_eq!(errors.len(), 2, "{errors:?}");
    }
    let mut dr = serde_json::json!({
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
        "metadata": {"name": "x"},
        "spec": {"host": "x", "trafficPolicy": {"outlierDetection": {"consecutiveErrors": 5}}}
    });
    assert!(!validate::semantic_problems(&dr).is_empty());
    dr["spec"]["trafficPolicy"] = serde_json::json!({});
    assert_eq!(
        validate::semantic_problems(&dr),
        ["spec.trafficPolicy is empty"]
    );
}

#[test]
fn missing_schemas_are_an_error_only_when_required() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("schemas");
    let candidates = [dir.clone(), dir.join("istio")];
    let looked = format!("{}, {}", candidates[0].display(), candidates[1].display());
    let Err(required) = validate::load_schemas_from(&candidates, true) else {
        panic!("required schemas that are absent must be an error");
    };
    assert_eq!(
        required,
        format!(
            "Istio schemas are required (MESH_AUDIT_REQUIRE_SCHEMAS=1) but were not found: \
             no json-1.22.0/ folder in {looked}; set MESH_AUDIT_SCHEMA_DIR to the directory \
             holding json-<version>/ folders"
        )
    );
    assert!(!required.contains("skipped"), "{required}");
    let Ok(SchemaLoad::Absent(optional)) = validate::load_schemas_from(&candidates, false) else {
        panic!("absent schemas that are not required are skipped");
    };
    assert_eq!(
        optional,
        format!(
            "Istio schemas not found (no json-1.22.0/ folder in {looked}; set \
             MESH_AUDIT_SCHEMA_DIR); schema validation skipped"
        )
    );
    // The default place is beside the repository, spelt without `..`.
    if std::env::var_os("MESH_AUDIT_SCHEMA_DIR").is_none() {
        let default = validate::schema_candidates();
        assert_eq!(default.len(), 1);
        assert!(default[0].ends_with("shared/schemas/istio"), "{default:?}");
        assert!(!default[0].to_string_lossy().contains(".."), "{default:?}");
    }
}

#[test]
fn semantic_checks_catch_webhook_errors() {
    let vs = serde_json::json!({
        "apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "x"},
        "spec": {"hosts": [], "http": [{"route": [{"destination": {}}], "timeout": "1.5s",
            "retries": {"attempts": 0, "perTryTimeout": "0s", "retryOn": "5xx,bogus"}}]}
    });
    let problems = validate::semantic_problems(&vs);
    assert_eq!(problems.len(), 7, "{problems:#?}");
}

/// The whole manifest set for one finding of every kind, byte for byte.
#[test]
fn manifest_set_snapshot() {
    let set = build_manifests(&all_kinds(), &SuggestOptions::default());
    let mut text = String::new();
    for f in &set.files {
        text.push_str(&format!("==> {} <==\n{}\n", f.file_name, f.contents));
    }
    for c in &set.conflicts {
        text.push_str(&format!("conflict: {c}\n"));
    }
    for (file, line, rule) in &set.unplaced {
        text.push_str(&format!("unplaced: {file}:{line} {rule}\n"));
    }
    insta::assert_snapshot!("manifest_set", text);
}
