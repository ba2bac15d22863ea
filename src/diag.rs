//! Located diagnostics: every problem with an input names its file, line and column and shows
//! the offending line with a caret, so an on-call engineer can fix a playbook without guessing.

use std::fmt::{self, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A text file held in memory so diagnostics can quote it.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user should see it (relative when the user gave a relative path).
    pub path: PathBuf,
    pub text: Arc<str>,
    /// Byte ranges never to be quoted (literal credentials); shown as asterisks.
    redact: Arc<Vec<Range<usize>>>,
    /// Byte offset of the start of each line, computed on first use: finding a line is a
    /// binary search, not a scan from the top (a playbook of 20,000 steps has 100,000 nodes).
    line_starts: Arc<std::sync::OnceLock<Vec<usize>>>,
    /// Bytes read to find lines and columns (a test keeps it linear in the file's size).
    scanned: Arc<std::sync::atomic::AtomicUsize>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<Arc<str>>) -> Self {
        SourceFile {
            path: path.into(),
            text: text.into(),
            redact: Arc::new(Vec::new()),
            line_starts: Arc::default(),
            scanned: Arc::default(),
        }
    }

    /// Bytes read so far to find lines and columns, by this file and its copies.
    pub fn scanned_bytes(&self) -> usize {
        self.scanned.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_scanned(&self, n: usize) {
        self.scanned
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }

    fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            self.count_scanned(self.text.len());
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    /// Byte range of 1-based line `line`, without its line break (`\n`, or `\r\n` as
    /// `str::lines` strips it).
    fn line_range(&self, line: u32) -> Option<Range<usize>> {
        let starts = self.line_starts();
        let i = line.checked_sub(1)? as usize;
        let start = *starts.get(i)?;
        let mut end = starts.get(i + 1).map_or(self.text.len(), |n| n - 1);
        if start == self.text.len() {
            // `str::lines` has no empty last line after a final newline.
            return None;
        }
        if end > start && self.text.as_bytes()[end - 1] == b'\r' && end < self.text.len() {
            end -= 1;
        }
        Some(start..end)
    }

    /// The same file, with these byte ranges masked wherever a line of it is quoted.
    pub fn with_redactions(&self, ranges: Vec<Range<usize>>) -> Self {
        SourceFile {
            path: self.path.clone(),
            text: self.text.clone(),
            redact: Arc::new(ranges),
            line_starts: self.line_starts.clone(),
            scanned: self.scanned.clone(),
        }
    }

    /// The text of 1-based line `line`, without its line break.
    pub fn line_text(&self, line: u32) -> Option<&str> {
        self.line_range(line).map(|r| &self.text[r])
    }

    /// The line as it may be shown: redacted ranges replaced by asterisks, and values of
    /// secret-looking keys masked.
    pub fn quoted_line(&self, line: u32) -> Option<String> {
        let range = self.line_range(line)?;
        let (start, end) = (range.start, range.end);
        let text = &self.text[range];
        let mut out = String::with_capacity(text.len());
        for (i, ch) in text.char_indices() {
            let at = start + i;
            let hidden = self
                .redact
                .iter()
                .any(|r| r.start <= at && at < r.end && at < end);
            out.push(if hidden && !ch.is_whitespace() {
                '*'
            } else {
                ch
            });
        }
        Some(printable(&redact_secret_line(&out)))
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let starts = self.line_starts();
        // The last line starting at or before the offset.
        let i = starts.partition_point(|&s| s <= offset).saturating_sub(1);
        self.count_scanned(offset - starts[i]);
        let col = self.text[starts[i]..offset].chars().count() as u32 + 1;
        (i as u32 + 1, col)
    }

    /// A span starting at a byte offset and covering `len` bytes (clipped to the line).
    pub fn span_at(&self, offset: usize, len: usize) -> Span {
        let (line, col) = self.line_col(offset);
        Span {
            line,
            col,
            width: self.width_at(offset, len),
        }
    }

    /// How many characters `len` bytes from `offset` cover on their line (at least 1).
    pub fn width_at(&self, offset: usize, len: usize) -> u32 {
        let end = floor_char_boundary(&self.text, offset.saturating_add(len).min(self.text.len()));
        let start = floor_char_boundary(&self.text, offset.min(self.text.len()));
        let covered = &self.text[start..end];
        let covered = covered.split('\n').next().unwrap_or("");
        self.count_scanned(covered.len());
        covered.chars().count().max(1) as u32
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A position in a file: 1-based line and character column, and how many characters to underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub line: u32,
    pub col: u32,
    pub width: u32,
}

impl Span {
    pub fn point(line: u32, col: u32) -> Self {
        Span {
            line,
            col,
            width: 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, located when it can be.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub file: Option<PathBuf>,
    pub span: Option<Span>,
    /// The source line quoted under the location (already redacted where needed).
    pub snippet: Option<String>,
    /// Text printed after the caret.
    pub label: Option<String>,
    pub help: Vec<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            file: None,
            span: None,
            snippet: None,
            label: None,
            help: Vec::new(),
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    /// Locate in a source file held in memory; the snippet is taken from it.
    pub fn at(mut self, file: &SourceFile, span: Span) -> Self {
        self.snippet = file.quoted_line(span.line);
        self.file = Some(file.path.clone());
        self.span = Some(span);
        self
    }

    /// Locate in a file that is not held in memory (streamed ledgers), quoting `line_text`.
    pub fn at_line(mut self, path: &Path, span: Span, line_text: Option<&str>) -> Self {
        self.file = Some(path.to_path_buf());
        self.span = Some(span);
        self.snippet = line_text.map(|l| printable(&redact_secret_line(l)));
        self
    }

    /// Name a file without a position (the file as a whole is the problem).
    pub fn in_file(mut self, path: &Path) -> Self {
        self.file = Some(path.to_path_buf());
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help.push(help.into());
        self
    }

    /// Add a help line to a diagnostic already pushed (builder style on `&mut`).
    pub fn with_help(&mut self, help: impl Into<String>) -> &mut Self {
        self.help.push(help.into());
        self
    }

    pub fn with_label(&mut self, label: impl Into<String>) -> &mut Self {
        self.label = Some(label.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `path:line:col` (or just the path), as printed after `-->`.
    pub fn location(&self) -> Option<String> {
        let file = self.file.as_ref()?.display().to_string();
        Some(match self.span {
            Some(s) => format!("{file}:{}:{}", s.line, s.col),
            None => file,
        })
    }
}

/// Longest snippet line shown; ledger lines can be kilobytes long.
const MAX_SNIPPET_CHARS: usize = 110;

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{kind}: {}", self.message)?;
        let gutter = self.span.map_or(1, |s| s.line.to_string().len());
        let pad = " ".repeat(gutter);
        if let Some(loc) = self.location() {
            writeln!(f, "{pad}--> {loc}")?;
        }
        if let (Some(span), Some(snippet)) = (self.span, self.snippet.as_deref()) {
            let (shown, caret_col) = window(snippet, span.col as usize);
            writeln!(f, "{pad} |")?;
            writeln!(f, "{} | {}", span.line, shown.trim_end())?;
            let chars: Vec<char> = shown.chars().collect();
            let before = caret_col.saturating_sub(1).min(chars.len());
            let covered = (span.width as usize).clamp(1, (chars.len() - before).max(1));
            // Pad by display width, so carets line up under CJK and other wide characters.
            let mut marker = String::new();
            for ch in &chars[..before] {
                match ch {
                    '\t' => marker.push('\t'),
                    c => marker.push_str(&" ".repeat(char_width(*c))),
                }
            }
            let carets: usize = chars[before..(before + covered).min(chars.len())]
                .iter()
                .map(|c| char_width(*c))
                .sum();
            marker.push_str(&"^".repeat(carets.max(1)));
            if let Some(label) = &self.label {
                write!(marker, " {label}")?;
            }
            writeln!(f, "{pad} | {marker}")?;
        } else if let Some(label) = &self.label {
            writeln!(f, "{pad} = {label}")?;
        }
        for help in &self.help {
            writeln!(f, "{pad} = help: {help}")?;
        }
        Ok(())
    }
}

/// Terminal columns a character takes: 2 for East Asian wide and fullwidth characters.
fn char_width(c: char) -> usize {
    let u = c as u32;
    let wide = matches!(u,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// Cut long lines to a window around the column; returns the text and the caret's column in it.
fn window(line: &str, col: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_SNIPPET_CHARS {
        return (line.to_string(), col.max(1));
    }
    let col0 = col.saturating_sub(1).min(chars.len());
    let start = col0.saturating_sub(MAX_SNIPPET_CHARS / 2);
    let end = (start + MAX_SNIPPET_CHARS).min(chars.len());
    let mut out = String::new();
    let mut caret = col0 - start + 1;
    if start > 0 {
        out.push('…');
        caret += 1;
    }
    out.extend(&chars[start..end]);
    if end < chars.len() {
        out.push('…');
    }
    (out, caret)
}

/// Keys whose literal values must never be echoed, even inside an error about that very line.
const SECRET_KEYS: &[&str] = &[
    "master_secret",
    "secret_key",
    "app_key",
    "access_id",
    "password",
    "secret",
];

/// Replace the value of a `secret_key: literal` line with asterisks. Env references
/// (`{ env: NAME }`) carry no secret and stay readable.
pub fn redact_secret_line(line: &str) -> String {
    let trimmed = line.trim_start().trim_start_matches("- ");
    for key in SECRET_KEYS {
        let Some(rest) = trimmed.strip_prefix(key) else {
            continue;
        };
        let rest_trim = rest.trim_start();
        let Some(value) = rest_trim.strip_prefix(':') else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() || value.starts_with('{') || value.starts_with('#') {
            return line.to_string();
        }
        let key_end = line.len() - rest.len();
        let colon = key_end + (rest.len() - rest_trim.len());
        return format!("{}: \"********\"", &line[..colon]);
    }
    line.to_string()
}

/// A set of problems found in the inputs. Errors make the command exit 2; warnings are printed.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| !d.is_error())
    }

    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter().filter(|d| d.is_error())
    }

    /// Keep only the warnings (after the errors were reported elsewhere).
    pub fn into_warnings(self) -> Vec<Diagnostic> {
        self.items.into_iter().filter(|d| !d.is_error()).collect()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// The closest candidate to `input` (for "did you mean" hints), if it is close enough to help.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(input, c);
        let limit = (c.len().max(input.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal string alignment distance: Levenshtein plus adjacent transpositions (`stpes`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[n][m]
}

/// Control characters (NUL, escape sequences) would garble a terminal; show a placeholder.
fn printable(line: &str) -> String {
    line.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_snippet_and_caret() {
        let file = SourceFile::new("pb.yaml", "version: 1\nlimits:\n  concurency: 8\n");
        let d = Diagnostic::error("unknown key `concurency` in `limits`")
            .at(
                &file,
                Span {
                    line: 3,
                    col: 3,
                    width: 10,
                },
            )
            .label("did you mean `concurrency`?");
        assert_eq!(
            d.to_string(),
            "error: unknown key `concurency` in `limits`\n --> pb.yaml:3:3\n  |\n3 |   concurency: 8\n  |   ^^^^^^^^^^ did you mean `concurrency`?\n"
        );
    }

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let file = SourceFile::new("x", "a: 极光\nb: x\n");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col("a: 极光\n".len() + 3), (2, 4));
        assert_eq!(file.line_col(3 + "极".len()), (1, 5));
    }

    #[test]
    fn literal_secrets_are_masked_in_snippets() {
        assert_eq!(
            redact_secret_line("    master_secret: 5e987ac6d2e04d95a9d8f0d1"),
            "    master_secret: \"********\""
        );
        assert_eq!(
            redact_secret_line("  secret_key: { env: TPNS_SECRET }"),
            "  secret_key: { env: TPNS_SECRET }"
        );
        assert_eq!(redact_secret_line("  title: hello"), "  title: hello");
    }

    #[test]
    fn redacted_ranges_are_masked_in_snippets() {
        let text = "a: 1\ncredentials: { secret_key: \"b8f5c1e2\" }\n";
        let start = text.find("\"b8f5").unwrap();
        let file = SourceFile::new("p.yaml", text)
            .with_redactions(std::iter::once(start..start + 10).collect());
        let d = Diagnostic::error("x").at(&file, Span::point(2, 3));
        assert_eq!(
            d.snippet.as_deref(),
            Some("credentials: { secret_key: ********** }")
        );
    }

    #[test]
    fn carets_line_up_under_wide_characters() {
        let file = SourceFile::new("t.txt", "标题 {{ x }}\n");
        let d = Diagnostic::error("x").at(
            &file,
            Span {
                line: 1,
                col: 4,
                width: 2,
            },
        );
        assert!(d.to_string().contains("\n  |      ^^\n"), "{d}");
    }

    #[test]
    fn long_lines_are_windowed_around_the_column() {
        let line = format!("{}X{}", "a".repeat(300), "b".repeat(300));
        let (shown, caret) = window(&line, 301);
        assert!(shown.chars().count() <= MAX_SNIPPET_CHARS + 2);
        assert_eq!(shown.chars().nth(caret - 1), Some('X'));
    }

    #[test]
    fn suggestions_need_to_be_close() {
        assert_eq!(
            did_you_mean("concurency", ["rate", "concurrency"]),
            Some("concurrency")
        );
        assert_eq!(did_you_mean("zzz", ["rate", "concurrency"]), None);
        assert_eq!(did_you_mean("stpes", ["steps", "vars"]), Some("steps"));
    }
}
