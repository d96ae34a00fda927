//! Diagnostics as the page shows them.
//!
//! [`diagnostics_json`] receives diagnostics and the source map their spans point into, and
//! returns a JSON array: per diagnostic its severity, code, message, help and notes, the plain
//! rendering `check` prints (the same [`render_plain`] text), and its labels with 1-based line
//! and column of start and end. A label in the editor's own text (source 0) is marked
//! `"in_editor": true`; the first such label places the inline marker, so a diagnostic about a
//! nested plan file still lists but never marks a wrong line of the editor.

use serde_json::{json, Value};

use crate::diagnostics::{render_plain, Diagnostic, Label, Severity, SourceId, SourceMap};

/// The editor's text is the first source of every checked document.
const EDITOR_SOURCE: SourceId = SourceId(0);

pub fn diagnostics_json(diagnostics: &[Diagnostic], sources: &SourceMap) -> Value {
    Value::Array(
        diagnostics
            .iter()
            .map(|diagnostic| diagnostic_json(diagnostic, sources))
            .collect(),
    )
}

fn diagnostic_json(diagnostic: &Diagnostic, sources: &SourceMap) -> Value {
    let labels: Vec<Value> = diagnostic
        .labels
        .iter()
        .map(|label| label_json(label, sources))
        .collect();
    let at = labels
        .iter()
        .find(|label| label["in_editor"] == Value::Bool(true))
        .cloned()
        .unwrap_or(Value::Null);
    json!({
        "severity": match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        "code": diagnostic.code,
        "message": diagnostic.message,
        "help": diagnostic.help,
        "notes": diagnostic.notes,
        "labels": labels,
        "at": at,
        "rendered": render_plain(diagnostic, sources),
    })
}

fn label_json(label: &Label, sources: &SourceMap) -> Value {
    let (line, column) = sources.line_col(label.span.source, label.span.start as usize);
    let (end_line, end_column) = sources.line_col(label.span.source, label.span.end as usize);
    json!({
        "text": label.text,
        "source": sources.get(label.span.source).map(|source| source.name.clone()),
        "in_editor": label.span.source == EDITOR_SOURCE,
        "line": line,
        "column": column,
        "end_line": end_line,
        "end_column": end_column,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Span;

    #[test]
    fn labels_carry_line_and_column_and_mark_the_editor() {
        let mut sources = SourceMap::new();
        let editor = sources.add("plan.yaml", "inputs:\n  - m: x\nbad: 1\n");
        let nested = sources.add("nested.yaml", "a\n");
        let diagnostic = Diagnostic::error("E0102", "unknown key")
            .with_label(Span::new(nested, 0, 1), "there")
            .with_label(Span::new(editor, 17, 20), "here")
            .with_help("remove it");
        let value = diagnostics_json(&[diagnostic], &sources);
        let first = &value[0];
        assert_eq!(first["code"], "E0102");
        assert_eq!(first["severity"], "error");
        assert_eq!(first["labels"][0]["in_editor"], false);
        assert_eq!(first["at"]["line"], 3);
        assert_eq!(first["at"]["column"], 1);
        assert_eq!(first["at"]["end_column"], 4);
        assert!(first["rendered"]
            .as_str()
            .is_some_and(|text| text.contains("plan.yaml:3:1")));
    }
}
