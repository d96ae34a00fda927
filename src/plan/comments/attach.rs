//! Attaching a source's comments to the statements of its plan, by the rules of
//! [`crate::plan::comments`].
//!
//! Receives the statements of a plan with their spans ([`anchors`], plus [`overlaid`] positions
//! for a merged YAML file), one source's text and its comments; [`place`] finds the statements'
//! lines in the text (and the text's blank lines, which [`super::blank_lines`] reads), and
//! [`attach`] records each comment in the [`PlanComments`] as header, footer, before a statement
//! or trailing on its line. Positions are clamped to the text, so spans of another text or a text
//! shorter than they say never panic.

use super::{CommentSyntax, Element, PlanComments, SourceComment, SourceRole, StatementPath};
use crate::diagnostics::{SourceId, Span};
use crate::plan::ast::{Execute, Op, Plan, Spanned, Step};

/// Every statement of `plan` that has a span of text, with its path.
pub(super) fn anchors(plan: &Plan) -> Vec<Anchor> {
    let mut anchors = Vec::new();
    walk_plan(plan, &mut Vec::new(), &mut anchors);
    anchors
}

/// A statement with its span.
#[derive(Debug, Clone)]
pub(super) struct Anchor {
    pub(super) path: StatementPath,
    pub(super) span: Span,
}

fn walk_plan(plan: &Plan, path: &mut StatementPath, anchors: &mut Vec<Anchor>) {
    for (index, input) in plan.inputs.iter().enumerate() {
        push_anchor(path, Element::Input(index), input.span, anchors);
    }
    if let Some(output) = &plan.output {
        push_anchor(path, Element::Output, output.span, anchors);
    }
    walk_steps(&plan.steps, path, anchors);
}

fn walk_steps(steps: &[Spanned<Step>], path: &mut StatementPath, anchors: &mut Vec<Anchor>) {
    for (index, step) in steps.iter().enumerate() {
        push_anchor(path, Element::Step(index), step.span, anchors);
        path.push(Element::Step(index));
        match &step.op {
            Op::Execute(Execute::Steps(nested)) => walk_steps(nested, path, anchors),
            Op::Execute(Execute::Plan(nested)) => walk_plan(nested, path, anchors),
            _ => {}
        }
        path.pop();
    }
}

/// Records a statement with its span. A statement built rather than parsed has an empty span
/// (`Span::default()`, which names the first source): it holds no text, so no comment.
fn push_anchor(path: &[Element], element: Element, span: Span, anchors: &mut Vec<Anchor>) {
    if span.start == span.end {
        return;
    }
    let mut full = path.to_vec();
    full.push(element);
    anchors.push(Anchor { path: full, span });
}

/// The top-level inputs, transforms and output a merged YAML file writes, by position, where the
/// plan's own statement at that position has no span in this file (a later file overlaid it,
/// or this file overlays an earlier one's).
pub(super) fn overlaid(id: SourceId, text: &str, all: &[Anchor], own: &[Anchor]) -> Vec<Anchor> {
    use crate::plan::yaml::node::{parse_document, Node, Value};
    let Ok(root) = parse_document(text, id, 0) else {
        return Vec::new();
    };
    fn items<'n>(root: &'n Node, key: &str) -> &'n [Node] {
        match root.get(key).map(|entry| &entry.value.value) {
            Some(Value::Sequence(items)) => items,
            _ => &[],
        }
    }
    let mut written: Vec<(Element, Span)> = Vec::new();
    for (index, item) in items(&root, "inputs").iter().enumerate() {
        written.push((Element::Input(index), item.span));
    }
    for (index, item) in items(&root, "transforms").iter().enumerate() {
        written.push((Element::Step(index), item.span));
    }
    if let Some(entry) = root.get("output") {
        written.push((Element::Output, entry.value.span));
    }
    written
        .into_iter()
        .filter(|(element, _)| {
            let path = [*element];
            all.iter().any(|anchor| anchor.path == path)
                && !own.iter().any(|anchor| anchor.path == path)
        })
        .map(|(element, span)| Anchor {
            path: vec![element],
            span,
        })
        .collect()
}

/// What attaching needs of a source's text: where lines start, where content begins, which lines
/// are blank.
pub(super) struct SourceText {
    line_starts: Vec<usize>,
    /// The first line holding something other than blanks and comments (and, in YAML, document
    /// markers and directives); `None` when there is none.
    first_content: Option<usize>,
    /// In the terse syntax, the last blank line above the first content, which ends the header.
    header_end: Option<usize>,
    /// The lines holding only spaces, in order.
    blank_lines: Vec<usize>,
}

impl SourceText {
    fn new(text: &str, syntax: CommentSyntax) -> SourceText {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(index, _)| index + 1));
        let mut lines: Vec<&str> = text.split('\n').collect();
        if text.ends_with('\n') {
            // What follows the last line break is no line.
            lines.pop();
        }
        let is_content = |line: &str| {
            let line = line.trim();
            let marker = syntax == CommentSyntax::Yaml
                && (line.starts_with("---") || line.starts_with("...") || line.starts_with('%'));
            !line.is_empty() && !line.starts_with('#') && !marker
        };
        let first_content = lines.iter().position(|line| is_content(line));
        let header_end = match syntax {
            CommentSyntax::Yaml => None,
            CommentSyntax::Terse => lines[..first_content.unwrap_or(lines.len())]
                .iter()
                .rposition(|line| line.trim().is_empty()),
        };
        let blank_lines = (0..lines.len())
            .filter(|index| lines[*index].trim().is_empty())
            .collect();
        SourceText {
            line_starts,
            first_content,
            header_end,
            blank_lines,
        }
    }

    pub(super) fn line(&self, offset: usize) -> usize {
        self.line_starts
            .partition_point(|start| *start <= offset)
            .saturating_sub(1)
    }

    /// Whether a comment on `line` is in the header.
    pub(super) fn in_header(&self, line: usize) -> bool {
        let leading = self.first_content.is_none_or(|first| line < first);
        leading && self.header_end.is_none_or(|end| line < end)
    }

    /// Whether a blank line lies strictly between the lines `after` and `before`.
    pub(super) fn blank_between(&self, after: usize, before: usize) -> bool {
        let next = self.blank_lines.partition_point(|line| *line <= after);
        self.blank_lines
            .get(next)
            .is_some_and(|line| *line < before)
    }
}

/// An anchor placed in its source: where it starts and ends, in bytes and lines.
pub(super) struct Placed<'a> {
    pub(super) path: &'a [Element],
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) start_line: usize,
    pub(super) end_line: usize,
}

/// One source's text and statements, placed once for [`attach`] and for
/// [`super::blank_lines::record`].
pub(super) struct Placement<'a> {
    pub(super) source: SourceText,
    /// The statements by where they start, an enclosing one before those it holds.
    pub(super) statements: Vec<Placed<'a>>,
    /// The length of the text: comment offsets are clamped to it.
    pub(super) length: usize,
}

/// Places the statements `anchors` in `text`, a source of `syntax`.
pub(super) fn place<'a>(text: &str, syntax: CommentSyntax, anchors: &'a [Anchor]) -> Placement<'a> {
    let source = SourceText::new(text, syntax);
    let length = text.len();
    let mut statements: Vec<Placed<'a>> = anchors
        .iter()
        .map(|anchor| {
            let start = (anchor.span.start as usize).min(length);
            let end = (anchor.span.end as usize).clamp(start, length);
            Placed {
                path: &anchor.path,
                start,
                end,
                start_line: source.line(start),
                end_line: source.line(end),
            }
        })
        .collect();
    statements.sort_by_key(|anchor| (anchor.start, anchor.path.len()));
    Placement {
        source,
        statements,
        length,
    }
}

/// Where one comment goes.
enum Target<'a> {
    Header,
    Footer,
    Before(&'a [Element]),
    Trailing(&'a [Element]),
    Nowhere,
}

/// Attaches the comments `found` in a source (of `role`, placed by [`place`]) to its statements.
pub(super) fn attach(
    placement: &Placement<'_>,
    role: SourceRole,
    found: &[SourceComment],
    comments: &mut PlanComments,
) {
    let Placement {
        source,
        statements: placed,
        length,
    } = placement;
    for comment in found {
        let target = target(source, role, placed, comment.offset.min(*length));
        match target {
            Target::Header => comments.add_header(&comment.text),
            Target::Footer => comments.add_footer(&comment.text),
            Target::Before(path) => comments.add_before(path, &comment.text),
            Target::Trailing(path) => comments.set_trailing(path, &comment.text),
            Target::Nowhere => {}
        }
    }
}

/// The statement (or header, footer) a comment at `offset` belongs to, by the module's rules.
fn target<'a>(
    source: &SourceText,
    role: SourceRole,
    placed: &[Placed<'a>],
    offset: usize,
) -> Target<'a> {
    let line = source.line(offset);
    if role != SourceRole::Entry && source.in_header(line) {
        return Target::Header;
    }
    let trailing = placed
        .iter()
        .filter(|a| a.start_line == line && a.start < offset)
        .min_by_key(|a| (a.path.len(), std::cmp::Reverse(a.start)));
    if let Some(anchor) = trailing {
        return Target::Trailing(anchor.path);
    }
    let enclosing = placed
        .iter()
        .filter(|a| a.start < offset && a.end_line >= line)
        .max_by_key(|a| (a.path.len(), a.start));
    // `placed` is sorted by start, so the first match is the next statement.
    let next = placed.iter().find(|a| {
        a.start > offset
            && enclosing.is_none_or(|e| a.path.len() > e.path.len() && a.path.starts_with(e.path))
    });
    match (next, enclosing) {
        (Some(next), _) => Target::Before(next.path),
        (None, Some(enclosing)) => Target::Before(enclosing.path),
        (None, None) if role == SourceRole::Entry => placed
            .iter()
            .filter(|a| a.path.len() == 1)
            .max_by_key(|a| a.start)
            .map_or(Target::Nowhere, |a| Target::Before(a.path)),
        (None, None) => Target::Footer,
    }
}
