//! User configuration: `mesh-audit.toml` at the audit root, or
//! `[workspace.metadata.mesh-audit]` / `[package.metadata.mesh-audit]` in the
//! root `Cargo.toml`. Typed and strict: an unknown key is an error naming the
//! file and the key, because a misspelt option that silently does nothing is
//! worse than a failed run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mesh_audit_model::Severity;

use crate::rules::{self, OptionKind};

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub message: String,
}

/// One rule's settings from `[rules.<id>]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleConfig {
    pub severity: Option<Severity>,
    /// Severity of findings whose destination is outside the mesh (a public
    /// domain or cloud API); `info` unless raised.
    pub external: Option<Severity>,
    pub enabled: Option<bool>,
    /// The rule's own options, already checked against the rule's declaration.
    pub options: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    /// Where the configuration came from, for messages.
    pub source: Option<PathBuf>,
    pub select: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub exclude: Vec<String>,
    pub include_tests: Option<bool>,
    pub include_reconnect: Option<bool>,
    pub namespace: Option<String>,
    /// `max-file-size`: larger `.rs` files are not analysed.
    pub max_file_size: Option<u64>,
    pub rules: BTreeMap<String, RuleConfig>,
}

impl Config {
    /// Finds and reads the configuration that applies to `root`. No file at
    /// all is not an error: the defaults apply.
    pub fn discover(root: &Path) -> Result<Config, ConfigError> {
        let dedicated = root.join("mesh-audit.toml");
        // Whatever kind of file it is: `read` refuses a FIFO or device by name.
        if std::fs::symlink_metadata(&dedicated).is_ok() {
            return Config::from_file(&dedicated);
        }
        let manifest = root.join("Cargo.toml");
        if std::fs::symlink_metadata(&manifest).is_ok() {
            // A broken (or unreadable, or special) Cargo.toml is reported by
            // discovery, with cargo's words.
            let Ok(doc) = read(&manifest).and_then(|text| {
                text.parse::<toml::Table>().map_err(|e| ConfigError {
                    file: String::new(),
                    message: e.to_string(),
                })
            }) else {
                return Ok(Config::default());
            };
            for section in ["workspace", "package"] {
                let table = doc
                    .get(section)
                    .and_then(|t| t.get("metadata"))
                    .and_then(|m| m.get("mesh-audit"));
                if let Some(table) = table {
                    let key = format!("{section}.metadata.mesh-audit");
                    let mut cfg = Config::from_value(table, &manifest, &key)?;
                    cfg.source = Some(manifest);
                    return Ok(cfg);
                }
            }
        }
        Ok(Config::default())
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = read(path)?;
        let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
            file: path.display().to_string(),
            message: format!("invalid TOML: {}", e.message().trim()),
        })?;
        let mut cfg = Config::from_value(&toml::Value::Table(doc), path, "")?;
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    fn from_value(value: &toml::Value, file: &Path, prefix: &str) -> Result<Config, ConfigError> {
        let err = |key: &str, message: String| ConfigError {
            file: file.display().to_string(),
            message: if prefix.is_empty() {
                format!("`{key}`: {message}")
            } else {
                format!("`{prefix}.{key}`: {message}")
            },
        };
        let table = value
            .as_table()
            .ok_or_else(|| err("", "expected a table".into()))?;
        let mut cfg = Config::default();
        for (key, v) in table {
            match key.as_str() {
                "select" => cfg.select = Some(rule_list(v).map_err(|m| err(key, m))?),
                "ignore" => cfg.ignore = rule_list(v).map_err(|m| err(key, m))?,
                "exclude" => {
                    cfg.exclude = string_list(v).map_err(|m| err(key, m))?;
                    for glob in &cfg.exclude {
                        let mut b = ignore::gitignore::GitignoreBuilder::new("");
                        if let Err(e) = b.add_line(None, glob) {
                            return Err(err(key, format!("invalid glob `{glob}`: {}", glob_error(&e))));
                        }
                    }
                }
                "max-file-size" => {
                    let size = match v {
                        toml::Value::Integer(i) => u64::try_from(*i).ok().filter(|&n| n > 0),
                        toml::Value::String(s) => crate::safe_fs::parse_size(s),
                        _ => None,
                    };
                    cfg.max_file_size = Some(size.ok_or_else(|| {
                        err(key, "expected a size in bytes, or a string such as \"8MB\"".into())
                    })?);
                }
                "include-tests" => {
                    cfg.include_tests = Some(v.as_bool().ok_or_else(|| err(key, "expected true or false".into()))?)
                }
                "include-reconnect" => {
                    cfg.include_reconnect =
                        Some(v.as_bool().ok_or_else(|| err(key, "expected true or false".into()))?)
                }
                // Read by discovery per package (`[package.metadata.mesh-audit]`);
                // checked here so a typo is an error, not a silent default.
                "scope" => {
                    let v = v.as_str().ok_or_else(|| err(key, "expected a string".into()))?;
                    if !matches!(v, "service" | "library" | "job" | "dev" | "skip") {
                        return Err(err(
                            key,
                            format!("`{v}` is not a scope; expected \"service\", \"library\", \"job\", \"dev\" or \"skip\""),
                        ));
                    }
                }
                "namespace" => {
                    let ns = v.as_str().ok_or_else(|| err(key, "expected a string".into()))?;
                    if !is_dns_label(ns) {
                        return Err(err(key, format!("`{ns}` is not a valid Kubernetes namespace (DNS-1123 label)")));
                    }
                    cfg.namespace = Some(ns.to_string());
                }
                "rules" => {
                    let rules_table = v
                        .as_table()
                        .ok_or_else(|| err(key, "expected a table of rule ids".into()))?;
                    for (id, rv) in rules_table {
                        let rule_key = format!("rules.{id}");
                        let meta = rules::lookup(id)
                            .ok_or_else(|| err(&rule_key, format!("unknown rule `{id}` (see --list-rules)")))?;
                        let rt = rv
                            .as_table()
                            .ok_or_else(|| err(&rule_key, "expected a table".into()))?;
                        let mut rc = RuleConfig::default();
                        for (opt, ov) in rt {
                            let opt_key = format!("rules.{id}.{opt}");
                            match opt.as_str() {
                                "severity" => {
                                    let s = ov.as_str().and_then(Severity::parse).ok_or_else(|| {
                                        err(&opt_key, "expected \"error\", \"warning\" or \"info\"".into())
                                    })?;
                                    rc.severity = Some(s);
                                }
                                "external" => {
                                    let s = ov.as_str().and_then(Severity::parse).ok_or_else(|| {
                                        err(&opt_key, "expected \"error\", \"warning\" or \"info\"".into())
                                    })?;
                                    rc.external = Some(s);
                                }
                                "enabled" => {
                                    rc.enabled =
                                        Some(ov.as_bool().ok_or_else(|| err(&opt_key, "expected true or false".into()))?)
                                }
                                _ => {
                                    let Some((_, kind, _)) = meta.options.iter().find(|(n, _, _)| n == opt) else {
                                        let known: Vec<&str> = ["severity", "enabled", "external"]
                                            .into_iter()
                                            .chain(meta.options.iter().map(|(n, _, _)| *n))
                                            .collect();
                                        return Err(err(
                                            &opt_key,
                                            format!("unknown option; `{id}` accepts {}", known.join(", ")),
                                        ));
                                    };
                                    kind.check(ov).map_err(|m| err(&opt_key, m))?;
                                    rc.options.insert(opt.clone(), ov.clone());
                                }
                            }
                        }
                        cfg.rules.insert(id.clone(), rc);
                    }
                }
                _ => {
                    return Err(err(
                        key,
                        "unknown key; expected one of select, ignore, exclude, include-tests, include-reconnect, namespace, scope, max-file-size, rules"
                            .into(),
                    ))
                }
            }
        }
        Ok(cfg)
    }
}

impl OptionKind {
    fn check(self, v: &toml::Value) -> Result<(), String> {
        let ok = match self {
            OptionKind::Bool => v.is_bool(),
            OptionKind::Integer => v.as_integer().is_some_and(|i| i >= 0),
            OptionKind::String => v.is_str(),
            OptionKind::StringList => v.as_array().is_some_and(|a| a.iter().all(|x| x.is_str())),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("expected {}", self.describe()))
        }
    }
}

/// A configuration file or manifest: a regular file of sane size, as text.
fn read(path: &Path) -> Result<String, ConfigError> {
    use crate::safe_fs::{read_regular_text, ReadError, MAX_CONTROL_FILE};
    read_regular_text(path, MAX_CONTROL_FILE).map_err(|e| ConfigError {
        file: path.display().to_string(),
        message: match e {
            ReadError::Io(io) => format!("cannot read: {io}"),
            other => other.to_string(),
        },
    })
}

/// The glob error without the glob (the message quotes it already).
fn glob_error(e: &ignore::Error) -> String {
    match e {
        ignore::Error::Glob { err, .. } => err.clone(),
        other => other.to_string(),
    }
}

fn string_list(v: &toml::Value) -> Result<Vec<String>, String> {
    let arr = v.as_array().ok_or("expected an array of strings")?;
    arr.iter()
        .map(|x| {
            x.as_str()
                .map(str::to_string)
                .ok_or_else(|| "expected an array of strings".to_string())
        })
        .collect()
}

fn rule_list(v: &toml::Value) -> Result<Vec<String>, String> {
    let list = string_list(v)?;
    for id in &list {
        if rules::lookup(id).is_none() {
            return Err(format!("unknown rule `{id}` (see --list-rules)"));
        }
    }
    Ok(list)
}

/// RFC 1123 label, as Kubernetes names namespaces.
pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let doc: toml::Table = text.parse().unwrap();
        Config::from_value(&toml::Value::Table(doc), Path::new("mesh-audit.toml"), "")
    }

    #[test]
    fn reads_typed_keys() {
        let cfg = parse(
            "select = [\"loopback-bind\"]\ninclude-tests = true\nnamespace = \"shop\"\n[rules.loopback-bind]\nseverity = \"warning\"\n",
        )
        .unwrap();
        assert_eq!(cfg.select, Some(vec!["loopback-bind".to_string()]));
        assert_eq!(cfg.include_tests, Some(true));
        assert_eq!(cfg.namespace.as_deref(), Some("shop"));
        assert_eq!(cfg.rules["loopback-bind"].severity, Some(Severity::Warning));
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let e = parse("selekt = []").unwrap_err();
        assert_eq!(e.file, "mesh-audit.toml");
        assert!(
            e.message.starts_with("`selekt`: unknown key"),
            "{}",
            e.message
        );
        let e = parse("[rules.loopback-bind]\nseverity = \"loud\"").unwrap_err();
        assert!(
            e.message.starts_with("`rules.loopback-bind.severity`"),
            "{}",
            e.message
        );
        let e = parse("[rules.no-such-rule]\nenabled = true").unwrap_err();
        assert!(
            e.message.contains("unknown rule `no-such-rule`"),
            "{}",
            e.message
        );
    }
}
