//! A small YAML writer over the typed manifest model.
//!
//! The model is serialised with serde into an ordered [`Node`] tree (field
//! order as declared, which is the order people expect in Kubernetes YAML),
//! then written in block style with comments attached by path. Writing it here
//! keeps the only maintained-and-advisory-free option, and comments, in our
//! hands: serde-based YAML crates cannot place comments at all.
//!
//! `null` cannot be produced: the serializer refuses `None` and unit, so an
//! optional field that is not skipped is an error, never `key: null`.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::ser::{self, Serialize};

/// An ordered YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// Comments placed by path. A path is the keys and sequence indices from the
/// document root joined with `.`, e.g. `spec.http.0.retries.attempts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comments {
    /// Printed at the top of the document.
    pub header: Vec<String>,
    /// Printed on the lines just above the key at this path.
    pub before: BTreeMap<String, Vec<String>>,
    /// Printed after the last entry of the mapping at this path, at the
    /// indentation of its keys (for commented-out fields).
    pub end: BTreeMap<String, Vec<String>>,
}

impl Comments {
    pub fn add_before(&mut self, path: &str, line: impl Into<String>) {
        self.before
            .entry(path.to_string())
            .or_default()
            .push(line.into());
    }

    pub fn add_end(&mut self, path: &str, line: impl Into<String>) {
        self.end
            .entry(path.to_string())
            .or_default()
            .push(line.into());
    }

    pub fn is_empty(&self) -> bool {
        self.header.is_empty() && self.before.is_empty() && self.end.is_empty()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmitError {
    #[error("the manifest model produced a null value at `{0}`")]
    Null(String),
    #[error("the manifest model used a value YAML output does not support: {0}")]
    Unsupported(String),
    #[error("a mapping key is not a string")]
    KeyNotString,
}

impl ser::Error for EmitError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        EmitError::Unsupported(msg.to_string())
    }
}

/// Serialises `value` into a [`Node`].
pub fn to_node<T: Serialize + ?Sized>(value: &T) -> Result<Node, EmitError> {
    value.serialize(NodeSerializer)
}

/// Serialises and writes one YAML document (no `---`).
pub fn to_yaml<T: Serialize + ?Sized>(value: &T, comments: &Comments) -> Result<String, EmitError> {
    let node = to_node(value)?;
    let mut out = String::new();
    for line in &comments.header {
        write_comment(&mut out, 0, line);
    }
    match &node {
        Node::Map(entries) => write_map(&mut out, entries, 0, "", comments, None),
        Node::Seq(items) => write_seq(&mut out, items, 0, "", comments),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    Ok(out)
}

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Comment text comes partly from file paths in the audited repository; a
/// line break in one would end the comment and inject YAML, so every
/// character YAML treats as a break (and every other control character) goes.
fn write_comment(out: &mut String, indent: usize, text: &str) {
    for line in text.split('\n') {
        let clean: String = line
            .chars()
            .map(|c| {
                if c.is_control() || matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}') {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let clean = clean.trim_end();
        push_indent(out, indent);
        if clean.is_empty() {
            out.push_str("#\n");
        } else {
            out.push_str("# ");
            out.push_str(clean);
            out.push('\n');
        }
    }
}

fn push_indent(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// `first_prefix` replaces the indentation of the first key when the mapping
/// is an item of a sequence (`- key: value`).
fn write_map(
    out: &mut String,
    entries: &[(String, Node)],
    indent: usize,
    path: &str,
    comments: &Comments,
    first_prefix: Option<&str>,
) {
    for (i, (key, value)) in entries.iter().enumerate() {
        let key_path = child_path(path, key);
        if let Some(lines) = comments.before.get(&key_path) {
            // Before the first key of a sequence item the comment goes
            // above the item's `- `, at the dash's indentation.
            let at = match (i, first_prefix) {
                (0, Some(_)) => indent.saturating_sub(2),
                _ => indent,
            };
            for line in lines {
                write_comment(out, at, line);
            }
        }
        match (i, first_prefix) {
            (0, Some(prefix)) => out.push_str(prefix),
            _ => push_indent(out, indent),
        }
        out.push_str(&scalar_text(&Node::Str(key.clone())));
        out.push(':');
        write_value(out, value, indent, &key_path, comments);
    }
    if let Some(lines) = comments.end.get(path) {
        for line in lines {
            write_comment(out, indent, line);
        }
    }
}

/// Writes what follows `key:` (or `-`) for `value`, whose parent is at `indent`.
fn write_value(out: &mut String, value: &Node, indent: usize, path: &str, comments: &Comments) {
    match value {
        Node::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Node::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Node::Map(entries) => {
            out.push('\n');
            write_map(out, entries, indent + 2, path, comments, None);
        }
        Node::Seq(items) => {
            out.push('\n');
            write_seq(out, items, indent, path, comments);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Node], indent: usize, path: &str, comments: &Comments) {
    for (i, item) in items.iter().enumerate() {
        let item_path = child_path(path, &i.to_string());
        match item {
            Node::Map(entries) if !entries.is_empty() => {
                let mut prefix = String::new();
                push_indent(&mut prefix, indent);
                prefix.push_str("- ");
                write_map(
                    out,
                    entries,
                    indent + 2,
                    &item_path,
                    comments,
                    Some(&prefix),
                );
            }
            Node::Seq(inner) if !inner.is_empty() => {
                push_indent(out, indent);
                out.push_str("-\n");
                write_seq(out, inner, indent + 2, &item_path, comments);
            }
            other => {
                push_indent(out, indent);
                out.push('-');
                write_value(out, other, indent, &item_path, comments);
            }
        }
    }
}

fn scalar_text(node: &Node) -> String {
    match node {
        Node::Bool(b) => b.to_string(),
        Node::Int(i) => i.to_string(),
        Node::Float(f) => {
            if f.is_finite() {
                format!("{f:?}")
            } else if f.is_nan() {
                ".nan".to_string()
            } else if *f > 0.0 {
                ".inf".to_string()
            } else {
                "-.inf".to_string()
            }
        }
        Node::Str(s) => {
            if is_plain_safe(s) {
                s.clone()
            } else {
                double_quoted(s)
            }
        }
        Node::Seq(_) | Node::Map(_) => String::new(),
    }
}

/// Words that YAML 1.1 or 1.2 parsers read as booleans or null.
const RESERVED: &[&str] = &[
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
];

/// A string may go unquoted only when no YAML 1.1 or 1.2 parser could read it
/// as anything but that string. The test is deliberately narrow: anything
/// unusual is quoted, which is always correct.
fn is_plain_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || first == '_' || first == '/') {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | ',' | '+'))
    {
        return false;
    }
    if RESERVED.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return false;
    }
    !looks_numeric(s)
}

/// Integers, floats, `0x`/`0o`/`0b` forms, YAML 1.1 sexagesimal, dates:
/// anything made only of digits and number punctuation, plus `.inf`/`.nan`.
fn looks_numeric(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let bare = lower.trim_start_matches(['+', '-']);
    if matches!(bare, ".inf" | ".nan" | "inf" | "nan" | "infinity") {
        return true;
    }
    for prefix in ["0x", "0o", "0b"] {
        if let Some(rest) = bare.strip_prefix(prefix) {
            if rest.bytes().all(|b| b.is_ascii_hexdigit() || b == b'_') {
                return true;
            }
        }
    }
    bare.bytes().any(|b| b.is_ascii_digit())
        && bare
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'+' | b'-' | b':' | b'e'))
}

fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct NodeSerializer;

macro_rules! int_methods {
    ($($name:ident: $ty:ty),*) => {
        $(fn $name(self, v: $ty) -> Result<Node, EmitError> { Ok(Node::Int(i128::from(v))) })*
    };
}

impl ser::Serializer for NodeSerializer {
    type Ok = Node;
    type Error = EmitError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = ser::Impossible<Node, EmitError>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = ser::Impossible<Node, EmitError>;

    fn serialize_bool(self, v: bool) -> Result<Node, EmitError> {
        Ok(Node::Bool(v))
    }

    int_methods!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);

    fn serialize_f32(self, v: f32) -> Result<Node, EmitError> {
        Ok(Node::Float(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<Node, EmitError> {
        Ok(Node::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Node, EmitError> {
        Ok(Node::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Node, EmitError> {
        Ok(Node::Str(v.to_string()))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Node, EmitError> {
        Err(EmitError::Unsupported("bytes".into()))
    }
    fn serialize_none(self) -> Result<Node, EmitError> {
        Err(EmitError::Null(String::new()))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Node, EmitError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Node, EmitError> {
        Err(EmitError::Null(String::new()))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Node, EmitError> {
        Err(EmitError::Null(String::new()))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Node, EmitError> {
        Ok(Node::Str(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Node, EmitError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Node, EmitError> {
        Ok(Node::Map(vec![(
            variant.to_string(),
            value.serialize(self)?,
        )]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, EmitError> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, EmitError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<SeqBuilder, EmitError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, EmitError> {
        Err(EmitError::Unsupported(format!("tuple variant in {name}")))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, EmitError> {
        Ok(MapBuilder {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapBuilder, EmitError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, EmitError> {
        Err(EmitError::Unsupported(format!("struct variant in {name}")))
    }
}

struct SeqBuilder(Vec<Node>);

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Node;
    type Error = EmitError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EmitError> {
        self.0.push(value.serialize(NodeSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Node, EmitError> {
        Ok(Node::Seq(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Node;
    type Error = EmitError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EmitError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, EmitError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Node;
    type Error = EmitError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EmitError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, EmitError> {
        ser::SerializeSeq::end(self)
    }
}

struct MapBuilder {
    entries: Vec<(String, Node)>,
    key: Option<String>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Node;
    type Error = EmitError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), EmitError> {
        match key.serialize(NodeSerializer)? {
            Node::Str(s) => {
                self.key = Some(s);
                Ok(())
            }
            // Integer keys (port maps) are written as strings, as Kubernetes does.
            Node::Int(i) => {
                self.key = Some(i.to_string());
                Ok(())
            }
            _ => Err(EmitError::KeyNotString),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), EmitError> {
        let key = self.key.take().ok_or(EmitError::KeyNotString)?;
        let node = value.serialize(NodeSerializer).map_err(|e| match e {
            EmitError::Null(p) if p.is_empty() => EmitError::Null(key.clone()),
            EmitError::Null(p) => EmitError::Null(format!("{key}.{p}")),
            other => other,
        })?;
        self.entries.push((key, node));
        Ok(())
    }
    fn end(self) -> Result<Node, EmitError> {
        Ok(Node::Map(self.entries))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Node;
    type Error = EmitError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), EmitError> {
        ser::SerializeMap::serialize_key(self, key)?;
        ser::SerializeMap::serialize_value(self, value)
    }
    fn end(self) -> Result<Node, EmitError> {
        Ok(Node::Map(self.entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        retry_on: String,
        attempts: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        per_try_timeout: Option<String>,
    }

    #[derive(Serialize)]
    struct Outer {
        name: String,
        list: Vec<Inner>,
        words: Vec<String>,
        labels: BTreeMap<String, String>,
    }

    #[test]
    fn writes_block_yaml_in_declared_order_with_comments() {
        let value = Outer {
            name: "pricing".into(),
            list: vec![Inner {
                retry_on: "5xx,connect-failure".into(),
                attempts: 3,
                per_try_timeout: None,
            }],
            words: vec!["503".into(), "yes".into(), "a: b".into(), "x #y".into()],
            labels: BTreeMap::from([("app".to_string(), "REPLACE-ME".to_string())]),
        };
        let mut comments = Comments::default();
        comments.header.push("from src/a.rs:3".into());
        comments.add_before("list.0.retryOn", "first key");
        comments.add_before("list.0.attempts", "3 and 5\nfrom two places");
        comments.add_end("list.0", "backoff: 1s");
        let yaml = to_yaml(&value, &comments).unwrap();
        assert_eq!(
            yaml,
            "# from src/a.rs:3\n\
             name: pricing\n\
             list:\n\
             # first key\n\
             - retryOn: 5xx,connect-failure\n\
             \x20 # 3 and 5\n\
             \x20 # from two places\n\
             \x20 attempts: 3\n\
             \x20 # backoff: 1s\n\
             words:\n\
             - \"503\"\n\
             - \"yes\"\n\
             - \"a: b\"\n\
             - \"x #y\"\n\
             labels:\n\
             \x20 app: REPLACE-ME\n"
        );
    }

    #[test]
    fn none_is_an_error_not_null() {
        #[derive(Serialize)]
        struct WithNone {
            a: Option<u32>,
        }
        assert_eq!(
            to_node(&WithNone { a: None }),
            Err(EmitError::Null("a".into()))
        );
    }

    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "",
            "503",
            "1.5",
            "0x1f",
            "0o17",
            "1e3",
            "1_000",
            "1:30",
            "2024-01-01",
            "true",
            "No",
            "ON",
            "~",
            "null",
            ".inf",
            "-.INF",
            ".nan",
            " lead",
            "trail ",
            "-x",
            "?x",
            "*a",
            "&a",
            "!t",
            "%x",
            "@x",
            "`x",
            "[a]",
            "{a}",
            "a: b",
            "a #b",
            "#x",
            "'q'",
            "\"q\"",
            "|",
            ">",
            "a\nb",
            "=",
            "<<",
        ] {
            assert!(!is_plain_safe(s), "{s:?} must be quoted");
        }
        for s in [
            "5xx",
            "2s",
            "500ms",
            "pricing.shop.svc.cluster.local",
            "a-b",
            "ISTIO_MUTUAL",
            "app.kubernetes.io/name",
        ] {
            assert!(is_plain_safe(s), "{s:?} may be plain");
        }
    }

    #[test]
    fn comments_cannot_inject_yaml() {
        let mut out = String::new();
        write_comment(&mut out, 2, "src/evil\rkind: Secret\u{2028}x: 1\u{85}y");
        assert_eq!(out.lines().count(), 1, "{out}");
        let mut out = String::new();
        write_comment(&mut out, 0, "a\nb");
        assert_eq!(out, "# a\n# b\n");
    }

    #[test]
    fn escapes_in_double_quotes() {
        assert_eq!(double_quoted("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }

    #[test]
    fn any_string_round_trips_through_a_yaml_parser() {
        let mut samples: Vec<String> = [
            "",
            " ",
            "503",
            "5xx",
            "yes",
            "No",
            "~",
            "null",
            "a: b",
            "a #b",
            "#",
            "-",
            "- x",
            "? x",
            ": x",
            "'",
            "\"",
            "\\",
            "\n",
            "a\r\nb",
            "\t",
            "\u{0}",
            "\u{7f}",
            "\u{85}",
            "\u{2028}",
            "\u{feff}x",
            "日本語",
            "é",
            "💥",
            "{a: 1}",
            "[1]",
            "&anchor",
            "*alias",
            "!tag",
            "%YAML",
            "@x",
            "`x",
            "|",
            ">",
            "1e3",
            "0x1F",
            "0o17",
            ".inf",
            "-.NaN",
            "1:30",
            "2024-01-01",
            "=",
            "<<",
            "---",
            "...",
            "a---b",
            "trailing ",
            " leading",
            "x,y",
            "REPLACE-ME",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        samples.push((0u8..=127).map(char::from).collect());
        for sample in samples {
            let value = BTreeMap::from([(sample.clone(), vec![sample.clone()])]);
            let yaml = to_yaml(&value, &Comments::default()).unwrap();
            let docs = crate::validate::yaml_documents(&yaml)
                .unwrap_or_else(|e| panic!("{sample:?}: {e}\n{yaml}"));
            let expected = serde_json::json!({ sample.clone(): [sample.clone()] });
            assert_eq!(docs, vec![expected], "{sample:?}\n{yaml}");
        }
    }
}
