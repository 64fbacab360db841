//! Which crates can reach the network at all (before pass 1).
//!
//! Every rule reports code that talks to the network or serves it: a call
//! through an HTTP, gRPC or database client, a listener, a TLS set-up, a
//! retry or breaker crate around such a call. The analysis recognises each
//! of them by a path that starts at a crate it knows (`reqwest::Client`,
//! `tokio::net::TcpListener`, `rustls::ServerConfig`, `backon::Retryable`)
//! or at `std::net`. A crate reaches those only the way the compiler lets
//! it: by writing the crate's name in a path (`reqwest::`, `use tokio as
//! rt`), by a dependency renamed in its manifest (`http = { package =
//! "reqwest" }`), or through another workspace member that does.
//!
//! So a crate whose code writes no path through a network crate (comments,
//! strings and doc tests do not count), renames none in its manifest, and
//! is linked to no member that does (in either direction: its callers may
//! hand it network calls, its callees may make them) cannot produce a
//! finding, and its summary can change no other crate's: it is not parsed.
//! Most crates of a dependency tree or a large monorepo are such crates
//! (parsers, encodings, data types, numerics), and half the text of the
//! benchmark corpus (BENCHMARKS.md).
//!
//! Every test errs towards keeping a crate: text that does not lex as Rust
//! (an unterminated string or comment, a NUL byte) keeps it, so that its
//! error is reported; so does a suppression comment (its notes), a
//! manifest that cannot be read, and `--no-prefilter`. A hand-written
//! breaker in a crate that reaches no network guards something else (a
//! disk, a queue) or serves crates outside this audit, so it is not
//! reported either. `tests/network_reach.rs` checks that no positive rule
//! fixture would be skipped, and `bench/same-output.sh` that skipping
//! changes no finding on the corpus.

use std::collections::HashMap;
use std::path::Path;

use crate::discover::{DepKind, Discovered};

/// Crates whose paths the analysis reads as network clients, servers, TLS,
/// retries, breakers or metrics middleware, by the name code writes
/// (`-` as `_`). A crate the analysis learns goes here (or under a prefix
/// below); `tests/network_reach.rs` fails for a positive fixture whose
/// crate is missing.
const NETWORK_CRATES: &[&str] = &[
    "again",
    "alloy",
    "amqprs",
    "async_io",
    "async_nats",
    "async_net",
    "async_std",
    "awc",
    "axum",
    "backoff",
    "backon",
    "bb8",
    "capnp_rpc",
    "cdrs_tokio",
    "circuitbreaker_rs",
    "compio",
    "curl",
    "cyper",
    "deadpool",
    "diesel",
    "etcd_client",
    "ethers",
    "failsafe",
    "fred",
    "glommio",
    "grpcio",
    "h2",
    "h3",
    "hyper",
    "isahc",
    "jsonrpsee",
    "kube",
    "lapin",
    "lettre",
    "mailin",
    "memcache",
    "mio",
    "mongodb",
    "monoio",
    "msql_srv",
    "mysql",
    "native_tls",
    "nats",
    // `std::net`, `core::net`, `async_std::net`: the standard library's sockets.
    "net",
    "ntex",
    "object_store",
    "opensrv_mysql",
    "openssl",
    "opentelemetry",
    "paho_mqtt",
    "pgwire",
    "pingora",
    "poem",
    "postgres",
    "prometheus",
    "pulsar",
    "quiche",
    "quinn",
    "rdkafka",
    "recloser",
    "redis",
    "reqwest",
    "retry",
    "rocket",
    "rskafka",
    "ruma",
    "rumqttc",
    "rustls",
    "s2n_quic",
    "salvo",
    "samotop",
    "scylla",
    "sea_orm",
    "smol",
    "socket2",
    "sqlx",
    "surf",
    "tarpc",
    "tiberius",
    "tide",
    "tokio",
    "tonic",
    "tower",
    "tryhard",
    "tungstenite",
    "ureq",
    "warp",
    "webpki",
    "zmq",
    "zookeeper",
];

/// Families of crates named by a prefix (`aws_sdk_s3`, `tokio_rustls`,
/// `actix_web`, `tower_http`, `opentelemetry_otlp`).
const NETWORK_CRATE_PREFIXES: &[&str] = &[
    "actix",
    "alloy_",
    "async_tungstenite",
    "aws_",
    "axum_",
    "azure_",
    "bb8_",
    "deadpool_",
    "diesel_",
    "ethers_",
    "gcp_",
    "google_cloud",
    "grpc",
    "h2_",
    "h3_",
    "hickory_",
    "hyper_",
    "kube_",
    "ldap3",
    "mailin_",
    "mysql_",
    "ntex_",
    "openssl_",
    "opentelemetry_",
    "pingora_",
    "poem_",
    "postgres_",
    "quinn_",
    "redis_",
    "reqwest_",
    "rocket_",
    "ruma_",
    "rustls_",
    "salvo_",
    "sqlx_",
    "tokio_",
    "tonic_",
    "tower_",
    "trust_dns",
    "utoipa_actix",
    "warp_",
    "webpki_",
];

/// Whether code that names `name` (a crate, `-` as `_`) may reach the network.
pub fn is_network_crate(name: &str) -> bool {
    is_network_crate_word(&name.replace('-', "_"))
}

/// Whether `text` may reach the network: its code writes a path through a
/// network crate (`tokio::`, `reqwest::Client`, `std::net::..`, `use rustls
/// as tls`), or it holds a suppression comment, or it is not Rust tokens
/// the lexer would accept (unbalanced delimiters, an unterminated literal or
/// comment, a NUL byte: the parser then reports why). Comments, string
/// and character literals are skipped; an identifier counts only as the
/// first segment of a path or the subject of `as`, so a field or function
/// named `retry` or `net` does not.
pub fn names_network(text: &str) -> bool {
    let b = text.as_bytes();
    if text.contains("mesh-audit:") {
        return true;
    }
    let n = b.len();
    let mut i = 0;
    // Open delimiters: an unbalanced one is a lexer error to report.
    let mut open: Vec<u8> = Vec::new();
    while i < n {
        let c = b[i];
        match c {
            0 => return true,
            b'(' | b'[' | b'{' => {
                open.push(c);
                i += 1;
            }
            b')' | b']' | b'}' => {
                let opener = match c {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                if open.pop() != Some(opener) {
                    return true;
                }
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = memchr_from(b, b'\n', i).unwrap_or(n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => match skip_block_comment(b, i) {
                Some(end) => i = end,
                None => return true,
            },
            b'"' => match skip_string(b, i + 1) {
                Some(end) => i = end,
                None => return true,
            },
            b'\'' => match skip_char_or_lifetime(b, i) {
                Some(end) => i = end,
                None => return true,
            },
            b'0'..=b'9' => {
                // A number with its suffix (`1u8`, `0x1f`, `1e10`).
                i += 1;
                while i < n && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
            }
            _ if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let start = i;
                while i < n && (b[i] == b'_' || b[i].is_ascii_alphanumeric() || b[i] >= 0x80) {
                    i += 1;
                }
                // Always a character boundary: every branch stops at an
                // ASCII byte or the end; `get` keeps a mistake from panicking.
                let word = text.get(start..i).unwrap_or("");
                // String literal prefixes: `b"..."`, `r#"..."#`, `br".."`, `c".."`.
                if matches!(word, "b" | "c" | "r" | "br" | "cr") {
                    match literal_after_prefix(b, i, word.ends_with('r')) {
                        Literal::End(end) => {
                            i = end;
                            continue;
                        }
                        Literal::Unterminated => return true,
                        Literal::None => {}
                    }
                    // A raw identifier: `r#tokio`.
                    if word == "r" && b.get(i) == Some(&b'#') {
                        i += 1;
                        continue;
                    }
                }
                if path_start_or_renamed(b, i) && is_network_crate_word(word) {
                    return true;
                }
            }
            _ => i += 1,
        }
    }
    !open.is_empty()
}

/// `is_network_crate` without the allocation: `word` is already an
/// identifier (no `-`).
fn is_network_crate_word(word: &str) -> bool {
    NETWORK_CRATES.binary_search(&word).is_ok()
        || NETWORK_CRATE_PREFIXES.iter().any(|p| word.starts_with(p))
        // The rules' own crate lists, so that a crate a rule learns is
        // known here too.
        || crate::rules::retry_crate::RETRY_CRATES.contains(&word)
        || crate::rules::circuit_breaker::BREAKER_CRATES.contains(&word)
        || crate::analysis::tls::PUBLIC_ROOT_CRATES.contains(&word)
}

/// The identifier ending at `at` starts a path (`::` follows) or is renamed
/// (`as` follows: `use tokio as rt;`, `extern crate reqwest as http;`).
fn path_start_or_renamed(b: &[u8], mut at: usize) -> bool {
    while at < b.len() && b[at].is_ascii_whitespace() {
        at += 1;
    }
    let rest = &b[at.min(b.len())..];
    rest.starts_with(b"::")
        || (rest.starts_with(b"as")
            && rest
                .get(2)
                .is_none_or(|&c| !(c == b'_' || c.is_ascii_alphanumeric() || c >= 0x80)))
}

fn memchr_from(b: &[u8], needle: u8, from: usize) -> Option<usize> {
    b[from..]
        .iter()
        .position(|&c| c == needle)
        .map(|p| from + p)
}

/// The end of the (nested) block comment starting at `at`, or `None` when
/// it never ends.
fn skip_block_comment(b: &[u8], at: usize) -> Option<usize> {
    let (mut i, mut depth) = (at + 2, 1usize);
    while i + 1 < b.len() {
        match (b[i], b[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The end of a string whose body starts at `at` (after its `"`), escapes
/// read; `None` when it never ends.
fn skip_string(b: &[u8], mut at: usize) -> Option<usize> {
    while at < b.len() {
        match b[at] {
            b'\\' => at += 2,
            b'"' => return Some(at + 1),
            _ => at += 1,
        }
    }
    None
}

enum Literal {
    None,
    End(usize),
    Unterminated,
}

/// A string literal after its prefix (`b`, `c`, `r`, `br`, `cr`) ends at
/// `at`: where it ends, or `Literal::None` when no literal follows.
fn literal_after_prefix(b: &[u8], at: usize, raw: bool) -> Literal {
    if !raw {
        return match b.get(at) {
            Some(b'"') => skip_string(b, at + 1).map_or(Literal::Unterminated, Literal::End),
            // `b'x'`: a byte literal.
            Some(b'\'') => skip_char_or_lifetime(b, at).map_or(Literal::Unterminated, Literal::End),
            _ => Literal::None,
        };
    }
    let mut i = at;
    while b.get(i) == Some(&b'#') {
        i += 1;
    }
    if b.get(i) != Some(&b'"') {
        return Literal::None;
    }
    let hashes = i - at;
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == b'"'
            && b.len() - (j + 1) >= hashes
            && b[j + 1..j + 1 + hashes].iter().all(|&c| c == b'#')
        {
            return Literal::End(j + 1 + hashes);
        }
        j += 1;
    }
    Literal::Unterminated
}

/// After a `'` at `at`: a character literal (`'x'`, `'\n'`, `'\u{1F600}'`,
/// `'é'`) or a lifetime / label (`'a`, `'outer:`). The end of what was read.
fn skip_char_or_lifetime(b: &[u8], at: usize) -> Option<usize> {
    let next = *b.get(at + 1)?;
    if next == b'\\' {
        // An escape: the literal closes within a few bytes (`'\u{10FFFF}'`).
        let end = (at + 14).min(b.len());
        if at + 3 > end {
            return None;
        }
        return memchr_from(&b[..end], b'\'', at + 3).map(|p| p + 1);
    }
    // One character (1-4 bytes of UTF-8) and a closing quote.
    let width = match next {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    };
    if b.get(at + 1 + width) == Some(&b'\'') {
        return Some(at + 2 + width);
    }
    // A lifetime: its name is read as an identifier next (never a path).
    Some(at + 1)
}

/// Whether a manifest renames a network crate (`http = { package =
/// "reqwest" }`, also through `workspace = true` and the workspace's
/// `[workspace.dependencies]`): code then names it by the new name. Any
/// dependency table counts (tests and build scripts rename too). A
/// manifest that cannot be read counts as renaming one. The tables are
/// read as the audit reads them without cargo (`manifests.rs`).
pub fn manifest_renames_network(manifest: &Path) -> bool {
    crate::manifests::dependency_names(manifest).is_none_or(|deps| {
        deps.iter()
            .any(|(package, rename)| rename.is_some() && is_network_crate(package))
    })
}

/// The crates of an audit and which of them reach the network, as the
/// files' text is read (see the module doc). A file outside any package
/// (no manifest above it) is grouped with the folder it was found under,
/// as the crate index groups it.
pub struct Reach {
    /// Each file's crate.
    crate_of: Vec<usize>,
    crates: Vec<CrateReach>,
}

struct CrateReach {
    package: Option<usize>,
    /// Known before any text is read (the crate's name, its manifest), or
    /// since one of its files named a network crate.
    reaches: std::sync::atomic::AtomicBool,
}

impl Reach {
    /// The crates of `found`'s files, with what their names and manifests
    /// say.
    pub fn new(found: &Discovered) -> Reach {
        use std::sync::atomic::AtomicBool;
        let mut crate_of: Vec<usize> = Vec::with_capacity(found.files.len());
        let mut crates: Vec<CrateReach> = Vec::new();
        let mut at: HashMap<(Option<usize>, &Path), usize> = HashMap::default();
        for f in &found.files {
            let key = (f.package_index, f.package_root.as_path());
            let k = *at.entry(key).or_insert_with(|| {
                let known = f.package.as_deref().is_some_and(is_network_crate)
                    || match f.package_index {
                        Some(p) => found.packages[p].network_renames,
                        None => {
                            let manifest = f.package_root.join("Cargo.toml");
                            manifest.is_file() && manifest_renames_network(&manifest)
                        }
                    };
                crates.push(CrateReach {
                    package: f.package_index,
                    reaches: AtomicBool::new(known),
                });
                crates.len() - 1
            });
            crate_of.push(k);
        }
        Reach { crate_of, crates }
    }

    /// Whether the text of file `i` still needs reading: its crate is not
    /// yet known to reach the network.
    pub fn undecided(&self, file: usize) -> bool {
        !self.crates[self.crate_of[file]]
            .reaches
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// File `i`'s code names a network crate ([`names_network`]).
    pub fn names_network(&self, file: usize) {
        self.crates[self.crate_of[file]]
            .reaches
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Per file of `found`: its crate cannot reach the network, even
    /// through other workspace members; and the members (Cargo mode) whose
    /// files are all such.
    pub fn unreached(self, found: &Discovered) -> (Vec<bool>, Vec<usize>) {
        let mut reaches: Vec<bool> = self
            .crates
            .iter()
            .map(|c| c.reaches.load(std::sync::atomic::Ordering::Relaxed))
            .collect();
        if !found.packages.is_empty() {
            close_over_members(found, &self.crates, &mut reaches);
        }
        let members = self
            .crates
            .iter()
            .zip(&reaches)
            .filter(|(_, &r)| !r)
            .filter_map(|(c, _)| c.package)
            .collect();
        (
            self.crate_of.iter().map(|&k| !reaches[k]).collect(),
            members,
        )
    }
}

/// Cargo mode: a member that depends on one that reaches the network
/// reaches it through that one (its calls resolve into it), and a member
/// that one depends on is kept for it (it may run the calls handed to it:
/// a retry helper, a breaker). A member without files here (not selected,
/// `-p`) counts as reaching: its code is not read, so nothing says it
/// does not, and a package that uses it is no more `offline` than before.
fn close_over_members(found: &Discovered, crates: &[CrateReach], crate_reaches: &mut [bool]) {
    let members = found.packages.len();
    let mut reaches = vec![true; members];
    for c in crates {
        if let Some(p) = c.package {
            reaches[p] = false;
        }
    }
    for (c, &r) in crates.iter().zip(crate_reaches.iter()) {
        if let Some(p) = c.package {
            reaches[p] |= r;
        }
    }
    let index = found.package_indexes();
    let deps: Vec<Vec<usize>> = found
        .packages
        .iter()
        .map(|p| {
            p.member_deps
                .iter()
                .filter(|d| matches!(d.kind, DepKind::Normal | DepKind::Dev | DepKind::Build))
                .filter_map(|d| index.get(d.package.as_str()).copied())
                .collect()
        })
        .collect();
    // Up: dependents of a reaching member, to a fixed point.
    let mut changed = true;
    while changed {
        changed = false;
        for p in 0..members {
            if !reaches[p] && deps[p].iter().any(|&q| reaches[q]) {
                reaches[p] = true;
                changed = true;
            }
        }
    }
    // Down: what the reaching members depend on, transitively.
    let mut stack: Vec<usize> = (0..members).filter(|&p| reaches[p]).collect();
    while let Some(p) = stack.pop() {
        for &q in &deps[p] {
            if !reaches[q] {
                reaches[q] = true;
                stack.push(q);
            }
        }
    }
    for (c, r) in crates.iter().zip(crate_reaches.iter_mut()) {
        if let Some(p) = c.package {
            *r = reaches[p];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crate_lists_are_sorted_for_binary_search() {
        assert!(NETWORK_CRATES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn paths_through_network_crates() {
        for code in [
            "use reqwest::Client;",
            "fn f() { tokio::spawn(async {}); }",
            "use std::net::TcpListener;",
            "use std::{io, net::TcpStream};",
            "extern crate reqwest as http;",
            "use tokio as rt;",
            "use aws_sdk_s3 :: Client;",
            "#[tokio::main] async fn main() {}",
            "let c = actix_web::HttpServer::new(app);",
            "let r = r#tokio::spawn(f);",
        ] {
            assert!(names_network(code), "{code}");
        }
    }

    #[test]
    fn words_that_are_no_network_path() {
        for code in [
            "// tokio::spawn in a comment\nfn f() {}",
            "/* nested /* reqwest::get */ still a comment */ fn f() {}",
            "/// ```\n/// let c = reqwest::Client::new();\n/// ```\nfn f() {}",
            r#"const S: &str = "tokio::net::TcpStream";"#,
            r##"const S: &str = r#"reqwest::get("x")"#;"##,
            "const B: &[u8] = b\"hyper::Client\";",
            "fn retry(net: u32) -> u32 { let tokio = net; tokio }",
            "struct S { net: Net } fn f(s: S) { s.net.retry(); }",
            "fn f<'tokio>(x: &'tokio str) -> char { let c = 'n'; let d = '\\''; c }",
            "mod my_net { pub fn get() {} } fn f() { my_net::get(); }",
            "let retried = 3u8 as u32; let x = 0x1f;",
        ] {
            assert!(!names_network(code), "{code}");
        }
    }

    #[test]
    fn text_the_parser_rejects_is_kept_for_its_error() {
        assert!(names_network("fn f() { let s = \"unterminated; }"));
        assert!(names_network("fn f() {} /* never closed"));
        assert!(names_network("fn f() {}\0"));
        assert!(names_network("fn main() {\n    let x = foo(1, 2;\n}\n"));
        assert!(names_network("fn f() { g(); "));
        assert!(names_network("fn f() ] {}"));
        assert!(names_network(
            "// mesh-audit: ignore[retry-loop]\nfn f() {}"
        ));
    }

    #[test]
    fn crate_families_by_prefix() {
        assert!(is_network_crate("aws-sdk-dynamodb"));
        assert!(is_network_crate("tokio-rustls"));
        assert!(is_network_crate("actix-web"));
        assert!(!is_network_crate("serde"));
        assert!(!is_network_crate("netlink")); // a prefix of `net` is no `net`
        assert!(!is_network_crate("retry-policy-types"));
    }
}
