//! The comments and blank lines of a plan's sources, attached to the plan's statements so that
//! `fmt` prints them back in either syntax.
//!
//! Receives a parsed [`Plan`], the [`SourceMap`] its spans point into, and the sources to read
//! comments from ([`CommentSource`]: its syntax and its role); returns [`PlanComments`]: the
//! file's header and footer, and for each statement — an input, the output, a step, a step or
//! declaration inside an `execute` block, named by its [`StatementPath`] — the comment lines
//! before it, the comment on its own line, and whether a blank line sets it apart. Which text is
//! a comment is decided by each syntax's own parser ([`crate::plan::yaml::node::comments`],
//! [`crate::plan::terse::comments::comments`]), so a `#` inside a quoted string is none.
//!
//! Rules, by position in the source (the statements' spans):
//! - **trailing**: a comment on the line where a statement starts, after its start (`x = y  # why`,
//!   `execute {  # why`, `- phlora:  # why`); when several statements start on that line, the
//!   outermost, then the last one;
//! - **inside**: a comment within the lines of a statement that is not trailing (inside a nested
//!   YAML mapping of a transform, on the `}` line of a block) goes before the next statement nested
//!   in that one, or, when none follows, before that statement itself;
//! - **before**: any other comment goes before the next statement of its source;
//! - **header**: the comments above a file's first line of content. In the terse syntax a blank
//!   line ends the header: comments between the last blank line and the first statement are that
//!   statement's. **footer**: comments after the last statement.
//!
//! **Blank lines**, in plan files (not REPL entries): a statement that one or more blank lines
//! separate, with its comment lines, from what precedes it in its source (the previous statement,
//! the line opening its block, or the header) is printed after one empty line. A blank line inside
//! a statement precedes nothing and is not kept. [`PlanComments::settled`] then keeps only what
//! both printers print alike: none before the first statement of a block or of a file without a
//! header, none before the first step after declarations (the terse printer sets the steps apart
//! there of its own), and always one before the first statement after a header when that
//! statement has comment lines (the terse syntax needs it to end the header). Within the header
//! and before the footer, blank lines are not kept.
//!
//! Trailing spaces of a comment are dropped; control characters (which YAML cannot hold in a
//! comment) become `U+FFFD`. The rules are applied in `attach` and `blank_lines`.
//!
//! **Guarantees.** Never panics on any text or plan. Comments are never part of the AST, so plan
//! equality and the plan hash ignore them. What the printers write with comments parses back to
//! the same plan, and collecting the comments of that text gives the same [`PlanComments`], blank
//! lines settled (the tests check YAML → terse → YAML on random placements), except in the corner
//! the docs list: in a YAML plan with no inputs and no transforms, comments before `output:` (or
//! the footer of an empty plan) read back as the header.

mod attach;
mod blank_lines;

use crate::diagnostics::{SourceId, SourceMap};
use crate::plan::ast::Plan;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::Path;

/// One comment found in a source: the byte offset of its `#` and the text after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceComment {
    pub offset: usize,
    pub text: String,
}

/// One statement of a plan, relative to the plan (or `execute` block) holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Element {
    Input(usize),
    Output,
    Step(usize),
}

/// Where a statement is: from the top-level plan down, every element but the last is an
/// `execute` step whose block (nested steps or a nested plan) holds the next.
pub type StatementPath = Vec<Element>;

/// The comments of one statement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Attached {
    /// Comment lines printed before the statement, at its indentation.
    pub before: Vec<String>,
    /// The comment printed after the statement on its line.
    pub trailing: Option<String>,
}

/// The comments of a plan, and the statements a blank line sets apart. Each text is what follows
/// `#` (so `# note` is ` note`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanComments {
    header: Vec<String>,
    footer: Vec<String>,
    statements: BTreeMap<StatementPath, Attached>,
    /// The statements printed after an empty line (before their comment lines).
    blank_lines: BTreeSet<StatementPath>,
}

impl PlanComments {
    pub fn new() -> PlanComments {
        PlanComments::default()
    }

    pub fn is_empty(&self) -> bool {
        self.header.is_empty()
            && self.footer.is_empty()
            && self.statements.is_empty()
            && self.blank_lines.is_empty()
    }

    /// The comments at the top of the file.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The comments after the last statement.
    pub fn footer(&self) -> &[String] {
        &self.footer
    }

    /// The comment lines before the statement at `path`.
    pub fn before(&self, path: &[Element]) -> &[String] {
        self.statements
            .get(path)
            .map_or(&[][..], |attached| attached.before.as_slice())
    }

    /// The comment on the line of the statement at `path`.
    pub fn trailing(&self, path: &[Element]) -> Option<&str> {
        self.statements
            .get(path)
            .and_then(|attached| attached.trailing.as_deref())
    }

    /// Whether a blank line separates the statement at `path` (with its comment lines) from what
    /// precedes it.
    pub fn blank_line_before(&self, path: &[Element]) -> bool {
        self.blank_lines.contains(path)
    }

    /// Whether a statement nested in the one at `path` (inside its `execute` block) has comments
    /// or a blank line before it.
    pub fn has_within(&self, path: &[Element]) -> bool {
        let after = (Bound::Excluded(path), Bound::Unbounded);
        let commented = self
            .statements
            .range::<[Element], _>(after)
            .next()
            .is_some_and(|(key, _)| key.starts_with(path));
        let blank = self
            .blank_lines
            .range::<[Element], _>(after)
            .next()
            .is_some_and(|key| key.starts_with(path));
        commented || blank
    }

    /// Every statement with comments, in path order.
    pub fn statements(&self) -> impl Iterator<Item = (&[Element], &Attached)> {
        self.statements
            .iter()
            .map(|(path, attached)| (path.as_slice(), attached))
    }

    /// Every statement with a blank line before it, in path order.
    pub fn blank_lines(&self) -> impl Iterator<Item = &[Element]> {
        self.blank_lines.iter().map(Vec::as_slice)
    }

    pub fn add_header(&mut self, text: &str) {
        self.header.push(clean(text));
    }

    pub fn add_footer(&mut self, text: &str) {
        self.footer.push(clean(text));
    }

    pub fn add_before(&mut self, path: &[Element], text: &str) {
        self.entry(path).before.push(clean(text));
    }

    /// Sets the statement's trailing comment; a statement that has one already gets this one as
    /// a line before it instead, so no comment is lost.
    pub fn set_trailing(&mut self, path: &[Element], text: &str) {
        let attached = self.entry(path);
        match attached.trailing {
            None => attached.trailing = Some(clean(text)),
            Some(_) => attached.before.push(clean(text)),
        }
    }

    /// These comments with the blank lines both printers print for `plan` (the module's rules).
    /// [`collect`] returns settled comments, and the printers settle what they are given, so both
    /// print the same blank lines whatever they are given.
    pub fn settled(&self, plan: &Plan) -> PlanComments {
        let mut settled = self.clone();
        blank_lines::settle(plan, &mut settled);
        settled
    }

    /// Records a blank line before the statement at `path` (several make one).
    pub fn add_blank_line(&mut self, path: &[Element]) {
        self.blank_lines.insert(path.to_vec());
    }

    fn remove_blank_line(&mut self, path: &[Element]) {
        self.blank_lines.remove(path);
    }

    fn entry(&mut self, path: &[Element]) -> &mut Attached {
        self.statements.entry(path.to_vec()).or_default()
    }
}

/// The syntax a source is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentSyntax {
    Terse,
    Yaml,
}

impl CommentSyntax {
    /// Terse for a `.bs` file, YAML otherwise (as `load_plan` decides).
    pub fn of_path(path: &Path) -> CommentSyntax {
        if path.extension().is_some_and(|e| e == "bs") {
            CommentSyntax::Terse
        } else {
            CommentSyntax::Yaml
        }
    }
}

/// What a source is to the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceRole {
    /// A plan file: its leading comments are the header, the ones after its last statement the
    /// footer.
    File,
    /// One of several YAML files deep-merged in order: as [`SourceRole::File`], and since lists
    /// merge by index, a top-level input or transform that a later file overlays keeps this
    /// file's comments by its position too.
    MergedFile,
    /// A REPL entry: no header or footer; a comment after the entry's last statement goes before
    /// that statement.
    Entry,
}

/// A source to read comments from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommentSource {
    pub id: SourceId,
    pub syntax: CommentSyntax,
    pub role: SourceRole,
}

/// The plan files [`crate::plan::yaml::load_plan`] read into `sources`, found by their names
/// among the sources it added (from index `first` on), in the order of `paths`. Several YAML files
/// are [`SourceRole::MergedFile`]s.
pub fn loaded_files(
    sources: &SourceMap,
    first: usize,
    paths: &[impl AsRef<Path>],
) -> Vec<CommentSource> {
    let mut taken: Vec<SourceId> = Vec::new();
    for path in paths {
        let name = path.as_ref().display().to_string();
        let found = (first..sources.len())
            .map(|index| SourceId(index as u32))
            .find(|id| !taken.contains(id) && sources.get(*id).is_some_and(|s| s.name == name));
        taken.extend(found);
    }
    let syntaxes: Vec<CommentSyntax> = taken
        .iter()
        .filter_map(|id| sources.get(*id))
        .map(|source| CommentSyntax::of_path(Path::new(&source.name)))
        .collect();
    let merged = syntaxes
        .iter()
        .filter(|s| **s == CommentSyntax::Yaml)
        .count()
        > 1;
    taken
        .into_iter()
        .zip(syntaxes)
        .map(|(id, syntax)| CommentSource {
            id,
            syntax,
            role: if merged && syntax == CommentSyntax::Yaml {
                SourceRole::MergedFile
            } else {
                SourceRole::File
            },
        })
        .collect()
}

/// Collects the comments of `from` (in order: headers and footers of several files follow that
/// order) and attaches them to the statements of `plan`, with the blank lines of the plan files
/// (not of REPL entries).
pub fn collect(plan: &Plan, sources: &SourceMap, from: &[CommentSource]) -> PlanComments {
    let anchors = attach::anchors(plan);
    let mut comments = PlanComments::new();
    for source in from {
        let Some(text) = sources.get(source.id).map(|s| s.text.clone()) else {
            continue;
        };
        let found = match source.syntax {
            CommentSyntax::Terse => crate::plan::terse::comments::comments(&text),
            CommentSyntax::Yaml => crate::plan::yaml::node::comments(&text),
        };
        let entry = source.role == SourceRole::Entry;
        if entry && found.is_empty() {
            continue;
        }
        let mut own: Vec<attach::Anchor> = anchors
            .iter()
            .filter(|anchor| anchor.span.source == source.id)
            .cloned()
            .collect();
        if source.role == SourceRole::MergedFile {
            own.extend(attach::overlaid(source.id, &text, &anchors, &own));
        }
        let placement = attach::place(&text, source.syntax, &own);
        attach::attach(&placement, source.role, &found, &mut comments);
        if !entry {
            blank_lines::record(&placement, &found, &mut comments);
        }
    }
    blank_lines::settle(plan, &mut comments);
    comments
}

/// Ends the text with an empty line, unless it is empty or ends with one already: what both
/// printers write before a statement with [`PlanComments::blank_line_before`].
pub(crate) fn push_blank_line(out: &mut String) {
    if !out.is_empty() && !out.ends_with("\n\n") {
        out.push('\n');
    }
}

/// A comment text as the printers can write it in both syntaxes: trailing spaces dropped, and
/// characters YAML does not allow in a comment (control characters but tab, line and paragraph
/// separators, which YAML 1.1 readers take for line breaks, and the non-characters) replaced by
/// `U+FFFD`.
fn clean(text: &str) -> String {
    text.trim_end()
        .chars()
        .map(|c| {
            let unfit = (c.is_control() && c != '\t')
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FFFE}' | '\u{FFFF}');
            if unfit {
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
    fn clean_keeps_what_both_syntaxes_can_hold() {
        assert_eq!(clean(" note\t  "), " note");
        assert_eq!(clean(" a\rb\u{2028}c\u{7}"), " a\u{FFFD}b\u{FFFD}c\u{FFFD}");
        assert_eq!(clean("\ttab # hash"), "\ttab # hash");
    }

    #[test]
    fn a_second_trailing_comment_goes_before() {
        let mut comments = PlanComments::new();
        comments.set_trailing(&[Element::Step(0)], " one");
        comments.set_trailing(&[Element::Step(0)], " two");
        assert_eq!(comments.trailing(&[Element::Step(0)]), Some(" one"));
        assert_eq!(comments.before(&[Element::Step(0)]), [" two".to_string()]);
    }

    #[test]
    fn has_within_sees_only_nested_statements() {
        let mut comments = PlanComments::new();
        comments.add_before(&[Element::Step(1)], " on the block");
        assert!(!comments.has_within(&[Element::Step(1)]));
        comments.add_before(&[Element::Step(2), Element::Step(0)], " nested");
        assert!(comments.has_within(&[Element::Step(2)]));
        assert!(!comments.has_within(&[Element::Step(1)]));
        assert!(!comments.has_within(&[Element::Step(3)]));
    }
}
