//! `fmt` keeps a plan's comments and blank lines: where each comment of a YAML or terse source is
//! attached (header, before a statement, trailing on its line, inside a nested YAML mapping,
//! footer; a `#` inside a quoted string is none), which statements a blank line sets apart (not
//! for a blank line inside a statement; several make one), that printing with them still parses
//! back to the same plan, and that they survive YAML → terse → YAML on the same statements, for
//! concrete plans and for random placements on random plans.

mod terse_support;

use brainsurgery::cli::fmt::{format, Syntax};
use brainsurgery::diagnostics::SourceMap;
use brainsurgery::plan::ast::{Execute, Op, Pattern, Plan};
use brainsurgery::plan::comments::{
    collect, CommentSource, CommentSyntax, Element, PlanComments, SourceRole,
};
use brainsurgery::plan::terse::{parse_terse, print_terse, print_terse_with};
use brainsurgery::plan::yaml::{parse_yaml, print_yaml, print_yaml_with};
use proptest::prelude::*;
use std::collections::BTreeSet;
use terse_support::plan;

use Element::{Input, Output, Step};

/// Parses `text` as a plan file of `syntax` and collects its comments.
fn read(text: &str, syntax: CommentSyntax) -> (Plan, PlanComments) {
    let mut sources = SourceMap::new();
    let name = match syntax {
        CommentSyntax::Terse => "plan.bs",
        CommentSyntax::Yaml => "plan.yaml",
    };
    let id = sources.add(name, text);
    let parsed = match syntax {
        CommentSyntax::Terse => parse_terse(&mut sources, id),
        CommentSyntax::Yaml => parse_yaml(&mut sources, id),
    };
    let plan = parsed.unwrap_or_else(|errors| panic!("{errors:?}\nin:\n{text}"));
    let file = CommentSource {
        id,
        syntax,
        role: SourceRole::File,
    };
    let comments = collect(&plan, &sources, &[file]);
    (plan, comments)
}

fn yaml(text: &str) -> (Plan, PlanComments) {
    read(text, CommentSyntax::Yaml)
}

fn terse(text: &str) -> (Plan, PlanComments) {
    read(text, CommentSyntax::Terse)
}

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

/// Prints with comments in both syntaxes and reads each back: the plan and the comments must be
/// what was printed, and YAML → terse → YAML must give the first YAML text again.
fn assert_round_trip(plan: &Plan, comments: &PlanComments) {
    let first_yaml = print_yaml_with(plan, comments);
    let (from_yaml, yaml_comments) = yaml(&first_yaml);
    assert_eq!(&from_yaml, plan, "YAML:\n{first_yaml}");
    assert_eq!(&yaml_comments, comments, "YAML:\n{first_yaml}");
    let terse_text = print_terse_with(&from_yaml, &yaml_comments);
    let (from_terse, terse_comments) = terse(&terse_text);
    assert_eq!(&from_terse, plan, "terse:\n{terse_text}");
    assert_eq!(&terse_comments, comments, "terse:\n{terse_text}");
    let second_yaml = print_yaml_with(&from_terse, &terse_comments);
    assert_eq!(second_yaml, first_yaml);
}

const COMMENTED: &str = "\
# Merge the tuned model into the base.
# Second header line.
inputs:
  # The base checkpoint.
  - base::models/base  # read-only
  - 'tuned::models/#7'
transforms:
  - copy: {from: 'base::a#b', to: \"base::c # d\"}  # keep a copy
  # Factorize the delta.
  - phlora:  # on the op's line
      # which tensors
      target: base::x
      target_a: base::xa
      target_b: base::xb
      rank: 4  # small on purpose
  - execute:
      transforms:
        # nested
        - delete: {target: base::y}  # nested trailing
        - exit
  # Where it goes.
output:
  path: out/merged  # on the path
  shard: 1GB
# Footer one.
# Footer two.
";

#[test]
fn yaml_comments_attach_to_their_statements() {
    let (_, comments) = yaml(COMMENTED);
    assert_eq!(
        comments.header(),
        texts(&[
            " Merge the tuned model into the base.",
            " Second header line."
        ])
    );
    assert_eq!(
        comments.before(&[Input(0)]),
        texts(&[" The base checkpoint."])
    );
    assert_eq!(comments.trailing(&[Input(0)]), Some(" read-only"));
    assert_eq!(comments.trailing(&[Step(0)]), Some(" keep a copy"));
    // Inside the nested mapping of a transform: before that transform, after its own comments.
    assert_eq!(
        comments.before(&[Step(1)]),
        texts(&[
            " Factorize the delta.",
            " which tensors",
            " small on purpose"
        ])
    );
    assert_eq!(comments.trailing(&[Step(1)]), Some(" on the op's line"));
    assert_eq!(comments.before(&[Step(2), Step(0)]), texts(&[" nested"]));
    assert_eq!(
        comments.trailing(&[Step(2), Step(0)]),
        Some(" nested trailing")
    );
    assert_eq!(comments.before(&[Output]), texts(&[" Where it goes."]));
    assert_eq!(comments.trailing(&[Output]), Some(" on the path"));
    assert_eq!(comments.footer(), texts(&[" Footer one.", " Footer two."]));
}

#[test]
fn a_hash_inside_a_quoted_string_is_no_comment() {
    let (plan, comments) = yaml(
        "inputs: ['m::models/#1']\ntransforms:\n  - copy: {from: 'a # b', to: \"c #d\"}\n  - delete: {target: 'e#f'}\n",
    );
    assert!(comments.is_empty(), "{comments:?}");
    let Op::Copy(copy) = &plan.steps[0].op else {
        panic!("a copy")
    };
    assert_eq!(copy.from.pattern.node, Pattern::Regex("a # b".to_string()));
    let terse_text = print_terse_with(&plan, &comments);
    assert!(terse_text.contains("/c #d/ = /a # b/\n"), "{terse_text}");
    assert!(terse_text.contains("del /e#f/\n"), "{terse_text}");
    let (back, back_comments) = terse(&terse_text);
    assert_eq!(back, plan);
    assert!(back_comments.is_empty(), "{back_comments:?}");

    // In the terse syntax too: strings and regexes hold their `#`.
    let (_, comments) = terse("input \"m#1\"\n\nx = /a#b/  # real\nload \"p#q\"\n");
    assert_eq!(comments.trailing(&[Step(0)]), Some(" real"));
    assert_eq!(comments.statements().count(), 1);
}

#[test]
fn yaml_to_terse_keeps_every_comment_in_its_place() {
    let (plan, comments) = yaml(COMMENTED);
    let text = print_terse_with(&plan, &comments);
    assert_eq!(
        text,
        "\
# Merge the tuned model into the base.
# Second header line.

# The base checkpoint.
input base = \"models/base\"  # read-only
input tuned = \"models/#7\"
# Where it goes.
output \"out/merged\" shard=1GB  # on the path

base::/c # d/ = base::/a#b/  # keep a copy
# Factorize the delta.
# which tensors
# small on purpose
base::xa, base::xb = phlora(base::x, rank=4)  # on the op's line
execute {
  # nested
  del base::y  # nested trailing
  exit
}
# Footer one.
# Footer two.
"
    );
    assert_round_trip(&plan, &comments);
}

#[test]
fn terse_to_yaml_keeps_every_comment_and_prints_commented_blocks_line_by_line() {
    let source = "\
# Header.

# About the input.
input \"models/base\"

x = y  # trailing
execute plan {  # a nested plan
  # its output
  output \"out/nested\"

  # its step
  z = x
  # after its last step
}  # on the closing brace
# Footer.
";
    let (plan, comments) = terse(source);
    assert_eq!(comments.header(), texts(&[" Header."]));
    assert_eq!(comments.before(&[Input(0)]), texts(&[" About the input."]));
    assert_eq!(comments.trailing(&[Step(0)]), Some(" trailing"));
    assert_eq!(comments.trailing(&[Step(1)]), Some(" a nested plan"));
    assert_eq!(comments.before(&[Step(1), Output]), texts(&[" its output"]));
    assert_eq!(comments.before(&[Step(1), Step(0)]), texts(&[" its step"]));
    // A comment after a block's last statement, and one on its `}` line, move before the block.
    assert_eq!(
        comments.before(&[Step(1)]),
        texts(&[" after its last step", " on the closing brace"])
    );
    assert_eq!(comments.footer(), texts(&[" Footer."]));

    // The blank line that ends the terse header is kept in YAML too.
    assert!(comments.blank_line_before(&[Input(0)]));
    assert_eq!(comments.blank_lines().count(), 1);

    let text = print_yaml_with(&plan, &comments);
    assert_eq!(
        text,
        "\
# Header.

inputs:
  # About the input.
  - models/base
transforms:
  - copy: {from: 'y', to: x}  # trailing
  # after its last step
  # on the closing brace
  - execute:  # a nested plan
      plan:
        transforms:
          # its step
          - copy: {from: x, to: z}
        # its output
        output: {path: out/nested}
# Footer.
"
    );
    assert_round_trip(&plan, &comments);
}

#[test]
fn without_comments_the_printers_print_what_they_always_did() {
    let (plan, comments) = yaml(COMMENTED);
    assert!(!comments.is_empty());
    let none = PlanComments::new();
    assert_eq!(print_yaml_with(&plan, &none), print_yaml(&plan));
    assert_eq!(print_terse_with(&plan, &none), print_terse(&plan));
    // An `execute` block without nested comments stays one flow line.
    let mut block_only = PlanComments::new();
    block_only.set_trailing(&[Step(2)], " just the block");
    let text = print_yaml_with(&plan, &block_only);
    assert!(
        text.contains(
            "  - execute: {transforms: [{delete: {target: 'base::y'}}, exit]}  # just the block\n"
        ),
        "{text}"
    );
}

#[test]
fn a_terse_header_ends_at_its_last_blank_line() {
    let (_, comments) = terse("# Title\n#\n# More.\n\n# About x.\ninput \"m\"\n");
    assert_eq!(comments.header(), texts(&[" Title", "", " More."]));
    assert_eq!(comments.before(&[Input(0)]), texts(&[" About x."]));
    // With no header, a blank line keeps the first statement's comments its own.
    let mut only_first = PlanComments::new();
    only_first.add_before(&[Input(0)], " About x.");
    let (plan, _) = terse("input \"m\"\n");
    let text = print_terse_with(&plan, &only_first);
    assert_eq!(text, "\n# About x.\ninput \"m\"\n");
    assert_round_trip(&plan, &only_first);
}

#[test]
fn an_empty_plan_keeps_its_header_and_footer_apart_in_terse() {
    let mut comments = PlanComments::new();
    comments.add_header(" top");
    comments.add_footer(" bottom");
    let plan = Plan::default();
    let text = print_terse_with(&plan, &comments);
    assert_eq!(text, "# top\n\n# bottom\n");
    let (back, back_comments) = terse(&text);
    assert_eq!(back, plan);
    assert_eq!(back_comments, comments);
}

/// What `fmt --to terse` prints for a base YAML file merged with a patch file.
fn format_merged(base_text: &str, patch_text: &str) -> String {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let base = directory.path().join("base.yaml");
    let patch = directory.path().join("patch.yaml");
    std::fs::write(&base, base_text).expect("written");
    std::fs::write(&patch, patch_text).expect("written");
    let items: Vec<String> = [&base, &patch]
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let mut sources = SourceMap::new();
    format(&items, Some(Syntax::Terse), &mut sources).expect("formats")
}

#[test]
fn comments_of_every_yaml_file_are_kept_and_an_overlaid_step_keeps_its_comment() {
    let text = format_merged(
        "# The base plan.\ninputs: [models/base]\ntransforms:\n  # Copy it.\n  - copy: {from: a, to: b}\n  - delete: {target: c}  # drop c\n",
        "# The patch.\ntransforms:\n  # Copy to d instead.\n  - copy: {to: d}\noutput: out/patched  # patched output\n",
    );
    assert_eq!(
        text,
        "\
# The base plan.
# The patch.
input \"models/base\"
output \"out/patched\"  # patched output

# Copy it.
# Copy to d instead.
d = a
del c  # drop c
"
    );
}

#[test]
fn blank_lines_of_every_yaml_file_are_kept_by_position() {
    let text = format_merged(
        "# Base.\ninputs: [models/base]\ntransforms:\n  - copy: {from: a, to: b}\n\n  - delete: {target: c}\n  - exit\n",
        "# Patch.\ntransforms:\n  - copy: {to: d}\n  - delete: {target: e}\n\n  - exit\n\noutput: out/patched\n",
    );
    // The overlaid delete keeps the base file's blank line; the patch adds its own.
    assert_eq!(
        text,
        "# Base.\n# Patch.\ninput \"models/base\"\n\noutput \"out/patched\"\n\nd = a\n\ndel e\n\nexit\n"
    );
}

#[test]
fn fmt_keeps_comments_through_the_binary() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("plan.yaml");
    std::fs::write(&path, COMMENTED).expect("written");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_brainsurgery"))
        .args(["fmt", path.to_str().expect("UTF-8 path")])
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        text.starts_with("# Merge the tuned model into the base.\n"),
        "{text}"
    );
    assert!(
        text.contains("base::/c # d/ = base::/a#b/  # keep a copy\n"),
        "{text}"
    );
    assert!(text.ends_with("# Footer one.\n# Footer two.\n"), "{text}");
}

/// Every statement of a plan, by path, as the comments name them.
fn statement_paths(plan: &Plan, prefix: &[Element], paths: &mut Vec<Vec<Element>>) {
    let path = |element: Element| {
        let mut path = prefix.to_vec();
        path.push(element);
        path
    };
    for index in 0..plan.inputs.len() {
        paths.push(path(Input(index)));
    }
    if plan.output.is_some() {
        paths.push(path(Output));
    }
    for (index, step) in plan.steps.iter().enumerate() {
        let step_path = path(Step(index));
        paths.push(step_path.clone());
        match &step.op {
            Op::Execute(Execute::Steps(steps)) => {
                let nested = Plan {
                    steps: steps.clone(),
                    ..Plan::default()
                };
                statement_paths(&nested, &step_path, paths);
            }
            Op::Execute(Execute::Plan(nested)) => statement_paths(nested, &step_path, paths),
            _ => {}
        }
    }
}

/// The statements of the level `plan` (at `prefix`) and of its blocks that keep a blank line
/// placed before them (`placed`): all but the first of a level in the terse printer's order
/// (inputs, output, steps) and the first step after declarations; the first statement of the file
/// keeps one only after a header, and has one there whenever it has comment lines.
fn expected_blank_lines(
    plan: &Plan,
    prefix: &[Element],
    placed: &BTreeSet<Vec<Element>>,
    comments: &PlanComments,
    expected: &mut BTreeSet<Vec<Element>>,
) {
    let order = (0..plan.inputs.len())
        .map(Input)
        .chain(plan.output.iter().map(|_| Output))
        .chain((0..plan.steps.len()).map(Step));
    for (position, element) in order.enumerate() {
        let mut path = prefix.to_vec();
        path.push(element);
        let kept = if position == 0 {
            prefix.is_empty()
                && !comments.header().is_empty()
                && (placed.contains(&path) || !comments.before(&path).is_empty())
        } else {
            element != Step(0) && placed.contains(&path)
        };
        if kept {
            expected.insert(path);
        }
    }
    for (index, step) in plan.steps.iter().enumerate() {
        let mut path = prefix.to_vec();
        path.push(Step(index));
        match &step.op {
            Op::Execute(Execute::Steps(steps)) => {
                let nested = Plan {
                    steps: steps.clone(),
                    ..Plan::default()
                };
                expected_blank_lines(&nested, &path, placed, comments, expected);
            }
            Op::Execute(Execute::Plan(nested)) => {
                expected_blank_lines(nested, &path, placed, comments, expected)
            }
            _ => {}
        }
    }
}

/// A comment text: printable characters, `#`, quotes and YAML indicators included, no trailing
/// blank (the collector drops trailing blanks).
fn comment_text() -> impl Strategy<Value = String> {
    "[ -~\t£é→]{0,16}".prop_map(|text| text.trim_end().to_string())
}

/// Where a random comment goes: before or trailing on the statement picked by the index.
#[derive(Debug, Clone)]
enum Placement {
    Before(prop::sample::Index, String),
    Trailing(prop::sample::Index, String),
}

fn placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        (any::<prop::sample::Index>(), comment_text())
            .prop_map(|(index, text)| Placement::Before(index, text)),
        (any::<prop::sample::Index>(), comment_text())
            .prop_map(|(index, text)| Placement::Trailing(index, text)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_comments_and_blank_lines_survive_yaml_to_terse_to_yaml(
        plan in plan(true),
        header in prop::collection::vec(comment_text(), 0..3),
        placements in prop::collection::vec(placement(), 0..8),
        blank_lines in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        footer in prop::collection::vec(comment_text(), 0..3),
    ) {
        let mut paths: Vec<Vec<Element>> = Vec::new();
        statement_paths(&plan, &[], &mut paths);
        let mut comments = PlanComments::new();
        for text in &header {
            comments.add_header(text);
        }
        for placement in &placements {
            match placement {
                Placement::Before(index, text) => {
                    let path: &Vec<Element> = index.get(&paths);
                    comments.add_before(path, text);
                }
                Placement::Trailing(index, text) => {
                    let path: &Vec<Element> = index.get(&paths);
                    comments.set_trailing(path, text);
                }
            }
        }
        for text in &footer {
            comments.add_footer(text);
        }
        let mut placed = BTreeSet::new();
        for index in &blank_lines {
            let path: &Vec<Element> = index.get(&paths);
            comments.add_blank_line(path);
            placed.insert(path.clone());
        }
        // The blank lines the printers print, by the documented rules.
        let settled = comments.settled(&plan);
        let mut expected = BTreeSet::new();
        expected_blank_lines(&plan, &[], &placed, &comments, &mut expected);
        let kept: BTreeSet<Vec<Element>> = settled.blank_lines().map(<[Element]>::to_vec).collect();
        prop_assert_eq!(&kept, &expected);

        let first_yaml = print_yaml_with(&plan, &comments);
        prop_assert!(!first_yaml.starts_with('\n') && !first_yaml.contains("\n\n\n"), "YAML:\n{}", first_yaml);
        let (from_yaml, yaml_comments) = yaml(&first_yaml);
        prop_assert_eq!(&from_yaml, &plan, "YAML:\n{}", first_yaml);
        prop_assert_eq!(&yaml_comments, &settled, "YAML:\n{}", first_yaml);
        let terse_text = print_terse_with(&from_yaml, &yaml_comments);
        prop_assert!(!terse_text.contains("\n\n\n"), "terse:\n{}", terse_text);
        let (from_terse, terse_comments) = terse(&terse_text);
        prop_assert_eq!(&from_terse, &plan, "terse:\n{}", terse_text);
        prop_assert_eq!(&terse_comments, &settled, "terse:\n{}", terse_text);
        let second_yaml = print_yaml_with(&from_terse, &terse_comments);
        prop_assert_eq!(second_yaml, first_yaml);
    }
}

/// The code blocks of `docs/language.md`'s "Comments and `fmt`" section: the YAML example and
/// the terse text it prints.
fn documented_pair() -> (String, String) {
    let text = std::fs::read_to_string("docs/language.md").expect("docs/language.md");
    let section = text
        .split("## Comments and `fmt`")
        .nth(1)
        .expect("the section exists");
    // Each block: its text and where the section goes on after it.
    let block = |from: usize, fence: &str| {
        let start = from + section[from..].find(fence).expect("a code block") + fence.len();
        let end = start + section[start..].find("```").expect("a closed block");
        (section[start..end].to_string(), end + 3)
    };
    let (yaml_text, after) = block(0, "```yaml\n");
    let (terse_text, _) = block(after, "```\n");
    (yaml_text, terse_text)
}

#[test]
fn the_documented_example_is_what_fmt_prints_both_ways() {
    let (yaml_text, terse_text) = documented_pair();
    let (plan, comments) = yaml(&yaml_text);
    assert_eq!(print_terse_with(&plan, &comments), terse_text);
    let (plan, comments) = terse(&terse_text);
    assert_eq!(print_yaml_with(&plan, &comments), yaml_text);
}

#[test]
fn windows_line_endings_give_the_same_comments() {
    let terse_text = "# Header.\n\ninput \"m\"  # the model\n\n# Copy.\nx = y\n# Footer.\n";
    let yaml_text = "# Header.\n\ninputs:\n  - m  # the model\ntransforms:\n  # Copy.\n  - copy: {from: 'y', to: x}\n# Footer.\n";
    for (text, syntax) in [
        (terse_text, CommentSyntax::Terse),
        (yaml_text, CommentSyntax::Yaml),
    ] {
        let (plan, comments) = read(text, syntax);
        let (crlf_plan, crlf_comments) = read(&text.replace('\n', "\r\n"), syntax);
        assert_eq!(crlf_plan, plan);
        assert_eq!(crlf_comments, comments);
        assert_eq!(comments.trailing(&[Input(0)]), Some(" the model"));
        assert_eq!(comments.before(&[Step(0)]), texts(&[" Copy."]));
        assert_eq!(comments.footer(), texts(&[" Footer."]));
        assert_eq!(blank_lines(&comments), vec![vec![Input(0)]]);
    }
}

/// The statements with a blank line before them, in path order.
fn blank_lines(comments: &PlanComments) -> Vec<Vec<Element>> {
    comments.blank_lines().map(<[Element]>::to_vec).collect()
}

const PARAGRAPHS: &str = "\
# Merge, then clean up.

inputs:
  - base::models/base

  - tuned::models/tuned
transforms:
  - copy: {from: base::a, to: base::b}
  - copy: {from: base::c,

      to: base::d}
  \t
\x20
  # Then delete.
  - delete: {target: base::x}

  - execute:
      transforms:

        - delete: {target: base::y}

        # nested
        - exit

  - exit

output: out/merged
";

#[test]
fn yaml_paragraphs_are_kept_in_both_syntaxes() {
    let (plan, comments) = yaml(PARAGRAPHS);
    assert_eq!(
        blank_lines(&comments),
        vec![
            vec![Input(0)],
            vec![Input(1)],
            vec![Output],
            // Two lines holding only spaces make one blank line, before the comment.
            vec![Step(2)],
            vec![Step(3)],
            vec![Step(3), Step(1)],
            vec![Step(4)],
        ]
    );
    // Not kept: the blank line inside the flow mapping of the second copy (it is inside one
    // statement), the first step after the inputs (the terse printer sets it apart anyway) and
    // the first step of the block (nothing precedes it there).
    assert!(!comments.blank_line_before(&[Step(1)]));
    assert!(!comments.blank_line_before(&[Step(0)]));
    assert!(!comments.blank_line_before(&[Step(3), Step(0)]));
    assert_eq!(comments.before(&[Step(2)]), texts(&[" Then delete."]));

    assert_eq!(
        print_terse_with(&plan, &comments),
        "\
# Merge, then clean up.

input base = \"models/base\"

input tuned = \"models/tuned\"

output \"out/merged\"

base::b = base::a
base::d = base::c

# Then delete.
del base::x

execute {
  del base::y

  # nested
  exit
}

exit
"
    );
    assert_eq!(
        print_yaml_with(&plan, &comments),
        "\
# Merge, then clean up.

inputs:
  - 'base::models/base'

  - 'tuned::models/tuned'
transforms:
  - copy: {from: 'base::a', to: 'base::b'}
  - copy: {from: 'base::c', to: 'base::d'}

  # Then delete.
  - delete: {target: 'base::x'}

  - execute:
      transforms:
        - delete: {target: 'base::y'}

        # nested
        - exit

  - exit

output: out/merged
"
    );
    assert_round_trip(&plan, &comments);
}

#[test]
fn terse_paragraphs_are_kept_and_blank_lines_inside_a_block_too() {
    let source = "\
# Title.
input \"m\"
x = y
z = w



# Third, after three blank lines.
del x
execute {

  a = b

  # c next
  c = d

}
exit
";
    let (plan, comments) = terse(source);
    assert_eq!(comments.header(), texts(&[" Title."]));
    assert_eq!(
        blank_lines(&comments),
        vec![vec![Step(2)], vec![Step(3), Step(1)]]
    );
    let text = print_terse_with(&plan, &comments);
    assert_eq!(
        text,
        "\
# Title.
input \"m\"

x = y
z = w

# Third, after three blank lines.
del x
execute {
  a = b

  # c next
  c = d
}
exit
"
    );
    // `fmt` of its own output changes nothing.
    let (again, again_comments) = terse(&text);
    assert_eq!(again, plan);
    assert_eq!(again_comments, comments);
    assert_eq!(print_terse_with(&again, &again_comments), text);
    assert_eq!(
        print_yaml_with(&plan, &comments),
        "\
# Title.
inputs:
  - m
transforms:
  - copy: {from: 'y', to: x}
  - copy: {from: w, to: z}

  # Third, after three blank lines.
  - delete: {target: x}
  - execute:
      transforms:
        - copy: {from: b, to: a}

        # c next
        - copy: {from: d, to: c}
  - exit
"
    );
    assert_round_trip(&plan, &comments);
}

#[test]
fn a_blank_line_after_the_header_is_the_same_in_both_printers() {
    // Kept when the source has it, in either syntax.
    let (plan, comments) = terse("# Header.\n\ninput \"m\"\n");
    assert_eq!(blank_lines(&comments), vec![vec![Input(0)]]);
    assert_eq!(
        print_yaml_with(&plan, &comments),
        "# Header.\n\ninputs:\n  - m\n"
    );
    assert_round_trip(&plan, &comments);
    let (plan, comments) = yaml("# Header.\ninputs:\n  - m\n");
    assert!(comments.blank_lines().next().is_none());
    assert_eq!(
        print_terse_with(&plan, &comments),
        "# Header.\ninput \"m\"\n"
    );

    // The terse syntax needs one between the header and the first statement's comment lines:
    // the YAML printer prints it too.
    let (plan, comments) = yaml("# Header.\ninputs:\n  # The model.\n  - m\n");
    assert_eq!(blank_lines(&comments), vec![vec![Input(0)]]);
    assert_eq!(
        print_terse_with(&plan, &comments),
        "# Header.\n\n# The model.\ninput \"m\"\n"
    );
    assert_eq!(
        print_yaml_with(&plan, &comments),
        "# Header.\n\ninputs:\n  # The model.\n  - m\n"
    );
    assert_round_trip(&plan, &comments);

    // Without a header, nothing precedes the first statement: no blank line is kept before it
    // (the terse printer's leading blank line only keeps its comments out of the header).
    let (plan, comments) = yaml("\ninputs:\n\n  # The model.\n  - m\n");
    assert!(comments.blank_lines().next().is_none());
    assert_eq!(
        print_yaml_with(&plan, &comments),
        "inputs:\n  # The model.\n  - m\n"
    );
    assert_round_trip(&plan, &comments);
}

#[test]
fn blank_lines_no_printer_can_show_are_not_printed() {
    let (plan, _) = terse("input \"m\"\nx = y\nexecute {\n  a = b\n  c = d\n}\n");
    let mut comments = PlanComments::new();
    // The first statement of a text without a header, the first step after the inputs, the
    // first statement of a block: none of them is set apart.
    for path in [
        &[Input(0)][..],
        &[Step(0)],
        &[Step(1), Step(0)],
        &[Step(1), Step(1)],
    ] {
        comments.add_blank_line(path);
    }
    assert_eq!(
        blank_lines(&comments.settled(&plan)),
        vec![vec![Step(1), Step(1)]]
    );
    assert_eq!(
        print_terse_with(&plan, &comments),
        "input \"m\"\n\nx = y\nexecute {\n  a = b\n\n  c = d\n}\n"
    );
    assert_eq!(
        print_yaml_with(&plan, &comments),
        "\
inputs:
  - m
transforms:
  - copy: {from: 'y', to: x}
  - execute:
      transforms:
        - copy: {from: b, to: a}

        - copy: {from: d, to: c}
"
    );
    assert_round_trip(&plan, &comments.settled(&plan));
}

#[test]
fn fmt_keeps_paragraphs_through_the_binary() {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let path = directory.path().join("plan.yaml");
    std::fs::write(&path, PARAGRAPHS).expect("written");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_brainsurgery"))
        .args(["fmt", path.to_str().expect("UTF-8 path")])
        .output()
        .expect("the binary runs");
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    assert!(
        text.contains("base::d = base::c\n\n# Then delete.\ndel base::x\n\nexecute {\n"),
        "{text}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Spans that do not fit the text (a plan read from another text) never make collecting
    /// panic, and blank lines are only ever recorded for the plan's statements.
    #[test]
    fn collecting_from_any_text_never_panics(
        text in "[ \t\r\n#a-z:{}\\-]{0,80}",
        syntax in prop_oneof![Just(CommentSyntax::Terse), Just(CommentSyntax::Yaml)],
    ) {
        let (plan, _) = terse("# h\n\ninput \"m\"\n\nx = y\nexecute {\n  a = b\n\n  c = d\n}\n\nexit\n");
        let mut paths = Vec::new();
        statement_paths(&plan, &[], &mut paths);
        let mut sources = SourceMap::new();
        let id = sources.add("other", text.as_str());
        for role in [SourceRole::File, SourceRole::MergedFile, SourceRole::Entry] {
            let comments = collect(&plan, &sources, &[CommentSource { id, syntax, role }]);
            for path in comments.blank_lines() {
                prop_assert!(paths.iter().any(|known| known.as_slice() == path), "{:?}", path);
            }
        }
    }
}
