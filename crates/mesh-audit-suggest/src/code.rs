//! Code suggestions for the rules a mesh cannot fix from outside the pod:
//! binds, health endpoints, shutdown. Each gets replacement code for the
//! framework in use and, where the fix is a local edit of one literal, a
//! `replacement` that renderers turn into a quick fix.

use mesh_audit_model::{Finding, Replacement, Suggestion, TextRange};

/// The server framework, guessed from the span and the file's text; it only
/// decides how the suggested code is spelt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framework {
    Tokio,
    Std,
    Actix,
    Tonic,
    Warp,
    Hyper,
    Axum,
}

fn framework(span: &str, file: &str) -> Framework {
    if span.contains("HttpServer") || (file.contains("actix_web") && span.contains(".bind(")) {
        Framework::Actix
    } else if span.contains("std::net::TcpListener") {
        Framework::Std
    } else if span.contains("warp::serve") || (file.contains("warp::") && span.contains(".run(")) {
        Framework::Warp
    } else if file.contains("tonic::") || span.contains("Server::builder") {
        Framework::Tonic
    } else if span.contains("Server::bind") || span.contains("Server::try_bind") {
        Framework::Hyper
    } else if file.contains("tokio::net")
        || span.contains(".await")
        || file.contains("#[tokio::main]")
    {
        if file.contains("axum") {
            Framework::Axum
        } else {
            Framework::Tokio
        }
    } else if file.contains("std::net::TcpListener") {
        Framework::Std
    } else {
        Framework::Tokio
    }
}

const PORT_FROM_ENV: &str =
    "let port: u16 = std::env::var(\"PORT\").ok().and_then(|p| p.parse().ok()).unwrap_or(DEFAULT);";

fn port_line(default_port: Option<u16>) -> String {
    match default_port {
        Some(p) => PORT_FROM_ENV.replace("DEFAULT", &p.to_string()),
        None => format!(
            "{}  // 8080: use your containerPort",
            PORT_FROM_ENV.replace("DEFAULT", "8080")
        ),
    }
}

fn listen_code(fw: Framework, v6: bool, default_port: Option<u16>) -> String {
    let any = if v6 { "\"::\"" } else { "\"0.0.0.0\"" };
    let any_addr = if v6 {
        "std::net::Ipv6Addr::UNSPECIFIED"
    } else {
        "std::net::Ipv4Addr::UNSPECIFIED"
    };
    let bind = match fw {
        Framework::Tokio | Framework::Axum => {
            format!("let listener = tokio::net::TcpListener::bind(({any}, port)).await?;")
        }
        Framework::Std => format!("let listener = std::net::TcpListener::bind(({any}, port))?;"),
        Framework::Actix => format!("HttpServer::new(app).bind(({any}, port))?.run().await?;"),
        Framework::Tonic => format!(
            "let addr = std::net::SocketAddr::from(({any_addr}, port));\nServer::builder().add_service(service).serve(addr).await?;"
        ),
        Framework::Warp => format!("warp::serve(routes).run(({any_addr}, port)).await;"),
        Framework::Hyper => format!(
            "let addr = std::net::SocketAddr::from(({any_addr}, port));\nlet server = Server::bind(&addr);"
        ),
    };
    format!("{}\n{bind}", port_line(default_port))
}

/// Code suggestions for a finding of a non-policy rule; empty for rules this
/// crate has nothing to say about.
pub fn code_suggestions(finding: &Finding, source: Option<&str>) -> Vec<Suggestion> {
    let span = source.and_then(|s| span_text(s, &finding.range));
    let span_str = span.map(|(_, t)| t).unwrap_or("");
    let file = source.unwrap_or("");
    let fw = framework(span_str, file);
    let port = finding
        .value("port")
        .and_then(|p| p.trim().parse::<u16>().ok())
        .filter(|p| *p != 0);
    match finding.rule {
        "loopback-bind" => {
            let v6 = finding
                .value("host")
                .is_some_and(|h| h.contains(':'));
            let replacement = source.and_then(|s| loopback_replacement(s, &finding.range));
            let note = if replacement.is_some() {
                "Bind every interface: the sidecar and kubelet probes reach the app on the pod IP, not on loopback. The quick fix swaps the address; the code below also reads the port from PORT."
            } else {
                "Bind every interface: the sidecar and kubelet probes reach the app on the pod IP, not on loopback. Read the port from PORT."
            };
            vec![Suggestion {
                kind: "code".into(),
                yaml: None,
                code: Some(listen_code(fw, v6, port)),
                note: note.into(),
                replacement,
            }]
        }
        "ephemeral-port" => {
            let host = finding.value("host").unwrap_or("0.0.0.0");
            let v6 = host.contains(':');
            vec![Suggestion {
                kind: "code".into(),
                yaml: None,
                code: Some(listen_code(fw, v6, None)),
                note: "Port 0 picks a random port that no Service, probe or sidecar config can name; bind the port the Deployment declares, read from PORT.".into(),
                replacement: None,
            }]
        }
        "missing-health-endpoint" => vec![Suggestion {
            kind: "code".into(),
            yaml: None,
            code: Some(health_code(fw)),
            note: "Serve a cheap health endpoint on the app's own port and point the readiness and liveness probes at it; Istio rewrites the probes through the sidecar.".into(),
            replacement: None,
        }],
        "health-checks-dependencies" => vec![Suggestion {
            kind: "code".into(),
            yaml: None,
            code: Some(
                "// Liveness says only that this process can serve; a failing dependency\n// must not restart every pod at once. Check dependencies in readiness, if at all.\nasync fn livez() -> &'static str {\n    \"ok\"\n}"
                    .into(),
            ),
            note: "Keep dependency checks out of liveness; the mesh's outlier detection and retries handle a failing dependency.".into(),
            replacement: None,
        }],
        rule if rule.contains("shutdown") || rule.contains("exit") => vec![Suggestion {
            kind: "code".into(),
            yaml: None,
            code: Some(shutdown_code(fw)),
            note: "Stop on SIGTERM by draining in-flight requests; the sidecar keeps routing until the pod is removed from endpoints.".into(),
            replacement: None,
        }],
        _ => Vec::new(),
    }
}

fn health_code(fw: Framework) -> String {
    match fw {
        Framework::Actix => "App::new().route(\"/healthz\", web::get().to(|| async { \"ok\" }))".into(),
        Framework::Warp => "let healthz = warp::path!(\"healthz\").map(|| \"ok\");\nlet routes = healthz.or(routes);".into(),
        Framework::Tonic => "let (health_reporter, health_service) = tonic_health::server::health_reporter();\nServer::builder().add_service(health_service).add_service(service)".into(),
        _ => "let app = app.route(\"/healthz\", axum::routing::get(|| async { \"ok\" }));".into(),
    }
}

fn shutdown_code(fw: Framework) -> String {
    let signal = "async fn shutdown_signal() {\n    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())\n        .expect(\"install SIGTERM handler\");\n    tokio::select! { _ = term.recv() => {}, _ = tokio::signal::ctrl_c() => {} }\n}";
    let serve = match fw {
        Framework::Tonic => "Server::builder().add_service(service).serve_with_shutdown(addr, shutdown_signal()).await?;",
        Framework::Actix => "// actix-web stops gracefully on SIGTERM by itself; keep HttpServer::shutdown_timeout above the pod's drain time.",
        _ => "axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;",
    };
    format!("{signal}\n\n{serve}")
}

/// The text of `range` in `source`, with its byte offset. Uses the byte
/// offsets when they agree with the text, else the line/column pair; `None`
/// when neither fits the file (a stale or foreign range).
fn span_text<'s>(source: &'s str, range: &TextRange) -> Option<(usize, &'s str)> {
    let from_bytes = {
        let (a, b) = (range.byte_start as usize, range.byte_end as usize);
        (a < b && b <= source.len() && source.is_char_boundary(a) && source.is_char_boundary(b))
            .then_some((a, b))
    };
    let from_lines = match (
        offset_of(source, range.line, range.column),
        offset_of(source, range.end_line, range.end_column),
    ) {
        (Some(a), Some(b)) if a < b => Some((a, b)),
        _ => None,
    };
    let (a, b) = match (from_bytes, from_lines) {
        (Some(bytes), Some(lines)) if bytes == lines => bytes,
        (_, Some(lines)) => lines,
        (Some(bytes), None) => bytes,
        (None, None) => return None,
    };
    Some((a, &source[a..b]))
}

/// Byte offset of a 1-based line and 1-based character column.
fn offset_of(source: &str, line: u32, column: u32) -> Option<usize> {
    if line == 0 || column == 0 {
        return None;
    }
    let mut start = 0usize;
    for _ in 1..line {
        start += source[start..].find('\n')? + 1;
    }
    let line_text = source[start..].split('\n').next().unwrap_or("");
    let col = (column - 1) as usize;
    if col == line_text.chars().count() {
        return Some(start + line_text.len());
    }
    line_text.char_indices().nth(col).map(|(i, _)| start + i)
}

/// 1-based line and character column of a byte offset.
fn position_of(source: &str, offset: usize) -> (u32, u32) {
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = source[line_start..offset].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// One place in the span that names a loopback address, and what replaces it.
struct Candidate {
    start: usize,
    end: usize,
    text: String,
}

/// A replacement of the one loopback address in the bind call, if there is
/// exactly one; two or more would make the edit a guess.
fn loopback_replacement(source: &str, range: &TextRange) -> Option<Replacement> {
    let (base, span) = span_text(source, range)?;
    let mut found = Vec::new();
    string_candidates(span, &mut found);
    token_candidates(span, &mut found);
    let [only] = found.as_slice() else {
        return None;
    };
    let (start, end) = (base + only.start, base + only.end);
    let (line, column) = position_of(source, start);
    let (end_line, end_column) = position_of(source, end);
    Some(Replacement {
        line,
        column,
        end_line,
        end_column,
        byte_start: u32::try_from(start).ok()?,
        byte_end: u32::try_from(end).ok()?,
        text: only.text.clone(),
        applicability: "MaybeIncorrect".into(),
    })
}

/// Plain `"..."` literals whose content is a loopback address, with or
/// without a port. Raw and escaped strings are left alone: rewriting them
/// correctly is not worth the risk for a quick fix.
fn string_candidates(span: &str, found: &mut Vec<Candidate>) {
    let bytes = span.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i + 1;
        let mut escaped = false;
        while j < bytes.len() && bytes[j] != b'"' {
            escaped |= bytes[j] == b'\\';
            j += 1;
        }
        if j >= bytes.len() {
            return;
        }
        let raw_prefix = start > 0 && matches!(bytes[start - 1], b'r' | b'#' | b'b');
        if !escaped && !raw_prefix {
            if let Some(new) = unspecified_for(&span[start + 1..j]) {
                found.push(Candidate {
                    start,
                    end: j + 1,
                    text: format!("\"{new}\""),
                });
            }
        }
        i = j + 1;
    }
}

/// `Ipv4Addr::LOCALHOST`, `Ipv6Addr::LOCALHOST` and the `127, 0, 0, 1` of
/// `[127, 0, 0, 1]` / `Ipv4Addr::new(127, 0, 0, 1)`.
fn token_candidates(span: &str, found: &mut Vec<Candidate>) {
    for (pattern, text) in [
        ("Ipv4Addr::LOCALHOST", "Ipv4Addr::UNSPECIFIED"),
        ("Ipv6Addr::LOCALHOST", "Ipv6Addr::UNSPECIFIED"),
    ] {
        for (i, _) in span.match_indices(pattern) {
            found.push(Candidate {
                start: i,
                end: i + pattern.len(),
                text: text.into(),
            });
        }
    }
    let bytes = span.as_bytes();
    for (i, _) in span.match_indices("127") {
        if i > 0
            && (bytes[i - 1].is_ascii_alphanumeric()
                || bytes[i - 1] == b'_'
                || bytes[i - 1] == b'.')
        {
            continue;
        }
        let mut j = i + 3;
        let mut numbers = vec![127u32];
        while numbers.len() < 4 {
            let rest = &span[j..];
            let trimmed = rest.trim_start();
            let Some(after_comma) = trimmed.strip_prefix(',') else {
                break;
            };
            let after_ws = after_comma.trim_start();
            let digits: String = after_ws.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                break;
            }
            let Ok(n) = digits.parse::<u32>() else { break };
            numbers.push(n);
            j = span.len() - after_ws.len() + digits.len();
        }
        let next_is_ident = span[j..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if numbers.len() == 4 && numbers.iter().all(|n| *n <= 255) && !next_is_ident {
            found.push(Candidate {
                start: i,
                end: j,
                text: "0, 0, 0, 0".into(),
            });
        }
    }
}

/// The any-address form of a loopback address literal, port kept.
fn unspecified_for(text: &str) -> Option<String> {
    let is_v4_loopback = |h: &str| {
        let parts: Vec<&str> = h.split('.').collect();
        parts.len() == 4
            && parts[0] == "127"
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
    };
    let valid_port = |p: &str| !p.is_empty() && p.parse::<u16>().is_ok();
    if text.eq_ignore_ascii_case("localhost") || is_v4_loopback(text) {
        return Some("0.0.0.0".into());
    }
    if text == "::1" || text == "[::1]" {
        return Some("::".into());
    }
    if let Some(port) = text.strip_prefix("[::1]:") {
        return valid_port(port).then(|| format!("[::]:{port}"));
    }
    let (host, port) = text.rsplit_once(':')?;
    if !valid_port(port) {
        return None;
    }
    if host.eq_ignore_ascii_case("localhost") || is_v4_loopback(host) {
        return Some(format!("0.0.0.0:{port}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{finding, finding_at};

    fn replacement_for(src: &str, needle: &str) -> Option<Replacement> {
        let start = src.find(needle).unwrap();
        let range = range_of(src, start, start + needle.len());
        loopback_replacement(src, &range)
    }

    fn range_of(src: &str, start: usize, end: usize) -> TextRange {
        let (line, column) = position_of(src, start);
        let (end_line, end_column) = position_of(src, end);
        TextRange {
            line,
            column,
            end_line,
            end_column,
            byte_start: start as u32,
            byte_end: end as u32,
        }
    }

    #[test]
    fn swaps_the_one_address_literal() {
        let src = "fn main() {\n    let l = TcpListener::bind(\"127.0.0.1:8080\").await?;\n}\n";
        let r = replacement_for(src, "TcpListener::bind(\"127.0.0.1:8080\")").unwrap();
        assert_eq!(r.text, "\"0.0.0.0:8080\"");
        assert_eq!((r.line, r.column, r.end_line, r.end_column), (2, 31, 2, 47));
        assert_eq!(
            &src[r.byte_start as usize..r.byte_end as usize],
            "\"127.0.0.1:8080\""
        );
        assert_eq!(r.applicability, "MaybeIncorrect");
    }

    #[test]
    fn other_address_forms() {
        let cases = [
            ("bind(\"localhost:3000\")", "\"0.0.0.0:3000\""),
            ("bind(\"[::1]:50051\")", "\"[::]:50051\""),
            ("bind((\"127.0.0.1\", 8080))", "\"0.0.0.0\""),
            ("bind((\"::1\", 8080))", "\"::\""),
            ("SocketAddr::from(([127, 0, 0, 1], 3000))", "0, 0, 0, 0"),
            (
                "SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 3000)",
                "Ipv4Addr::UNSPECIFIED",
            ),
            (
                "SocketAddr::from((Ipv6Addr::LOCALHOST, 3000))",
                "Ipv6Addr::UNSPECIFIED",
            ),
        ];
        for (code, want) in cases {
            let src = format!("// é multi-byte before\nlet x = {code};\n");
            let r = replacement_for(&src, code).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(r.text, want, "{code}");
            let mut fixed = src.clone();
            fixed.replace_range(r.byte_start as usize..r.byte_end as usize, &r.text);
            assert!(
                !fixed.contains("127.0.0.1") && !fixed.contains("localhost"),
                "{fixed}"
            );
        }
    }

    #[test]
    fn no_replacement_when_ambiguous_or_unknown() {
        for code in [
            "bind(format!(\"{}:{}\", host, port))",
            "bind(addr)",
            "bind(if a { \"127.0.0.1:1\" } else { \"127.0.0.1:2\" })",
            "bind(\"127.0.0.1:99999\")",
            "bind(r\"127.0.0.1:80\")",
            "bind(\"127.0.0.1\\x3a80\")",
        ] {
            let src = format!("let x = {code};\n");
            assert!(replacement_for(&src, code).is_none(), "{code}");
        }
    }

    #[test]
    fn bad_ranges_do_not_panic() {
        let src = "é\n";
        for range in [
            TextRange {
                line: 9,
                column: 1,
                end_line: 9,
                end_column: 4,
                byte_start: 50,
                byte_end: 90,
            },
            TextRange {
                line: 1,
                column: 2,
                end_line: 1,
                end_column: 1,
                byte_start: 1,
                byte_end: 2,
            },
            TextRange::default(),
        ] {
            assert!(loopback_replacement(src, &range).is_none());
        }
    }

    #[test]
    fn line_columns_win_over_stale_bytes() {
        let src = "let a = 1;\nbind(\"127.0.0.1:80\")\n";
        let mut range = range_of(src, 11, src.len() - 1);
        range.byte_start = 0;
        range.byte_end = 3;
        let r = loopback_replacement(src, &range).unwrap();
        assert_eq!((r.line, r.column), (2, 6));
    }

    #[test]
    fn code_follows_the_framework() {
        let f = finding_at(
            "loopback-bind",
            "src/main.rs",
            &[("host", "127.0.0.1"), ("port", "8080")],
            (2, 9, 2, 44),
        );
        let src =
            "use tokio::net::TcpListener;\nlet l = TcpListener::bind(\"127.0.0.1:8080\").await?;\n";
        let s = code_suggestions(&f, Some(src));
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].kind, "code");
        assert_eq!(
            s[0].code.as_deref(),
            Some("let port: u16 = std::env::var(\"PORT\").ok().and_then(|p| p.parse().ok()).unwrap_or(8080);\nlet listener = tokio::net::TcpListener::bind((\"0.0.0.0\", port)).await?;")
        );
        assert_eq!(s[0].replacement.as_ref().unwrap().text, "\"0.0.0.0:8080\"");

        let actix =
            "use actix_web::HttpServer;\nHttpServer::new(app).bind((\"127.0.0.1\", 8080))?\n";
        let f = finding_at(
            "loopback-bind",
            "src/main.rs",
            &[("host", "127.0.0.1"), ("port", "8080")],
            (2, 1, 2, 47),
        );
        let s = code_suggestions(&f, Some(actix));
        assert!(s[0]
            .code
            .as_deref()
            .unwrap()
            .contains("HttpServer::new(app).bind((\"0.0.0.0\", port))"));
        assert_eq!(s[0].replacement.as_ref().unwrap().text, "\"0.0.0.0\"");
    }

    #[test]
    fn without_source_there_is_code_but_no_replacement() {
        let f = finding("loopback-bind", "src/main.rs", 2, &[("host", "::1")]);
        let s = code_suggestions(&f, None);
        assert!(s[0].replacement.is_none());
        assert!(s[0].code.as_deref().unwrap().contains("(\"::\", port)"));
        assert!(s[0]
            .code
            .as_deref()
            .unwrap()
            .contains("use your containerPort"));
        let f = finding("ephemeral-port", "src/main.rs", 2, &[("host", "0.0.0.0")]);
        let s = code_suggestions(&f, None);
        assert!(s[0]
            .code
            .as_deref()
            .unwrap()
            .contains("std::env::var(\"PORT\")"));
        assert!(code_suggestions(&finding("some-new-rule", "a.rs", 1, &[]), None).is_empty());
    }
}
