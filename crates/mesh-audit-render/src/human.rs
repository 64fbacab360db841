use std::fmt::Write;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use mesh_audit_model::{Finding, Report, Severity, Suggestion};

use crate::escape_controls as esc;

pub struct HumanOptions<'a> {
    pub color: bool,
    /// Print each finding's suggested mesh config or code under it.
    pub suggestions: bool,
    /// Also list suppressions that carry no reason.
    pub verbose: bool,
    /// Print the closing summary line (files, counts, time).
    pub summary: bool,
    /// The text of a report file, by its relative path; `None` prints the
    /// finding without a snippet.
    pub source: &'a dyn Fn(&str) -> Option<String>,
}

fn level(s: Severity) -> Level<'static> {
    match s {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

/// rustc-style diagnostics with the source underlined, then a summary.
pub fn render_human(report: &Report, opts: &HumanOptions<'_>) -> String {
    let renderer = if opts.color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    let mut cache: Option<(String, Option<String>)> = None;
    for f in &report.findings {
        if cache.as_ref().is_none_or(|(p, _)| *p != f.file) {
            cache = Some((f.file.clone(), (opts.source)(&f.file)));
        }
        let source = cache.as_ref().and_then(|(_, s)| s.as_deref());
        write_finding(&mut out, &renderer, f, source, opts.suggestions, opts.color);
        out.push('\n');
    }
    for e in &report.errors {
        let file = esc(&e.file);
        let loc = match (e.line, e.column) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            _ => file.into_owned(),
        };
        let title = format!("{loc}: {}", esc(&e.message));
        let _ = writeln!(
            out,
            "{}\n",
            renderer.render(&[Group::with_title(Level::ERROR.primary_title(title))])
        );
    }
    for n in &report.suppression_notes {
        if n.kind == "missing-reason" && !opts.verbose {
            continue;
        }
        let title = format!("{}:{}: {}", esc(&n.file), n.line, esc(&n.message));
        let _ = writeln!(
            out,
            "{}\n",
            renderer.render(&[Group::with_title(Level::WARNING.primary_title(title))])
        );
    }
    if opts.summary && opts.verbose {
        for p in &report.packages {
            let verb = if p.audited { "audited" } else { "skipped" };
            let _ = writeln!(out, "package {} ({}, {verb}): {}", p.name, p.scope, p.why);
        }
        for f in &report.unreached_files {
            let _ = writeln!(out, "not compiled by any target, not audited: {f}");
        }
    }
    if opts.summary && !report.packages.is_empty() {
        let _ = writeln!(out, "{}", packages_line(report));
    }
    if opts.summary {
        let _ = writeln!(
            out,
            "{} file{} scanned: {} error{}, {} warning{}, {} info{}; {} file{} not analysed ({} ms)",
            report.files_scanned,
            plural(report.files_scanned),
            report.count(Severity::Error),
            plural(report.count(Severity::Error)),
            report.count(Severity::Warning),
            plural(report.count(Severity::Warning)),
            report.count(Severity::Info),
            plural(report.count(Severity::Info)),
            report.errors.len(),
            plural(report.errors.len()),
            report.elapsed_ms,
        );
    }
    out
}

/// `4 packages audited (2 service, 1 library, 1 job); 3 skipped (3 dev); -v lists them`;
/// then the `offline` packages, which no flag of scope brings back.
fn packages_line(report: &Report) -> String {
    // `offline` packages cannot reach the network: not parsed, whatever
    // the scope flags (see `mesh_audit::reach`).
    let offline = report
        .packages
        .iter()
        .filter(|p| p.scope == "offline")
        .count();
    let tally = |audited: bool| {
        let mut by: std::collections::BTreeMap<&str, usize> = Default::default();
        for p in report
            .packages
            .iter()
            .filter(|p| p.audited == audited && p.scope != "offline")
        {
            *by.entry(p.scope.as_str()).or_default() += 1;
        }
        let total: usize = by.values().sum();
        let parts: Vec<String> = by.iter().map(|(s, n)| format!("{n} {s}")).collect();
        (total, parts.join(", "))
    };
    let (audited, a) = tally(true);
    let (skipped, s) = tally(false);
    let mut line = format!("{audited} package{} audited ({a})", plural(audited));
    if skipped > 0 {
        line.push_str(&format!(
            "; {skipped} skipped ({s}: not run in a meshed pod, --all-scopes audits them; -v says why)"
        ));
    }
    if offline > 0 {
        line.push_str(&format!(
            "; {offline} offline (no network crate in their code: not parsed)"
        ));
    }
    if !report.unreached_files.is_empty() {
        line.push_str(&format!(
            "; {} file{} no target compiles",
            report.unreached_files.len(),
            plural(report.unreached_files.len())
        ));
    }
    line
}

/// One finding as rustc prints a diagnostic (header, snippet with the values
/// as the label, help), then its suggestions when asked for.
fn write_finding(
    out: &mut String,
    renderer: &Renderer,
    f: &Finding,
    source: Option<&str>,
    suggestions: bool,
    color: bool,
) {
    let file = esc(&f.file);
    let message = esc(&f.message);
    let title = level(f.severity).primary_title(&*message).id(f.rule);
    let mut group = match source {
        Some(src) if (f.range.byte_end as usize) <= src.len() => {
            let label = values_label(f);
            let span = f.range.byte_start as usize
                ..(f.range.byte_end as usize).max(f.range.byte_start as usize);
            title.element(
                Snippet::source(src)
                    .path(&*file)
                    .fold(true)
                    .annotation(AnnotationKind::Primary.span(span).label(label)),
            )
        }
        _ => title.element(
            annotate_snippets::Origin::path(&*file)
                .line(f.range.line as usize)
                .char_column(f.range.column as usize),
        ),
    };
    group = group.element(Level::HELP.message(f.help.as_str()));
    let _ = writeln!(out, "{}", renderer.render(&[group]));
    if suggestions {
        for s in &f.suggestions {
            write_suggestion(out, s, source, color);
        }
    }
}

/// One finding rendered as `--format human` prints it, for the `rendered`
/// field of rustc JSON diagnostics.
pub fn render_finding(f: &Finding, source: Option<&str>, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    write_finding(&mut out, &renderer, f, source, true, color);
    out
}

/// One suggestion under its finding:
///
/// ```text
/// suggestion: VirtualService for `pricing`
///   <note>
///   quick fix: replace `"127.0.0.1:8080"` with `"0.0.0.0:8080"` (line 12:20)
///     <YAML or code, indented>
/// ```
fn write_suggestion(out: &mut String, s: &Suggestion, source: Option<&str>, color: bool) {
    let what = match (s.kind.as_str(), s.yaml.as_deref().and_then(yaml_host)) {
        ("code", _) => "code change".to_string(),
        (kind, Some(host)) if !host.starts_with("REPLACE-ME") => format!("{kind} for `{host}`"),
        (kind, _) => kind.to_string(),
    };
    let label = if color {
        "\x1b[1;36msuggestion\x1b[0m\x1b[1m:\x1b[0m"
    } else {
        "suggestion:"
    };
    let _ = writeln!(out, "{label} {what}");
    for line in s.note.lines() {
        let _ = writeln!(out, "  {line}");
    }
    if let Some(r) = &s.replacement {
        let old = source
            .and_then(|src| src.get(r.byte_start as usize..r.byte_end as usize))
            .filter(|old| r.byte_start < r.byte_end && !old.contains('\n'));
        let at = if (r.line, r.column) == (r.end_line, r.end_column) || old.is_some() {
            format!("line {}:{}", r.line, r.column)
        } else {
            format!(
                "line {}:{} to {}:{}",
                r.line, r.column, r.end_line, r.end_column
            )
        };
        let _ = match old {
            Some(old) => writeln!(out, "  quick fix: replace `{old}` with `{}` ({at})", r.text),
            None => writeln!(
                out,
                "  quick fix: replace the code at {at} with `{}`",
                r.text
            ),
        };
    }
    let body = s.yaml.as_deref().or(s.code.as_deref()).unwrap_or("");
    for line in body.trim_end().lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "    {line}");
        }
    }
}

/// The host of a VirtualService (`spec.hosts[0]`) or DestinationRule
/// (`spec.host`) as written by mesh-audit-suggest: block YAML, two-space
/// indent, comments on their own lines.
fn yaml_host(yaml: &str) -> Option<&str> {
    let mut lines = yaml.lines().filter(|l| !l.trim_start().starts_with('#'));
    while let Some(line) = lines.next() {
        let line = line.trim_end();
        let host = if line == "  hosts:" {
            lines.next()?.trim().strip_prefix("- ")
        } else {
            line.strip_prefix("  host: ")
        };
        if let Some(host) = host {
            return Some(host.trim().trim_matches(['"', '\'']));
        }
    }
    None
}

pub(crate) fn values_label(f: &Finding) -> String {
    f.values
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use mesh_audit_model::Replacement;

    use super::*;

    fn render(s: &Suggestion, source: Option<&str>) -> String {
        let mut out = String::new();
        write_suggestion(&mut out, s, source, false);
        out
    }

    #[test]
    fn mesh_suggestion_names_its_host_then_note_then_yaml() {
        let s = Suggestion {
            kind: "VirtualService".into(),
            yaml: Some("# from a.rs:1\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: pricing\nspec:\n  hosts:\n  - pricing\n  http:\n  - route:\n    - destination:\n        host: pricing\n".into()),
            code: None,
            note: "Apply this VirtualService for `pricing`.".into(),
            replacement: None,
        };
        assert_eq!(
            render(&s, None),
            "\
suggestion: VirtualService for `pricing`
  Apply this VirtualService for `pricing`.
    # from a.rs:1
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: pricing
    spec:
      hosts:
      - pricing
      http:
      - route:
        - destination:
            host: pricing
"
        );
        let dr = Suggestion {
            kind: "DestinationRule".into(),
            yaml: Some("kind: DestinationRule\nspec:\n  # REPLACE-ME.svc.cluster.local: put the host here\n  host: REPLACE-ME.svc.cluster.local\n".into()),
            note: "Apply this DestinationRule.".into(),
            ..s.clone()
        };
        assert!(render(&dr, None).starts_with("suggestion: DestinationRule\n  Apply"));
        let named = Suggestion {
            yaml: Some("spec:\n  host: payments\n".into()),
            ..dr
        };
        assert!(render(&named, None).starts_with("suggestion: DestinationRule for `payments`\n"));
    }

    #[test]
    fn code_suggestion_shows_its_replacement() {
        let src = "fn main() {\n    let l = TcpListener::bind(\"127.0.0.1:8080\").await?;\n}\n";
        let start = src.find("\"127").unwrap() as u32;
        let s = Suggestion {
            kind: "code".into(),
            yaml: None,
            code: Some("let listener = bind((\"0.0.0.0\", port)).await?;\n".into()),
            note: "Bind every interface.".into(),
            replacement: Some(Replacement {
                line: 2,
                column: 31,
                end_line: 2,
                end_column: 47,
                byte_start: start,
                byte_end: start + 16,
                text: "\"0.0.0.0:8080\"".into(),
                applicability: "MaybeIncorrect".into(),
            }),
        };
        assert_eq!(
            render(&s, Some(src)),
            "\
suggestion: code change
  Bind every interface.
  quick fix: replace `\"127.0.0.1:8080\"` with `\"0.0.0.0:8080\"` (line 2:31)
    let listener = bind((\"0.0.0.0\", port)).await?;
"
        );
        // Without the source the span is given by position.
        assert_eq!(
            render(&s, None).lines().nth(2),
            Some("  quick fix: replace the code at line 2:31 to 2:47 with `\"0.0.0.0:8080\"`")
        );
        let bare = Suggestion {
            code: None,
            replacement: None,
            ..s
        };
        assert_eq!(
            render(&bare, None),
            "suggestion: code change\n  Bind every interface.\n"
        );
    }
}
