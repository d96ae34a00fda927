//! Diagnostics as data, rendered in one place.
//!
//! Every stage reports problems as [`Diagnostic`] values (a stable code, a message, labeled spans, a
//! help line, notes); the per-stage `diagnostics.rs` files hold one constructor per kind of error so
//! the wording is reviewed in one file. Spans point into a [`SourceMap`] that owns the text of every
//! plan file (and override string) a run read. Two renderers: [`render_plain`] is deterministic and
//! width-independent (golden tests, non-terminal stderr); [`render_fancy`] goes through miette's
//! graphical handler for terminals.

use std::fmt::Write as _;
use std::sync::Arc;

/// Identifies one source text of a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SourceId(pub u32);

/// A byte range of one source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub source: SourceId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(source: SourceId, start: usize, end: usize) -> Span {
        Span {
            source,
            start: start as u32,
            end: end.max(start) as u32,
        }
    }

    /// The smallest span covering both (they must be of the same source; else `self`).
    pub fn to(self, other: Span) -> Span {
        if self.source != other.source {
            return self;
        }
        Span {
            source: self.source,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// One named text (a plan file, an override given on the command line, a REPL line).
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: Arc<str>,
}

/// All source texts of a run, so that spans can be resolved to file:line:column.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    sources: Vec<Source>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceId {
        self.sources.push(Source {
            name: name.into(),
            text: text.into(),
        });
        SourceId(self.sources.len() as u32 - 1)
    }

    pub fn get(&self, id: SourceId) -> Option<&Source> {
        self.sources.get(id.0 as usize)
    }

    /// How many sources the map holds; the next [`SourceMap::add`] returns `SourceId(len)`.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, id: SourceId, offset: usize) -> (usize, usize) {
        let Some(source) = self.get(id) else {
            return (1, 1);
        };
        line_col(&source.text, offset)
    }
}

/// 1-based line and column (in characters) of `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A span with the text shown under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// One problem found by some stage. `code` is stable (listed in `docs/errors.md`); the first label is
/// the primary one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

/// A list of diagnostics from one run of a stage; errors are never only the first one.
pub type Diagnostics = Vec<Diagnostic>;

/// Deterministic, width-independent rendering (used by golden tests and for non-terminal stderr):
///
/// ```text
/// error[E0101]: unknown op `cpy`
///   --> plan.yaml:3:5
///    |
///  3 |   - cpy: {from: a, to: b}
///    |     ^^^ not an operation
///    = help: did you mean `copy`?
/// ```
pub fn render_plain(diagnostic: &Diagnostic, sources: &SourceMap) -> String {
    let mut out = String::new();
    let severity = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(
        out,
        "{severity}[{}]: {}",
        diagnostic.code, diagnostic.message
    );
    for (index, label) in diagnostic.labels.iter().enumerate() {
        let Some(source) = sources.get(label.span.source) else {
            continue;
        };
        let text = &source.text;
        let (line, column) = line_col(text, label.span.start as usize);
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let arrow = if index == 0 { "-->" } else { ":::" };
        let _ = writeln!(out, "{pad}{arrow} {}:{line}:{column}", source.name);
        let _ = writeln!(out, "{pad} |");
        let line_text = text.lines().nth(line - 1).unwrap_or("");
        let _ = writeln!(out, "{line} | {line_text}");
        // The caret runs to the end of the span or of the line, whichever comes first; an empty span
        // still gets one caret.
        let line_chars = line_text.chars().count();
        let span_text = text
            .get(label.span.range())
            .unwrap_or("")
            .split('\n')
            .next()
            .unwrap_or("");
        let width = span_text
            .chars()
            .count()
            .min(line_chars.saturating_sub(column - 1))
            .max(1);
        let _ = write!(
            out,
            "{pad} | {}{}",
            " ".repeat(column - 1),
            "^".repeat(width)
        );
        if label.text.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, " {}", label.text);
        }
    }
    if let Some(help) = &diagnostic.help {
        let _ = writeln!(out, "  = help: {help}");
    }
    for note in &diagnostic.notes {
        let _ = writeln!(out, "  = note: {note}");
    }
    out
}

/// Renders all diagnostics plainly, separated by blank lines.
pub fn render_all_plain(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    diagnostics
        .iter()
        .map(|d| render_plain(d, sources))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A miette view of one diagnostic (labels on its primary source; labels in other sources become
/// notes with their file:line:column).
#[derive(Debug)]
struct MietteView {
    message: String,
    code: &'static str,
    severity: miette::Severity,
    help: Option<String>,
    source: Option<miette::NamedSource<String>>,
    labels: Vec<miette::LabeledSpan>,
}

impl std::fmt::Display for MietteView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MietteView {}

impl miette::Diagnostic for MietteView {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
}

/// Colored, boxed rendering through miette, for terminals.
pub fn render_fancy(diagnostic: &Diagnostic, sources: &SourceMap) -> String {
    let primary = diagnostic.primary_span().map(|s| s.source);
    let mut help = diagnostic.help.clone();
    let mut labels = Vec::new();
    for label in &diagnostic.labels {
        if Some(label.span.source) == primary {
            labels.push(miette::LabeledSpan::new_with_span(
                (!label.text.is_empty()).then(|| label.text.clone()),
                label.span.range(),
            ));
        } else if let Some(source) = sources.get(label.span.source) {
            let (line, column) = line_col(&source.text, label.span.start as usize);
            let extra = format!("{}:{line}:{column}: {}", source.name, label.text);
            help = Some(match help {
                Some(h) => format!("{h}\n{extra}"),
                None => extra,
            });
        }
    }
    for note in &diagnostic.notes {
        help = Some(match help {
            Some(h) => format!("{h}\nnote: {note}"),
            None => format!("note: {note}"),
        });
    }
    let view = MietteView {
        message: diagnostic.message.clone(),
        code: diagnostic.code,
        severity: match diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        },
        help,
        source: primary
            .and_then(|id| sources.get(id))
            .map(|s| miette::NamedSource::new(s.name.clone(), s.text.to_string())),
        labels,
    };
    let mut out = String::new();
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode());
    if handler.render_report(&mut out, &view).is_err() {
        return render_plain(diagnostic, sources);
    }
    out
}

/// Renders for stderr: fancy when stderr is a terminal, plain otherwise.
pub fn render_for_stderr(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        diagnostics
            .iter()
            .map(|d| render_fancy(d, sources))
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        render_all_plain(diagnostics, sources)
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// The `limit` candidates nearest to `word` by edit distance (ties broken by name), never the whole
/// list.
pub fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    limit: usize,
) -> Vec<&'a str> {
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .collect();
    scored.sort();
    scored.into_iter().take(limit).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_render_points_at_line_and_column() {
        let mut sources = SourceMap::new();
        let text = "transforms:\n  - cpy: {from: a, to: b}\n";
        let id = sources.add("plan.yaml", text);
        let start = text.find("cpy").unwrap();
        let d = Diagnostic::error("E0101", "unknown op `cpy`")
            .with_label(Span::new(id, start, start + 3), "not an operation")
            .with_help("did you mean `copy`?");
        let rendered = render_plain(&d, &sources);
        assert_eq!(
            rendered,
            "error[E0101]: unknown op `cpy`\n --> plan.yaml:2:5\n  |\n2 |   - cpy: {from: a, to: b}\n  |     ^^^ not an operation\n  = help: did you mean `copy`?\n"
        );
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\ncé d", 6), (2, 3));
        assert_eq!(line_col("", 10), (1, 1));
    }

    #[test]
    fn nearest_names_are_ranked_by_edit_distance() {
        let names = [
            "h.0.attn.weight",
            "h.1.attn.weight",
            "wte.weight",
            "ln_f.weight",
        ];
        assert_eq!(
            nearest("h.0.atn.weight", names, 2),
            vec!["h.0.attn.weight", "h.1.attn.weight"]
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
