//! Source text helpers: byte offsets to rustc-style positions, and the cheap
//! nesting check that keeps pathological files away from the recursive parser.

use mesh_audit_model::TextRange;
use proc_macro2::Span;

/// Maps byte offsets of one file to 1-based line / character columns.
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// 1-based line and 1-based character column of a byte offset.
    pub fn position(&self, byte: usize) -> (u32, u32) {
        let byte = byte.min(self.text.len());
        let line = match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..byte)
            .map(|s| s.chars().count())
            .unwrap_or(byte - start);
        (line as u32 + 1, col as u32 + 1)
    }

    pub fn range(&self, bytes: std::ops::Range<usize>) -> TextRange {
        let (line, column) = self.position(bytes.start);
        let (end_line, end_column) = self.position(bytes.end);
        TextRange {
            line,
            column,
            end_line,
            end_column,
            byte_start: bytes.start as u32,
            byte_end: bytes.end as u32,
        }
    }

    pub fn span_range(&self, span: Span) -> TextRange {
        self.range(span.byte_range())
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: u32) -> &'a str {
        let i = (line as usize).saturating_sub(1);
        let Some(&start) = self.line_starts.get(i) else {
            return "";
        };
        let end = self
            .line_starts
            .get(i + 1)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches('\r')
    }
}

/// Operators and words in one statement (between `;`, `,` and brackets)
/// beyond which a file is not hand-written code: `!!!..`, `|| || ..`,
/// `return return ..` and `a + a + ..` nest without brackets.
pub const MAX_STATEMENT_TOKENS: usize = 20_000;

/// Deepest bracket nesting in `text`, ignoring brackets in comments, strings
/// and char literals as far as a byte scan can tell. Returns the 1-based line
/// where `limit` was first exceeded, if it was.
///
/// syn parses recursively; a stack overflow aborts the process and cannot be
/// caught, so files nested beyond any hand-written code are refused up front.
pub fn nesting_exceeds(text: &str, limit: usize) -> Option<u32> {
    let b = text.as_bytes();
    let (mut i, mut depth, mut line, mut run) = (0usize, 0usize, 1u32, 0usize);
    while i < b.len() {
        match b[i] {
            b'\n' => line += 1,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                let mut level = 1;
                while i < b.len() && level > 0 {
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        level -= 1;
                        i += 1;
                    } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        level += 1;
                        i += 1;
                    }
                    i += 1;
                }
                continue;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    } else if b[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
            // A char literal such as '"' or '{' must not open anything.
            b'\'' if b.get(i + 2) == Some(&b'\'') => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < b.len() && b[i] != b'\'' && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(line);
                }
                run = 0;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                run = 0;
            }
            b';' | b',' => run = 0,
            // Prefix operators, closures, `.field` chains and binary chains
            // nest without brackets: count operators and words per statement.
            b'+' | b'-' | b'*' | b'/' | b'!' | b'&' | b'|' | b'.' | b'^' | b'%' | b'<' | b'>'
            | b'=' | b'?' => {
                run += 1;
            }
            c if (c.is_ascii_alphanumeric() || c == b'_')
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                run += 1;
            }
            _ => {}
        }
        if run > MAX_STATEMENT_TOKENS {
            return Some(line);
        }
        i += 1;
    }
    None
}

/// What is wrong with the brackets of `text`, for files the lexer rejects
/// ("cannot parse string into token stream" says nothing): the byte offset
/// to point at and a sentence. `None` when every bracket is matched (the
/// problem is then an unterminated literal or comment, or a stray char).
pub fn delimiter_problem(text: &str) -> Option<(usize, String)> {
    let b = text.as_bytes();
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut i = 0usize;
    let closing = |c: u8| match c {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    };
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = i;
                i += 2;
                let mut level = 1;
                while i < b.len() && level > 0 {
                    if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        level -= 1;
                        i += 1;
                    } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        level += 1;
                        i += 1;
                    }
                    i += 1;
                }
                if level > 0 {
                    return Some((start, "unterminated block comment `/*`".into()));
                }
                continue;
            }
            // Raw strings: r"..", r#".."#, br"..", cr"..".
            b'r' if (i == 0
                || !ident(b[i - 1])
                || matches!(b[i - 1], b'b' | b'c') && (i < 2 || !ident(b[i - 2])))
                && matches!(b.get(i + 1), Some(b'"' | b'#')) =>
            {
                let start = i;
                let mut j = i + 1;
                while b.get(j) == Some(&b'#') {
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let hashes = j - i - 1;
                let mut end = None;
                let mut k = j + 1;
                while k < b.len() {
                    if b[k] == b'"'
                        && b.len() >= k + 1 + hashes
                        && b[k + 1..k + 1 + hashes].iter().all(|&h| h == b'#')
                    {
                        end = Some(k + 1 + hashes);
                        break;
                    }
                    k += 1;
                }
                match end {
                    Some(e) => i = e,
                    None => return Some((start, "unterminated raw string".into())),
                }
                continue;
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                if i >= b.len() {
                    return Some((start, "unterminated string literal".into()));
                }
            }
            b'\'' => {
                // `'\n'`, `'x'`, `'é'` are chars; `'a` is a lifetime.
                if b.get(i + 1) == Some(&b'\\') {
                    let mut j = i + 3;
                    while j < b.len() && b[j] != b'\'' && b[j] != b'\n' {
                        j += 1;
                    }
                    i = j;
                } else if let Some(ch) = text.get(i + 1..).and_then(|t| t.chars().next()) {
                    let after = i + 1 + ch.len_utf8();
                    if b.get(after) == Some(&b'\'') {
                        i = after;
                    }
                }
            }
            b'(' | b'[' | b'{' => open.push((c, i)),
            b')' | b']' | b'}' => match open.pop() {
                Some((o, _)) if closing(o) == c => {}
                Some((o, at)) => {
                    let (line, column) = LineIndex::new(text).position(at);
                    return Some((
                        i,
                        format!(
                            "mismatched closing delimiter `{}`: the `{}` opened at {line}:{column} is closed here",
                            c as char, o as char
                        ),
                    ));
                }
                None => return Some((i, format!("unexpected closing delimiter `{}`", c as char))),
            },
            _ => {}
        }
        i += 1;
    }
    open.pop().map(|(o, at)| {
        (
            at,
            format!("unclosed delimiter `{}`: it is never closed", o as char),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_problems_point_at_the_bracket() {
        assert_eq!(
            delimiter_problem("fn f() { let s = \"}\"; '}'; r#\"{\"#; }"),
            None
        );
        assert_eq!(delimiter_problem("fn f<'a>(x: &'a str) {}"), None);
        let (at, msg) = delimiter_problem("fn f() {\n    g(;\n").unwrap();
        assert_eq!(at, 14);
        assert!(msg.contains("`)`") || msg.contains("unclosed"), "{msg}");
        let (at, msg) = delimiter_problem("fn f() {\n").unwrap();
        assert_eq!(
            (at, msg.as_str()),
            (7, "unclosed delimiter `{`: it is never closed")
        );
        let (_, msg) = delimiter_problem("fn f() { ( }").unwrap();
        assert_eq!(
            msg,
            "mismatched closing delimiter `}`: the `(` opened at 1:10 is closed here"
        );
        assert_eq!(
            delimiter_problem("}").unwrap().1,
            "unexpected closing delimiter `}`"
        );
        assert_eq!(
            delimiter_problem("/* x").unwrap().1,
            "unterminated block comment `/*`"
        );
    }

    #[test]
    fn positions_count_characters() {
        let idx = LineIndex::new("ab\né x\n");
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(3), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(idx.position(6), (2, 3));
        assert_eq!(idx.line_text(2), "é x");
    }

    #[test]
    fn nesting_ignores_strings_and_comments() {
        assert_eq!(nesting_exceeds("fn f() { \"((((((\" }", 3), None);
        assert_eq!(nesting_exceeds("// ((((((\nfn f() {}", 3), None);
        assert_eq!(nesting_exceeds("\n((((", 3), Some(2));
    }
}
