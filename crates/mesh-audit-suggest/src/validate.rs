//! Checks for generated manifests, for this crate's tests and (with the
//! `schema-check` feature) for end-to-end tests elsewhere:
//!
//! - parse the YAML back and compare it with the typed model;
//! - validate each document against the published Istio CRD schemas of every
//!   supported version, with every object that lists `properties` closed
//!   (`additionalProperties: false`) so a misspelt field fails;
//! - the webhook rules the schemas do not encode (fields.md §6) and no `null`.
//!
//! Schemas are read from `MESH_AUDIT_SCHEMA_DIR` or from `shared/schemas/istio`
//! beside the repository; they are never copied into it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{json, Map, Value};

use crate::duration::is_mesh_duration;
use crate::policy::is_retry_on_token;
use crate::{ManifestSet, Resource};

/// The Istio releases every generated document must load on by default.
pub const ISTIO_VERSIONS: [&str; 2] = ["1.22.0", "1.30.3"];

const KINDS: [(&str, &str); 3] = [
    ("VirtualService", "networking.istio.io"),
    ("DestinationRule", "networking.istio.io"),
    ("PeerAuthentication", "security.istio.io"),
];

/// Where the schemas are looked for: `MESH_AUDIT_SCHEMA_DIR` (or its
/// `istio/` folder) when set, else `shared/schemas/istio` beside the
/// repository.
pub fn schema_candidates() -> Vec<PathBuf> {
    match std::env::var_os("MESH_AUDIT_SCHEMA_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            vec![dir.clone(), dir.join("istio")]
        }
        None => {
            let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
            // crates/mesh-audit-suggest -> the repository -> beside it.
            let beside = crate_dir
                .ancestors()
                .nth(3)
                .map_or_else(|| crate_dir.join("../../.."), Path::to_path_buf);
            vec![beside.join("shared/schemas/istio")]
        }
    }
}

/// The directory holding `json-<version>/` folders, if one can be found.
pub fn schema_root() -> Option<PathBuf> {
    find_schema_root(&schema_candidates())
}

fn find_schema_root(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|d| d.join(format!("json-{}", ISTIO_VERSIONS[0])).is_dir())
        .cloned()
}

/// Compiled validators per Istio version and kind.
pub struct Schemas {
    validators: BTreeMap<String, BTreeMap<&'static str, jsonschema::Validator>>,
}

/// The outcome of looking for the schemas.
pub enum SchemaLoad {
    Loaded(Schemas),
    /// Not found, and not required: the one-line reason to print.
    Absent(String),
}

/// Prints why schema validation is skipped where a `cargo test` run shows
/// it: straight to the process's stderr, past libtest's output capture
/// (which only catches `print!`/`eprint!`), so a passing run still says
/// that it validated nothing.
pub fn announce_skip(reason: &str) {
    use std::io::Write;
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(std::io::stderr().lock(), "note: {reason}");
    });
}

/// Loads the schemas. [`SchemaLoad::Absent`] when the directory is absent and
/// `MESH_AUDIT_REQUIRE_SCHEMAS` is not `1`; an error when it is required, or
/// present but unreadable.
pub fn load_schemas() -> Result<SchemaLoad, String> {
    let required = std::env::var("MESH_AUDIT_REQUIRE_SCHEMAS").is_ok_and(|v| v == "1");
    load_schemas_from(&schema_candidates(), required)
}

/// [`load_schemas`] from the first of `candidates` that holds the schemas.
pub fn load_schemas_from(candidates: &[PathBuf], required: bool) -> Result<SchemaLoad, String> {
    let Some(root) = find_schema_root(candidates) else {
        let looked = candidates
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let wanted = format!("json-{}/", ISTIO_VERSIONS[0]);
        return if required {
            Err(format!(
                "Istio schemas are required (MESH_AUDIT_REQUIRE_SCHEMAS=1) but were not found: \
                 no {wanted} folder in {looked}; set MESH_AUDIT_SCHEMA_DIR to the directory \
                 holding json-<version>/ folders"
            ))
        } else {
            Ok(SchemaLoad::Absent(format!(
                "Istio schemas not found (no {wanted} folder in {looked}; set \
                 MESH_AUDIT_SCHEMA_DIR); schema validation skipped"
            )))
        };
    };
    let mut validators = BTreeMap::new();
    for version in ISTIO_VERSIONS {
        let mut by_kind = BTreeMap::new();
        for (kind, group) in KINDS {
            let path = root.join(format!("json-{version}")).join(format!(
                "{}.{group}.v1.openapi-v3.json",
                kind.to_ascii_lowercase()
            ));
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut schema: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            add_envelope(&mut schema, kind, group);
            close_objects(&mut schema);
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft4)
                .build(&schema)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            by_kind.insert(kind, validator);
        }
        validators.insert(version.to_string(), by_kind);
    }
    Ok(SchemaLoad::Loaded(Schemas { validators }))
}

/// The CRD schemas describe `spec` and `status` only; the API server adds
/// `apiVersion`, `kind` and `metadata`. Describe those too, so that closing
/// the top level does not reject them and a typo in them is caught.
pub fn add_envelope(schema: &mut Value, kind: &str, group: &str) {
    let name =
        json!({"type": "string", "maxLength": 63, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"});
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let props = obj
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    if let Some(props) = props {
        props.insert(
            "apiVersion".into(),
            json!({"type": "string", "enum": [format!("{group}/v1"), format!("{group}/v1beta1")]}),
        );
        props.insert("kind".into(), json!({"type": "string", "enum": [kind]}));
        props.insert(
            "metadata".into(),
            json!({"type": "object", "required": ["name"], "properties": {"name": name, "namespace": name}}),
        );
    }
    obj.insert(
        "required".into(),
        json!(["apiVersion", "kind", "metadata", "spec"]),
    );
}

/// Adds `additionalProperties: false` to every schema object that lists
/// `properties`, except where Kubernetes keeps unknown fields.
pub fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(obj) => {
            let preserve = obj
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if obj.contains_key("properties")
                && !preserve
                && !obj.contains_key("additionalProperties")
            {
                obj.insert("additionalProperties".into(), Value::Bool(false));
            }
            for value in obj.values_mut() {
                close_objects(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

impl Schemas {
    pub fn versions(&self) -> impl Iterator<Item = &str> {
        self.validators.keys().map(String::as_str)
    }

    /// Schema errors of `doc` for one Istio version.
    pub fn validate(&self, version: &str, doc: &Value) -> Vec<String> {
        let Some(kind) = doc.get("kind").and_then(Value::as_str) else {
            return vec!["document has no kind".into()];
        };
        let Some(validator) = self.validators.get(version).and_then(|m| m.get(kind)) else {
            return vec![format!("no schema for {kind} in Istio {version}")];
        };
        validator
            .iter_errors(doc)
            .map(|e| format!("Istio {version} {kind} at `{}`: {e}", e.instance_path()))
            .collect()
    }
}

/// Parses a (multi-document) YAML text into JSON values. Keys must be
/// strings; anything YAML would read as another type is reported.
pub fn yaml_documents(text: &str) -> Result<Vec<Value>, String> {
    let docs = Yaml::load_from_str(text).map_err(|e| e.to_string())?;
    docs.iter().map(yaml_to_json).collect()
}

fn yaml_to_json(node: &Yaml) -> Result<Value, String> {
    Ok(match node {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => Value::Bool(*b),
        Yaml::Value(Scalar::Integer(i)) => json!(i),
        Yaml::Value(Scalar::FloatingPoint(f)) => json!(f.into_inner()),
        Yaml::Value(Scalar::String(s)) => Value::String(s.to_string()),
        Yaml::Sequence(items) => {
            Value::Array(items.iter().map(yaml_to_json).collect::<Result<_, _>>()?)
        }
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let Yaml::Value(Scalar::String(key)) = k else {
                    return Err(format!("mapping key {k:?} is not a string"));
                };
                if out.insert(key.to_string(), yaml_to_json(v)?).is_some() {
                    return Err(format!("duplicate key `{key}`"));
                }
            }
            Value::Object(out)
        }
        other => return Err(format!("unsupported YAML node {other:?}")),
    })
}

/// Paths of every `null` in `doc`.
pub fn nulls(doc: &Value) -> Vec<String> {
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            Value::Null => out.push(path.to_string()),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), out);
                }
            }
            Value::Object(obj) => {
                for (k, item) in obj {
                    walk(item, &format!("{path}.{k}"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, "", &mut out);
    out
}

/// The istiod webhook rules that the CRD schema does not enforce
/// (fields.md §6), for the fields this tool writes.
pub fn semantic_problems(doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let spec = doc.get("spec").cloned().unwrap_or(Value::Null);
    let duration = |path: &str, v: Option<&Value>, problems: &mut Vec<String>| {
        if let Some(v) = v {
            match v.as_str() {
                Some(s) if is_mesh_duration(s) => {}
                _ => problems.push(format!(
                    "{path}: `{v}` is not a duration of at least 1ms in ms/s form"
                )),
            }
        }
    };
    match doc.get("kind").and_then(Value::as_str) {
        Some("VirtualService") => {
            let hosts = spec.get("hosts").and_then(Value::as_array);
            match hosts {
                Some(h) if !h.is_empty() => {
                    let mut seen = std::collections::BTreeSet::new();
                    for host in h {
                        let s = host.as_str().unwrap_or("");
                        if s.is_empty() || s == "*" {
                            problems.push(format!("spec.hosts: `{s}` is not allowed"));
                        }
                        if !seen.insert(s) {
                            problems.push(format!("spec.hosts: duplicate `{s}`"));
                        }
                    }
                }
                _ => problems.push("spec.hosts must not be empty".into()),
            }
            let http = spec.get("http").and_then(Value::as_array);
            let has_route_kind = ["http", "tcp", "tls"].iter().any(|k| {
                spec.get(k)
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
            });
            if !has_route_kind {
                problems.push("one of http, tcp, tls must be present".into());
            }
            for (i, route) in http.into_iter().flatten().enumerate() {
                let p = format!("spec.http[{i}]");
                if route.is_null() {
                    problems.push(format!("{p} is null"));
                    continue;
                }
                let dests = route.get("route").and_then(Value::as_array);
                match dests {
                    Some(d) if !d.is_empty() => {
                        for (j, dest) in d.iter().enumerate() {
                            let host = dest
                                .get("destination")
                                .and_then(|d| d.get("host"))
                                .and_then(Value::as_str);
                            if host.is_none_or(str::is_empty) {
                                problems.push(format!("{p}.route[{j}]: destination is required"));
                            }
                        }
                    }
                    _ => problems.push(format!("{p}: a route with a destination is required")),
                }
                duration(&format!("{p}.timeout"), route.get("timeout"), &mut problems);
                if let Some(retries) = route.get("retries") {
                    let attempts = retries.get("attempts").and_then(Value::as_i64);
                    match attempts {
                        Some(a) if a < 0 => {
                            problems.push(format!("{p}.retries.attempts must be >= 0"))
                        }
                        Some(0) => {
                            for f in [
                                "perTryTimeout",
                                "retryOn",
                                "retryRemoteLocalities",
                                "backoff",
                            ] {
                                if retries.get(f).is_some() {
                                    problems.push(format!(
                                        "{p}.retries.{f} is set while attempts is 0"
                                    ));
                                }
                            }
                        }
                        Some(_) => {}
                        None => problems.push(format!(
                            "{p}.retries.attempts missing: it defaults to 0, which disables retries"
                        )),
                    }
                    duration(
                        &format!("{p}.retries.perTryTimeout"),
                        retries.get("perTryTimeout"),
                        &mut problems,
                    );
                    duration(
                        &format!("{p}.retries.backoff"),
                        retries.get("backoff"),
                        &mut problems,
                    );
                    if let Some(on) = retries.get("retryOn") {
                        let text = on.as_str().unwrap_or("");
                        if text.is_empty() {
                            problems.push(format!("{p}.retries.retryOn is empty"));
                        }
                        for token in text.split(',').filter(|t| !t.is_empty()) {
                            if !is_retry_on_token(token.trim()) {
                                problems.push(format!(
                                    "{p}.retries.retryOn: `{token}` is not a retry policy"
                                ));
                            }
                        }
                    }
                }
            }
        }
        Some("DestinationRule") => {
            if spec
                .get("host")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                problems.push("spec.host is required".into());
            }
            if let Some(tp) = spec.get("trafficPolicy") {
                if tp.as_object().is_none_or(Map::is_empty) {
                    problems.push("spec.trafficPolicy is empty".into());
                }
                if let Some(cp) = tp.get("connectionPool") {
                    if cp.as_object().is_none_or(Map::is_empty) {
                        problems.push("connectionPool is empty".into());
                    }
                    for side in ["tcp", "http"] {
                        if let Some(s) = cp.get(side) {
                            if s.as_object().is_none_or(Map::is_empty) {
                                problems.push(format!("connectionPool.{side} is empty"));
                            }
                        }
                    }
                    if let Some(tcp) = cp.get("tcp") {
                        duration(
                            "connectionPool.tcp.connectTimeout",
                            tcp.get("connectTimeout"),
                            &mut problems,
                        );
                    }
                }
                if let Some(od) = tp.get("outlierDetection") {
                    if od.get("consecutiveErrors").is_some() {
                        problems.push("outlierDetection.consecutiveErrors is deprecated".into());
                    }
                    for f in ["maxEjectionPercent", "minHealthPercent"] {
                        if let Some(v) = od.get(f) {
                            if !v.as_i64().is_some_and(|n| (0..=100).contains(&n)) {
                                problems
                                    .push(format!("outlierDetection.{f} must be within 0..100"));
                            }
                        }
                    }
                    if od
                        .get("consecutiveLocalOriginFailures")
                        .and_then(Value::as_u64)
                        .is_some_and(|n| n > 0)
                        && od.get("splitExternalLocalOriginErrors") != Some(&Value::Bool(true))
                    {
                        problems.push(
                            "consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors"
                                .into(),
                        );
                    }
                    duration(
                        "outlierDetection.interval",
                        od.get("interval"),
                        &mut problems,
                    );
                    duration(
                        "outlierDetection.baseEjectionTime",
                        od.get("baseEjectionTime"),
                        &mut problems,
                    );
                }
                if let Some(tls) = tp.get("tls") {
                    if tls.get("mode").and_then(Value::as_str) == Some("ISTIO_MUTUAL")
                        && tls.as_object().is_some_and(|o| o.len() > 1)
                    {
                        problems.push("tls: ISTIO_MUTUAL must have no other fields".into());
                    }
                }
            }
        }
        Some("PeerAuthentication") => {
            if let Some(port_level) = spec.get("portLevelMtls") {
                let has_selector = spec
                    .get("selector")
                    .and_then(|s| s.get("matchLabels"))
                    .and_then(Value::as_object)
                    .is_some_and(|m| !m.is_empty());
                if !has_selector {
                    problems.push("portLevelMtls needs a selector".into());
                }
                if port_level.as_object().is_none_or(Map::is_empty) {
                    problems.push("portLevelMtls is empty".into());
                }
            }
        }
        other => problems.push(format!("unexpected kind {other:?}")),
    }
    problems
}

/// Everything wrong with one file: parse-back mismatches, nulls, schema
/// errors for `versions`, webhook rules.
pub fn check_file(
    contents: &str,
    expected: &[Resource],
    schemas: Option<&Schemas>,
    versions: &[&str],
) -> Vec<String> {
    let mut problems = Vec::new();
    let parsed = match yaml_documents(contents) {
        Ok(p) => p,
        Err(e) => return vec![format!("YAML does not parse: {e}")],
    };
    let model: Vec<Value> = expected
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
        .collect();
    if parsed != model {
        problems.push(format!(
            "parsed YAML differs from the model:\n  parsed: {}\n  model:  {}",
            Value::Array(parsed.clone()),
            Value::Array(model)
        ));
    }
    for doc in &parsed {
        for path in nulls(doc) {
            problems.push(format!("null at {path}"));
        }
        problems.extend(semantic_problems(doc));
        if let Some(schemas) = schemas {
            for version in versions {
                problems.extend(schemas.validate(version, doc));
            }
        }
    }
    problems
}

/// [`check_file`] for every file of a set, each problem prefixed with its file.
pub fn check_manifest_set(
    set: &ManifestSet,
    schemas: Option<&Schemas>,
    versions: &[&str],
) -> Vec<String> {
    set.files
        .iter()
        .flat_map(|f| {
            check_file(&f.contents, &f.documents, schemas, versions)
                .into_iter()
                .map(move |p| format!("{}: {p}", f.file_name))
        })
        .collect()
}
