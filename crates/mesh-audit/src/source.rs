//! Source text helpers: byte offsets to rustc-style positions, and the
//! depth budget that keeps pathological files away from the recursive parser.

use mesh_audit_model::TextRange;
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};

/// Bytes per checkpoint of the character index: a column costs at most this
/// many byte reads, whatever the length of the line.
const CHAR_BLOCK: usize = 64;

/// Byte offsets of spans, without proc-macro2's character-to-byte cache.
///
/// With `span-locations`, `Span::byte_range` turns a character index into a
/// byte offset through a per-file `BTreeMap` it grows on every new offset:
/// a range query and an insert per call, about 5% of an audit, since the
/// analysis asks for the offsets of most identifiers and calls. `Span::start`
/// and `end` only binary-search the file's line table. On a line that is all
/// ASCII a character column is a byte column, so the offset is that line's
/// start plus the column; other lines fall back to `byte_range`.
///
/// The table is the text of the file being analysed on this thread, set by
/// [`SpanText::enter`] for the duration of one file's analysis. Without one
/// (or for a span outside it), `bytes` is `byte_range`.
pub trait SpanBytes {
    /// Same as `byte_range()`: byte offsets into the file's text.
    fn bytes(&self) -> std::ops::Range<usize>;
    /// `bytes().start`, for half the work: each end is a line lookup.
    fn byte_start(&self) -> usize;
    /// `bytes().end`, likewise.
    fn byte_end(&self) -> usize;
}

impl SpanBytes for Span {
    fn bytes(&self) -> std::ops::Range<usize> {
        self.byte_start()..self.byte_end()
    }

    fn byte_start(&self) -> usize {
        match SPAN_TEXT.with(|t| t.borrow().as_ref()?.byte_of(self.start())) {
            Some(b) => {
                debug_assert_eq!(b, self.byte_range().start, "fast span offsets disagree");
                b
            }
            None => self.byte_range().start,
        }
    }

    fn byte_end(&self) -> usize {
        match SPAN_TEXT.with(|t| t.borrow().as_ref()?.byte_of(self.end())) {
            Some(b) => {
                debug_assert_eq!(b, self.byte_range().end, "fast span offsets disagree");
                b
            }
            None => self.byte_range().end,
        }
    }
}

thread_local! {
    static SPAN_TEXT: std::cell::RefCell<Option<SpanText>> = const { std::cell::RefCell::new(None) };
}

/// The line table [`SpanBytes`] reads offsets from (see there).
pub struct SpanText {
    line_starts: Vec<usize>,
    /// Whether each line is ASCII (its character columns are byte columns).
    ascii: Vec<bool>,
    len: usize,
}

/// Restores the table that was in place before [`SpanText::enter`].
pub struct SpanTextGuard {
    previous: Option<SpanText>,
}

impl SpanText {
    /// Makes the text of `lines` (the exact text the file's tree was parsed
    /// from, up to a blanked preamble of the same length) this thread's
    /// table until the guard drops. Spans of other files must not be asked
    /// for meanwhile: each caller wraps the analysis of one file.
    pub fn enter(lines: &LineIndex<'_>) -> SpanTextGuard {
        let text = lines.text().as_bytes();
        let line_starts = lines.line_starts.clone();
        let ascii = if lines.chars_before_block.is_empty() {
            // The whole text is ASCII (see `LineIndex::new`).
            vec![true; line_starts.len()]
        } else {
            line_starts
                .iter()
                .enumerate()
                .map(|(i, &start)| {
                    let end = line_starts.get(i + 1).copied().unwrap_or(text.len());
                    text[start..end].is_ascii()
                })
                .collect()
        };
        let table = SpanText {
            line_starts,
            ascii,
            len: text.len(),
        };
        let previous = SPAN_TEXT.with(|t| t.borrow_mut().replace(table));
        SpanTextGuard { previous }
    }

    fn byte_of(&self, at: proc_macro2::LineColumn) -> Option<usize> {
        let line = at.line.checked_sub(1)?;
        if !*self.ascii.get(line)? {
            return None;
        }
        let start = self.line_starts[line];
        let end = self.line_starts.get(line + 1).copied().unwrap_or(self.len);
        let byte = start + at.column;
        (byte <= end).then_some(byte)
    }
}

impl Drop for SpanTextGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        SPAN_TEXT.with(|t| *t.borrow_mut() = previous);
    }
}

/// Maps byte offsets of one file to 1-based line / character columns.
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    /// Characters before byte `k * CHAR_BLOCK`; columns of long lines are
    /// then O(1) instead of a count from the line start on every call.
    /// Empty when the text is ASCII: a character index is a byte index.
    chars_before_block: Vec<u32>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut line_starts = Vec::with_capacity(bytes.len() / 32 + 1);
        line_starts.push(0);
        line_starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
        // Most source files are ASCII: no table to build or read.
        let chars_before_block = if text.is_ascii() {
            Vec::new()
        } else {
            let mut table = Vec::with_capacity(bytes.len() / CHAR_BLOCK + 2);
            let mut chars = 0u32;
            for block in bytes.chunks(CHAR_BLOCK) {
                table.push(chars);
                chars += block.iter().filter(|&&b| !is_continuation(b)).count() as u32;
            }
            table.push(chars);
            table
        };
        LineIndex {
            text,
            line_starts,
            chars_before_block,
        }
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Characters in `text[..byte]` (`byte` on a char boundary).
    fn chars_before(&self, byte: usize) -> usize {
        if self.chars_before_block.is_empty() {
            return byte;
        }
        let block = byte / CHAR_BLOCK;
        let from = block * CHAR_BLOCK;
        self.chars_before_block[block] as usize
            + self.text.as_bytes()[from..byte]
                .iter()
                .filter(|&&b| !is_continuation(b))
                .count()
    }

    /// 1-based line and 1-based character column of a byte offset.
    pub fn position(&self, byte: usize) -> (u32, u32) {
        let mut byte = byte.min(self.text.len());
        while !self.text.is_char_boundary(byte) {
            byte -= 1;
        }
        let line = match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line];
        let col = self.chars_before(byte) - self.chars_before(start);
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
        self.range(span.bytes())
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

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// Tokens (words, literals, operators, bracketed groups) in one chain:
/// everything between `;` and `,`, counted over every open bracket level.
/// syn recurses on `a = a = ..`, `!!..`, `else if` ladders, and the trees of
/// `a + a + ..`, `f()()..` and `a[0][0]..` are as deep as they are long
/// (dropping or visiting them recurses), so this is the depth budget.
pub const MAX_STATEMENT_TOKENS: usize = 20_000;

/// Where a token stream is deeper than syn and our visitors can follow on
/// a worker's stack: more than `max_nesting` open brackets, or more than
/// [`MAX_STATEMENT_TOKENS`] tokens in the chains open at one point.
/// Returns the 1-based line of the token that crossed the limit.
///
/// A stack overflow aborts the process and cannot be caught, so this runs on
/// the lexed tokens (the real lexer: raw strings, lifetimes and comments
/// cannot hide code from it) before syn sees them. The walk itself keeps
/// its own stack.
pub fn depth_exceeds(tokens: &TokenStream, max_nesting: usize) -> Option<u32> {
    token_shape(tokens, max_nesting, usize::MAX).too_deep
}

/// What one walk over a file's tokens tells before syn parses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenShape {
    /// See [`depth_exceeds`].
    pub too_deep: Option<u32>,
    /// Some `[...]` holds more than `table_tokens` tokens at its own level
    /// (a data table; see `engine::TABLE_TOKENS`).
    pub has_table: bool,
}

/// [`depth_exceeds`], and whether the stream holds a data table, in one
/// walk (the walk copies the tokens it visits: a second walk to look for
/// tables cost as much as the first on every large file).
pub fn token_shape(tokens: &TokenStream, max_nesting: usize, table_tokens: usize) -> TokenShape {
    struct Level {
        tokens: proc_macro2::token_stream::IntoIter,
        /// Tokens of the current chain at this level.
        run: usize,
        /// The previous token was a `{..}` group: a statement or item may end there.
        after_brace: bool,
        /// A `[...]` group's level, and its tokens so far.
        bracket: bool,
        count: usize,
    }
    let mut has_table = false;
    let mut stack = vec![Level {
        tokens: tokens.clone().into_iter(),
        run: 0,
        after_brace: false,
        bracket: false,
        count: 0,
    }];
    // Sum of `run` over the stack.
    let mut total = 0usize;
    while let Some(level) = stack.last_mut() {
        let Some(tt) = level.tokens.next() else {
            total -= level.run;
            stack.pop();
            continue;
        };
        level.count += 1;
        has_table |= level.bracket && level.count > table_tokens;
        if std::mem::take(&mut level.after_brace) && !continues_after_block(&tt) {
            total -= level.run;
            level.run = 0;
        }
        let line = || tt.span().start().line as u32;
        match &tt {
            TokenTree::Punct(p) if matches!(p.as_char(), ';' | ',') => {
                total -= level.run;
                level.run = 0;
                continue;
            }
            TokenTree::Group(g) => {
                level.run += 1;
                total += 1;
                level.after_brace = g.delimiter() == Delimiter::Brace;
                if stack.len() > max_nesting {
                    return TokenShape {
                        too_deep: Some(line()),
                        has_table,
                    };
                }
                let inner = g.stream().into_iter();
                stack.push(Level {
                    tokens: inner,
                    run: 0,
                    after_brace: false,
                    bracket: g.delimiter() == Delimiter::Bracket,
                    count: 0,
                });
            }
            _ => {
                level.run += 1;
                total += 1;
            }
        }
        if total > MAX_STATEMENT_TOKENS {
            return TokenShape {
                too_deep: Some(line()),
                has_table,
            };
        }
    }
    TokenShape {
        too_deep: None,
        has_table,
    }
}

/// Whether `text` holds `word` as a whole identifier (not inside a longer
/// one: `mod` in `mod x;`, not in `model` or `my_mod`). A byte check, so a
/// word inside a comment or string counts: it errs towards yes.
pub fn has_word(text: &str, word: &str) -> bool {
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = text[from..].find(word) {
        let start = from + at;
        let end = start + word.len();
        let before = start == 0 || !ident(bytes[start - 1]);
        let after = bytes.get(end).is_none_or(|&b| !ident(b));
        if before && after {
            return true;
        }
        from = end;
    }
    false
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

/// After `{..}`, whether `tt` continues the same expression (`else`, `as`,
/// an operator, a call or index) rather than starting the next statement
/// or item (a word, a literal, an attribute).
fn continues_after_block(tt: &TokenTree) -> bool {
    match tt {
        TokenTree::Ident(i) => i == "else" || i == "as",
        TokenTree::Punct(p) => p.as_char() != '#',
        TokenTree::Group(g) => g.delimiter() != Delimiter::Brace,
        TokenTree::Literal(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every token's offsets, read through the line table, are proc-macro2's
    /// own: ASCII lines, lines with multi-byte characters (the fallback),
    /// CRLF, a BOM and a `#!` line (blanked before parsing), an empty file.
    #[test]
    fn span_bytes_agree_with_byte_range() {
        fn spans(tokens: TokenStream, out: &mut Vec<Span>) {
            for t in tokens {
                out.push(t.span());
                if let TokenTree::Group(g) = t {
                    out.push(g.span_open());
                    out.push(g.span_close());
                    spans(g.stream(), out);
                }
            }
        }
        let texts = [
            "fn a() { let x = \"ok\"; }\n",
            "// é\nfn b() -> &'static str { \"naïve\" } fn c() {}\n",
            "fn d() {\r\n    call(1, 2);\r\n}\r\n",
            "\u{feff}fn e() { f(); }\n",
            "#!/usr/bin/env run-cargo-script\nfn g() { h(\"日本\", 3); }",
            "",
        ];
        for text in texts {
            let file = crate::engine::parse(text).expect("parses");
            let mut all = Vec::new();
            spans(quote::ToTokens::to_token_stream(&file), &mut all);
            let slow: Vec<_> = all.iter().map(|s| s.byte_range()).collect();
            let lines = LineIndex::new(text);
            let _table = SpanText::enter(&lines);
            let fast: Vec<_> = all.iter().map(|s| s.bytes()).collect();
            assert_eq!(fast, slow, "{text:?}");
        }
    }

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
    fn columns_of_a_long_line_cross_checkpoints() {
        let line = "é".repeat(100) + "x" + &"ab".repeat(100);
        let text = format!("fn a() {{}}\n{line}\n");
        let idx = LineIndex::new(&text);
        let x = text.find('x').unwrap();
        assert_eq!(idx.position(x), (2, 101));
        assert_eq!(idx.position(text.len() - 1), (2, 302));
        // Offsets inside a character land on that character.
        assert_eq!(idx.position(11), (2, 1));
    }

    #[test]
    fn ascii_and_unicode_texts_give_the_positions_of_a_plain_count() {
        // An ASCII text keeps no character table; a text with one non-ASCII
        // character anywhere keeps one. Both must agree with counting.
        for text in [
            "fn a() {}\r\n\nlet x = 1;\n  y\n".to_string(),
            "fn a() {}\r\n\nlet x = \"é\";\n  y\n".repeat(40),
        ] {
            let idx = LineIndex::new(&text);
            for (byte, _) in text.char_indices().chain([(text.len(), ' ')]) {
                let before = &text[..byte];
                let line = before.matches('\n').count() as u32 + 1;
                let start = before.rfind('\n').map_or(0, |i| i + 1);
                let column = text[start..byte].chars().count() as u32 + 1;
                assert_eq!(idx.position(byte), (line, column), "byte {byte}");
            }
        }
    }

    fn depth(text: &str, max_nesting: usize) -> Option<u32> {
        depth_exceeds(&text.parse().unwrap(), max_nesting)
    }

    #[test]
    fn nesting_ignores_strings_and_comments() {
        assert_eq!(depth("fn f() { \"((((((\" }", 3), None);
        assert_eq!(depth("// ((((((\nfn f() {}", 3), None);
        assert_eq!(depth("\n((((1))))", 3), Some(2));
        // A raw string ending in a backslash hides nothing from the lexer.
        let hidden = format!(
            "const S: &str = r\"\\\";\nfn f() {{ {}1 }}\n",
            "a = ".repeat(30_000)
        );
        assert_eq!(depth(&hidden, 256), Some(2));
    }

    #[test]
    fn chains_count_across_brackets() {
        let n = MAX_STATEMENT_TOKENS;
        for chain in [
            format!("fn f() {{ {}1; }}", "a() = ".repeat(n / 3 + 1)),
            format!("fn f() {{ a{}; }}", "[0]".repeat(n + 1)),
            format!("fn f() {{ {}1; }}", "f() + ".repeat(n / 3 + 1)),
            format!(
                "fn f() {{ if a {{}} {} }}",
                "else if a {} ".repeat(n / 4 + 1)
            ),
            format!("fn f() {{ let x = {}1; }}", "{1} + ".repeat(n / 2 + 1)),
        ] {
            assert_eq!(depth(&chain, 256), Some(1), "{}", &chain[..40]);
        }
    }

    #[test]
    fn items_and_statements_end_chains() {
        let n = MAX_STATEMENT_TOKENS;
        let items = "#[inline]\nfn a(x: u8) -> u8 { x }\n".repeat(n);
        assert_eq!(depth(&items, 256), None);
        let stmts = format!(
            "fn f() {{ {} }}",
            "if a { b() } let c = d(e, f); ".repeat(n / 4)
        );
        assert_eq!(depth(&stmts, 256), None);
        let arms = format!("fn f() {{ match x {{ {} }} }}", "Some(1) => {} ".repeat(n));
        assert_eq!(depth(&arms, 256), None);
    }
}
