//! What one entry at the prompt says: steps in terse syntax, a YAML step or list of steps, or a
//! BrainSurgery one-line (OLY) step.
//!
//! Receives the source holding the entry (its text is padded with line breaks so that line
//! numbers count from the start of the session) and the session's alias scope; returns the
//! steps (and a terse `output` declaration, if the entry has one), or every diagnostic of the
//! entry. The syntax is chosen by the entry's start: a line that begins like YAML (`- `, `{`, or
//! `identifier:` that is not `alias::`) is YAML, and when YAML cannot parse it, OLY — reporting
//! both errors when neither can (as the reference's prompt does); anything else is terse.
//!
//! **Guarantees.** Steps are lowered by the plan front ends themselves (the terse parser, the
//! YAML lowering), so an entry means exactly what the same text means in a plan file.

use crate::diagnostics::{Diagnostic, SourceId, SourceMap};
use crate::plan::ast::{Output, Spanned, Step};
use crate::plan::reference::AliasScope;
use crate::plan::terse::parse_terse_in_scope;
use crate::plan::yaml::lower::Lowerer;
use crate::plan::yaml::node::{parse_document, Node, Value};

use super::diagnostics;
use super::oly::parse_oly;

/// The steps of one entry.
#[derive(Debug, Clone, Default)]
pub struct ParsedEntry {
    pub steps: Vec<Spanned<Step>>,
    /// A terse `output "path" …` line, which sets the plan's output.
    pub output: Option<Spanned<Output>>,
}

/// The syntax an entry is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntrySyntax {
    Terse,
    /// YAML, and OLY when YAML cannot parse a one-line entry.
    YamlOrOly,
}

/// Decides the syntax from the entry's first significant characters.
pub fn syntax_of(text: &str) -> EntrySyntax {
    let text = text.trim_start();
    if text == "-" || text.starts_with("- ") || text.starts_with("-\n") || text.starts_with('{') {
        return EntrySyntax::YamlOrOly;
    }
    let identifier = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(text.len());
    let starts_identifier = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let after = text[identifier..].trim_start_matches([' ', '\t']);
    if starts_identifier && after.starts_with(':') && !after.starts_with("::") {
        EntrySyntax::YamlOrOly
    } else {
        EntrySyntax::Terse
    }
}

/// Parses the entry held by source `id`; its text starts after `padding` bytes of line breaks.
pub fn parse_entry(
    sources: &mut SourceMap,
    id: SourceId,
    padding: usize,
    scope: &AliasScope,
) -> Result<ParsedEntry, Vec<Diagnostic>> {
    let Some(source) = sources.get(id) else {
        return Ok(ParsedEntry::default());
    };
    let text = source.text.clone();
    let entry = text.get(padding..).unwrap_or("");
    match syntax_of(entry) {
        EntrySyntax::Terse => parse_terse(sources, id, scope),
        EntrySyntax::YamlOrOly => match parse_document(&text, id, 0) {
            Ok(node) => lower_yaml(sources, &node, scope),
            Err(yaml_errors) => {
                // OLY is one line that starts with an op name.
                let trimmed = entry.trim();
                let oly = !trimmed.contains('\n') && !trimmed.starts_with(['-', '{']);
                if !oly {
                    return Err(yaml_errors);
                }
                match parse_oly(entry.trim_end(), id, padding) {
                    Ok(node) => lower_yaml(sources, &node, scope),
                    Err(oly_error) => {
                        let mut errors = yaml_errors;
                        errors.push(oly_error);
                        Err(errors)
                    }
                }
            }
        },
    }
}

fn parse_terse(
    sources: &SourceMap,
    id: SourceId,
    scope: &AliasScope,
) -> Result<ParsedEntry, Vec<Diagnostic>> {
    let plan = parse_terse_in_scope(sources, id, scope)?;
    if let Some(input) = plan.inputs.first() {
        return Err(vec![diagnostics::inputs_in_entry(input.span)]);
    }
    Ok(ParsedEntry {
        steps: plan.steps,
        output: plan.output,
    })
}

/// A step (a mapping or a bare op name) or a list of steps, through the YAML lowering.
fn lower_yaml(
    sources: &mut SourceMap,
    node: &Node,
    scope: &AliasScope,
) -> Result<ParsedEntry, Vec<Diagnostic>> {
    let mut lowerer = Lowerer::new(sources);
    lowerer.scope = scope.clone();
    let steps = match &node.value {
        Value::Null => Vec::new(),
        Value::Sequence(_) => lowerer.steps(node),
        _ => lowerer.step(node).into_iter().collect(),
    };
    let errors = lowerer.into_diagnostics();
    if errors.is_empty() {
        Ok(ParsedEntry {
            steps,
            output: None,
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ast::Op;

    fn parse(text: &str) -> Result<ParsedEntry, Vec<Diagnostic>> {
        let mut sources = SourceMap::new();
        let padded = format!("\n\n{text}");
        let id = sources.add("<test>", padded.as_str());
        let scope = AliasScope::from_inputs(vec!["model".into()]);
        parse_entry(&mut sources, id, 2, &scope)
    }

    fn op_names(text: &str) -> Vec<&'static str> {
        match parse(text) {
            Ok(entry) => entry.steps.iter().map(|s| s.node.op.name()).collect(),
            Err(errors) => panic!("{text}: {errors:?}"),
        }
    }

    #[test]
    fn chooses_the_syntax_by_the_start_of_the_entry() {
        assert_eq!(syntax_of("x = a"), EntrySyntax::Terse);
        assert_eq!(syntax_of("base::x = a"), EntrySyntax::Terse);
        assert_eq!(syntax_of("[h, $i] = [g, $i]"), EntrySyntax::Terse);
        assert_eq!(syntax_of("del x"), EntrySyntax::Terse);
        assert_eq!(syntax_of("copy: {from: a, to: b}"), EntrySyntax::YamlOrOly);
        assert_eq!(syntax_of("  - copy:\n    from: a"), EntrySyntax::YamlOrOly);
        assert_eq!(syntax_of("copy: from: a, to: b"), EntrySyntax::YamlOrOly);
    }

    #[test]
    fn the_three_syntaxes_give_the_same_step() {
        let terse = parse("x = ln_f.weight").unwrap();
        let yaml = parse("- copy: {from: ln_f.weight, to: x}").unwrap();
        let oly = parse("copy: from: ln_f.weight, to: x").unwrap();
        let block = parse("copy:\n  from: ln_f.weight\n  to: x\n").unwrap();
        assert_eq!(terse.steps, yaml.steps);
        assert_eq!(terse.steps, oly.steps);
        assert_eq!(terse.steps, block.steps);
        assert!(matches!(terse.steps[0].node.op, Op::Copy(_)));
    }

    #[test]
    fn lists_blocks_and_nested_shorthand_parse() {
        assert_eq!(
            op_names("- delete: {target: a}\n- exit\n"),
            vec!["delete", "exit"]
        );
        assert_eq!(op_names("help: assert: equal"), vec!["help"]);
        assert_eq!(op_names("assert: exists: ln_f.weight"), vec!["assert"]);
        assert_eq!(op_names("execute {\n  x = a\n  del a\n}"), vec!["execute"]);
    }

    #[test]
    fn an_unparsable_line_reports_the_yaml_and_the_oly_error() {
        let errors = parse("copy: from: [a, to: b").unwrap_err();
        let codes: Vec<&str> = errors.iter().map(|e| e.code).collect();
        assert_eq!(codes, vec!["E0100", "E0702"]);
    }

    #[test]
    fn inputs_are_refused_and_outputs_are_kept() {
        let errors = parse("input other = \"x.safetensors\"").unwrap_err();
        assert_eq!(errors[0].code, "E0712");
        let entry = parse("output \"out.safetensors\"").unwrap();
        assert_eq!(entry.output.unwrap().node.path.node, "out.safetensors");
    }

    #[test]
    fn line_numbers_count_the_padding() {
        let mut sources = SourceMap::new();
        let id = sources.add("<stdin>", "\n\n\nx = nope(");
        let scope = AliasScope::from_inputs(vec!["model".into()]);
        let errors = parse_entry(&mut sources, id, 3, &scope).unwrap_err();
        let span = errors[0].primary_span().unwrap();
        assert_eq!(sources.line_col(id, span.start as usize).0, 4);
    }
}
