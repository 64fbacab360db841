use std::fmt::Write;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use mesh_audit_model::{Report, Severity};

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
    let renderer = if opts.color { Renderer::styled() } else { Renderer::plain() };
    let mut out = String::new();
    let mut cache: Option<(String, Option<String>)> = None;
    for f in &report.findings {
        if cache.as_ref().is_none_or(|(p, _)| *p != f.file) {
            cache = Some((f.file.clone(), (opts.source)(&f.file)));
        }
        let source = cache.as_ref().and_then(|(_, s)| s.as_deref());
        let title = level(f.severity).primary_title(f.message.as_str()).id(f.rule);
        let mut group = match source {
            Some(src) if (f.range.byte_end as usize) <= src.len() => {
                let label = values_label(f);
                let span = f.range.byte_start as usize..(f.range.byte_end as usize).max(f.range.byte_start as usize);
                title.element(
                    Snippet::source(src)
                        .path(f.file.as_str())
                        .fold(true)
                        .annotation(AnnotationKind::Primary.span(span).label(label)),
                )
            }
            _ => title.element(annotate_snippets::Origin::path(f.file.as_str()).line(f.range.line as usize).char_column(f.range.column as usize)),
        };
        group = group.element(Level::HELP.message(f.help.as_str()));
        let mut groups = vec![group];
        if opts.suggestions {
            for s in &f.suggestions {
                let body = s.yaml.as_deref().or(s.code.as_deref()).unwrap_or("");
                let text = if body.is_empty() {
                    format!("{}: {}", s.kind, s.note)
                } else {
                    format!("{} ({}):\n{}", s.kind, s.note, body.trim_end())
                };
                groups.push(Group::with_title(Level::NOTE.secondary_title(text)));
            }
        }
        let _ = writeln!(out, "{}\n", renderer.render(&groups));
    }
    for e in &report.errors {
        let loc = match (e.line, e.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", e.file),
            _ => e.file.clone(),
        };
        let title = format!("{loc}: {}", e.message);
        let _ = writeln!(out, "{}\n", renderer.render(&[Group::with_title(Level::ERROR.primary_title(title))]));
    }
    for n in &report.suppression_notes {
        if n.kind == "missing-reason" && !opts.verbose {
            continue;
        }
        let title = format!("{}:{}: {}", n.file, n.line, n.message);
        let _ = writeln!(out, "{}\n", renderer.render(&[Group::with_title(Level::WARNING.primary_title(title))]));
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

fn values_label(f: &mesh_audit_model::Finding) -> String {
    f.values.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
