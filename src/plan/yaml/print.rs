//! Printing a plan as canonical BrainSurgery YAML (used by `fmt --to yaml`).
//!
//! Receives a [`Plan`] (and, for [`print_yaml_with`], the [`PlanComments`] of its source);
//! returns YAML text in the reference's layout: block lists for `inputs` and `transforms`, one
//! flow mapping per step (`- copy: {from: a, to: b}`), a bare op name for a step without
//! arguments, `output` as a path or a block mapping, and the comments and kept blank lines in
//! their places. Keys come in the reference's order and only keys the plan holds are printed, so
//! optional keys the user left out stay out.
//!
//! **Guarantee** (tested for every plan of the test suite, and with comments and blank lines for
//! random plans): parsing the printed text gives a plan equal to the printed one, and collecting
//! the comments of the text gives the comments printed. Strings are quoted whenever YAML (or
//! OmegaConf's YAML 1.1) could read them as something else: numbers, booleans, nulls, indicators,
//! flow punctuation, `:` and `#`.

use super::scalars::{parse_bool, parse_float, parse_int};
use crate::plan::ast::*;
use crate::plan::comments::{push_blank_line, Element, PlanComments};
use crate::plan::reference::{slice_text, token_text};
use std::fmt::Write as _;

/// A YAML value to print in flow style.
enum Flow {
    /// Already rendered (quoted if needed).
    Scalar(String),
    Sequence(Vec<Flow>),
    Mapping(Vec<(&'static str, Flow)>),
}

impl Flow {
    fn render(&self, out: &mut String) {
        match self {
            Flow::Scalar(text) => out.push_str(text),
            Flow::Sequence(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    item.render(out);
                }
                out.push(']');
            }
            Flow::Mapping(entries) => {
                out.push('{');
                for (index, (key, value)) in entries.iter().enumerate() {
                    if index > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(key);
                    out.push_str(": ");
                    value.render(out);
                }
                out.push('}');
            }
        }
    }

    fn rendered(&self) -> String {
        let mut out = String::new();
        self.render(&mut out);
        out
    }
}

/// Prints `plan` as canonical YAML.
pub fn print_yaml(plan: &Plan) -> String {
    print_yaml_with(plan, &PlanComments::new())
}

/// Prints `plan` as canonical YAML with `comments` in their places: the header first, each
/// statement's comment lines before its line at its indentation, its trailing comment at the end
/// of its first line, the footer last; an empty line before each statement
/// [`PlanComments::settled`] keeps one before (before its comment lines, or before
/// `inputs:`/`transforms:` for the first item of a list; never two in a row, never first in the
/// text). An `execute` step whose nested statements have comments or blank lines is printed as a
/// block mapping (nested steps one per line) so that they have lines to go on; without comments
/// the text is exactly [`print_yaml`]'s.
pub fn print_yaml_with(plan: &Plan, comments: &PlanComments) -> String {
    let comments = &comments.settled(plan);
    let mut printer = Printer {
        out: String::new(),
        comments,
        path: Vec::new(),
    };
    for text in comments.header() {
        let _ = writeln!(printer.out, "#{text}");
    }
    if !plan.inputs.is_empty() {
        printer.section("inputs:", Element::Input(0), 0);
        printer.inputs(&plan.inputs, 2);
    }
    if !plan.steps.is_empty() {
        printer.section("transforms:", Element::Step(0), 0);
        printer.steps(&plan.steps, 2);
    }
    if let Some(output) = &plan.output {
        printer.enter(Element::Output, 0);
        let entries = output_entries(output);
        if entries.len() == 1 {
            let _ = write!(printer.out, "output: {}", quote(&output.path));
            printer.end_line();
        } else {
            printer.out.push_str("output:\n");
            for (index, (key, value)) in entries.into_iter().enumerate() {
                let _ = write!(printer.out, "  {key}: {}", value.rendered());
                if index == 0 {
                    printer.end_line();
                } else {
                    printer.out.push('\n');
                }
            }
        }
        printer.path.pop();
    }
    for text in comments.footer() {
        let _ = writeln!(printer.out, "#{text}");
    }
    printer.out
}

/// The text being printed and the statement being printed.
struct Printer<'c> {
    out: String,
    comments: &'c PlanComments,
    path: Vec<Element>,
}

impl Printer<'_> {
    fn indent(&mut self, width: usize) {
        self.out.extend(std::iter::repeat_n(' ', width));
    }

    /// The key line of a list (`inputs:`, `transforms:`) at `width`, after an empty line when its
    /// first statement `first` has one before it.
    fn section(&mut self, key: &str, first: Element, width: usize) {
        self.path.push(first);
        if self.comments.blank_line_before(&self.path) {
            push_blank_line(&mut self.out);
        }
        self.path.pop();
        self.indent(width);
        self.out.push_str(key);
        self.out.push('\n');
    }

    /// Enters the statement `element`: prints the empty line before it (the first item of a list
    /// has it before the list's key, see [`Printer::section`]), its comment lines and the
    /// indentation of its line.
    fn enter(&mut self, element: Element, width: usize) {
        self.path.push(element);
        let comments = self.comments;
        let first_item = matches!(element, Element::Input(0) | Element::Step(0));
        if !first_item && comments.blank_line_before(&self.path) {
            push_blank_line(&mut self.out);
        }
        for text in comments.before(&self.path) {
            self.indent(width);
            let _ = writeln!(self.out, "#{text}");
        }
        self.indent(width);
    }

    /// Ends the current statement's first line, with its trailing comment.
    fn end_line(&mut self) {
        if let Some(text) = self.comments.trailing(&self.path) {
            let _ = write!(self.out, "  #{text}");
        }
        self.out.push('\n');
    }

    /// Block list items `- alias::path` at `width`.
    fn inputs(&mut self, inputs: &[Spanned<Input>], width: usize) {
        for (index, input) in inputs.iter().enumerate() {
            self.enter(Element::Input(index), width);
            let _ = write!(self.out, "- {}", quote(&input_text(input)));
            self.end_line();
            self.path.pop();
        }
    }

    /// Block list items, one step each, at `width`: a one-key mapping in flow style
    /// (`- copy: {…}`), as the reference writes plans, or an `execute` block (see
    /// [`print_yaml_with`]).
    fn steps(&mut self, steps: &[Spanned<Step>], width: usize) {
        for (index, step) in steps.iter().enumerate() {
            self.enter(Element::Step(index), width);
            let nested_comments = self.comments.has_within(&self.path);
            match &step.op {
                Op::Execute(Execute::Steps(nested)) if nested_comments && !nested.is_empty() => {
                    self.out.push_str("- execute:");
                    self.end_line();
                    self.section("transforms:", Element::Step(0), width + 4);
                    self.steps(nested, width + 6);
                }
                Op::Execute(Execute::Plan(nested)) if nested_comments && !is_empty(nested) => {
                    self.out.push_str("- execute:");
                    self.end_line();
                    self.indent(width + 4);
                    self.out.push_str("plan:\n");
                    self.nested_plan(nested, width + 6);
                }
                op => match step_flow(op) {
                    Flow::Mapping(entries) => {
                        for (key, value) in entries {
                            let _ = write!(self.out, "- {key}: {}", value.rendered());
                            self.end_line();
                        }
                    }
                    bare => {
                        let _ = write!(self.out, "- {}", bare.rendered());
                        self.end_line();
                    }
                },
            }
            self.path.pop();
        }
    }

    /// A nested plan as a block mapping at `width`, with the keys [`plan_flow`] writes.
    fn nested_plan(&mut self, plan: &Plan, width: usize) {
        if !plan.inputs.is_empty() {
            self.section("inputs:", Element::Input(0), width);
            self.inputs(&plan.inputs, width + 2);
        }
        if !plan.steps.is_empty() {
            self.section("transforms:", Element::Step(0), width);
            self.steps(&plan.steps, width + 2);
        }
        if let Some(output) = &plan.output {
            self.enter(Element::Output, width);
            let _ = write!(
                self.out,
                "output: {}",
                Flow::Mapping(output_entries(output)).rendered()
            );
            self.end_line();
            self.path.pop();
        }
    }
}

fn is_empty(plan: &Plan) -> bool {
    plan.inputs.is_empty() && plan.steps.is_empty() && plan.output.is_none()
}

fn input_text(input: &Input) -> String {
    match &input.alias {
        Some(alias) => format!("{}::{}", alias.node, input.path.node),
        None => input.path.node.clone(),
    }
}

fn output_entries(output: &Output) -> Vec<(&'static str, Flow)> {
    let mut entries = vec![("path", string(&output.path))];
    if let Some(format) = &output.format {
        entries.push(("format", word(format.name())));
    }
    if let Some(shard) = &output.shard {
        entries.push(("shard", shard_flow(shard)));
    }
    if let Some(alias) = &output.alias {
        entries.push(("alias", string(alias)));
    }
    entries
}

fn plan_flow(plan: &Plan) -> Flow {
    let mut entries = Vec::new();
    if !plan.inputs.is_empty() {
        let inputs = plan.inputs.iter().map(|i| string(&input_text(i))).collect();
        entries.push(("inputs", Flow::Sequence(inputs)));
    }
    if !plan.steps.is_empty() {
        entries.push(("transforms", steps_flow(&plan.steps)));
    }
    if let Some(output) = &plan.output {
        entries.push(("output", Flow::Mapping(output_entries(output))));
    }
    Flow::Mapping(entries)
}

fn steps_flow(steps: &[Spanned<Step>]) -> Flow {
    Flow::Sequence(steps.iter().map(|s| step_flow(&s.op)).collect())
}

/// `{op: payload}`, or the bare op name when the payload is empty.
fn step_flow(op: &Op) -> Flow {
    match payload(op) {
        Flow::Mapping(entries) if entries.is_empty() => word(op.name()),
        payload => Flow::Mapping(vec![(op.name(), payload)]),
    }
}

fn payload(op: &Op) -> Flow {
    let mut map = Vec::new();
    match op {
        Op::Help(help) => match help.topic.as_ref().map(|t| &t.node) {
            None => {}
            Some(HelpTopic::Op(name)) => return word(name),
            Some(HelpTopic::Assert(None)) => return word("assert"),
            Some(HelpTopic::Assert(Some(name))) => map.push(("assert", word(name))),
        },
        Op::Dump(dump) => {
            optional(&mut map, "target", dump.target.as_ref().map(reference));
            optional(
                &mut map,
                "format",
                dump.format.as_ref().map(|f| word(dump_format(f.node))),
            );
            optional(
                &mut map,
                "verbosity",
                dump.verbosity.as_ref().map(|v| word(verbosity(v.node))),
            );
        }
        Op::Diff(diff) => {
            match &diff.sides {
                DiffSides::Refs { left, right } => {
                    map.push(("left", reference(left)));
                    map.push(("right", reference(right)));
                }
                DiffSides::Aliases {
                    left_alias,
                    right_alias,
                } => {
                    map.push(("mode", word("aliases")));
                    map.push(("left_alias", string(left_alias)));
                    map.push(("right_alias", string(right_alias)));
                }
            }
            optional(&mut map, "eps", diff.eps.as_ref().map(|e| number(e.node)));
        }
        Op::Assert(expression) => return assertion(expression),
        Op::Load(load) => {
            if load.alias.is_none() && load.to.is_none() && load.format.is_none() {
                return string(&load.path);
            }
            map.push(("path", string(&load.path)));
            optional(&mut map, "alias", load.alias.as_ref().map(|a| string(a)));
            optional(&mut map, "to", load.to.as_ref().map(reference));
            optional(
                &mut map,
                "format",
                load.format.as_ref().map(|f| word(f.name())),
            );
        }
        Op::Save(save) => {
            if save.alias.is_none()
                && save.target.is_none()
                && save.format.is_none()
                && save.shard.is_none()
            {
                return string(&save.path);
            }
            map.push(("path", string(&save.path)));
            optional(&mut map, "alias", save.alias.as_ref().map(|a| string(a)));
            optional(&mut map, "target", save.target.as_ref().map(reference));
            optional(
                &mut map,
                "format",
                save.format.as_ref().map(|f| word(f.name())),
            );
            optional(&mut map, "shard", save.shard.as_ref().map(shard_flow));
        }
        Op::Copy(m) | Op::Move(m) | Op::Assign(m) | Op::AddInPlace(m) | Op::SubtractInPlace(m) => {
            map.push(("from", reference(&m.from)));
            map.push(("to", reference(&m.to)));
        }
        Op::Delete(unary) => map.push(("target", reference(&unary.target))),
        Op::Add(t) | Op::Subtract(t) | Op::Multiply(t) | Op::Matmul(t) => {
            map.push(("from_a", reference(&t.from_a)));
            map.push(("from_b", reference(&t.from_b)));
            map.push(("to", reference(&t.to)));
        }
        Op::Scale(scale) => {
            from_to(&mut map, &scale.from, &scale.to);
            map.push(("by", number(scale.by.node)));
        }
        Op::ScaleInPlace(scale) => {
            map.push(("target", reference(&scale.target)));
            map.push(("by", number(scale.by.node)));
        }
        Op::Cast(cast) => {
            from_to(&mut map, &cast.from, &cast.to);
            map.push(("dtype", word(cast.dtype.plan_name())));
        }
        Op::CastInPlace(cast) => {
            map.push(("target", reference(&cast.target)));
            map.push(("to", word(cast.dtype.plan_name())));
        }
        Op::Clamp(clamp) => {
            from_to(&mut map, &clamp.from, &clamp.to);
            bounds(&mut map, &clamp.min, &clamp.max);
        }
        Op::ClampInPlace(clamp) => {
            map.push(("target", reference(&clamp.target)));
            bounds(&mut map, &clamp.min, &clamp.max);
        }
        Op::Reshape(reshape) => {
            from_to(&mut map, &reshape.from, &reshape.to);
            map.push(("shape", integers(&reshape.shape)));
        }
        Op::ReshapeInPlace(reshape) => {
            map.push(("target", reference(&reshape.target)));
            map.push(("shape", integers(&reshape.shape)));
        }
        Op::Permute(permute) => {
            from_to(&mut map, &permute.from, &permute.to);
            map.push(("order", integers(&permute.order)));
        }
        Op::Transpose(transpose) => {
            from_to(&mut map, &transpose.from, &transpose.to);
            map.push(("dim0", word(&transpose.dim0.to_string())));
            map.push(("dim1", word(&transpose.dim1.to_string())));
        }
        Op::Fill(fill) => {
            from_to(&mut map, &fill.from, &fill.to);
            fill_spec(&mut map, &fill.fill);
        }
        Op::FillInPlace(fill) => {
            map.push(("target", reference(&fill.target)));
            fill_spec(&mut map, &fill.fill);
        }
        Op::Zeroes(create) | Op::Ones(create) => {
            map.push(("target", reference(&create.target)));
            map.push(("shape", counts(&create.shape)));
            optional(
                &mut map,
                "dtype",
                create.dtype.as_ref().map(|d| word(d.plan_name())),
            );
        }
        Op::Rand(rand) => {
            map.push(("target", reference(&rand.target)));
            map.push(("shape", counts(&rand.shape)));
            if let Some(distribution) = &rand.distribution {
                distribution_entries(&mut map, distribution);
            }
            optional(
                &mut map,
                "seed",
                rand.seed.as_ref().map(|s| word(&s.to_string())),
            );
            optional(
                &mut map,
                "dtype",
                rand.dtype.as_ref().map(|d| word(d.plan_name())),
            );
        }
        Op::Split(split) => {
            map.push(("from", reference(&split.from)));
            map.push((
                "to",
                Flow::Sequence(split.to.iter().map(reference).collect()),
            ));
            map.push(("sizes", counts(&split.sizes)));
            optional(
                &mut map,
                "dim",
                split.dim.as_ref().map(|d| word(&d.to_string())),
            );
        }
        Op::Concat(concat) => {
            map.push((
                "from",
                Flow::Sequence(concat.from.iter().map(reference).collect()),
            ));
            map.push(("to", reference(&concat.to)));
            optional(
                &mut map,
                "dim",
                concat.dim.as_ref().map(|d| word(&d.to_string())),
            );
        }
        Op::Phlora(phlora) => {
            map.push(("target", reference(&phlora.target)));
            map.push(("target_a", reference(&phlora.target_a)));
            map.push(("target_b", reference(&phlora.target_b)));
            map.push(("rank", word(&phlora.rank.to_string())));
            optional(
                &mut map,
                "delete_original",
                phlora.delete_original.as_ref().map(|b| boolean(b.node)),
            );
            optional(
                &mut map,
                "require_missing_dest",
                phlora
                    .require_missing_dest
                    .as_ref()
                    .map(|b| boolean(b.node)),
            );
            svd_options(&mut map, &phlora.svd);
        }
        Op::PhloraInPlace(phlora) => {
            map.push(("target", reference(&phlora.target)));
            map.push(("rank", word(&phlora.rank.to_string())));
            svd_options(&mut map, &phlora.svd);
        }
        Op::LoraExtract(extract) => {
            map.push(("tuned", reference(&extract.tuned)));
            map.push(("base", reference(&extract.base)));
            if let Some((target_a, target_b)) = &extract.factors {
                map.push(("target_a", reference(target_a)));
                map.push(("target_b", reference(target_b)));
            }
            map.push(("rank", word(&extract.rank.to_string())));
            optional(
                &mut map,
                "energy",
                extract.energy.as_ref().map(|e| number(e.node)),
            );
            svd_options(&mut map, &extract.svd);
        }
        Op::LoraMerge(merge) => {
            map.push(("target", reference(&merge.target)));
            map.push(("lora_a", reference(&merge.lora_a)));
            map.push(("lora_b", reference(&merge.lora_b)));
            map.push(("alpha", number(merge.alpha.node)));
        }
        Op::Prefixes(prefixes) => match prefixes {
            Prefixes::List => {}
            Prefixes::Add { alias } => {
                map.push(("mode", word("add")));
                map.push(("alias", string(alias)));
            }
            Prefixes::Remove { alias } => {
                map.push(("mode", word("remove")));
                map.push(("alias", string(alias)));
            }
            Prefixes::Rename { from, to } => {
                map.push(("mode", word("rename")));
                map.push(("from", string(from)));
                map.push(("to", string(to)));
            }
        },
        Op::Set(set) => {
            optional(
                &mut map,
                "dry-run",
                set.dry_run.as_ref().map(|b| boolean(b.node)),
            );
            optional(
                &mut map,
                "preview",
                set.preview.as_ref().map(|b| boolean(b.node)),
            );
            optional(
                &mut map,
                "verbose",
                set.verbose.as_ref().map(|b| boolean(b.node)),
            );
        }
        Op::Exit => {}
        Op::Execute(execute) => match execute {
            Execute::Steps(steps) => map.push(("transforms", steps_flow(steps))),
            Execute::Plan(plan) => map.push(("plan", plan_flow(plan))),
            Execute::Path(path) => map.push(("path", string(path))),
        },
    }
    Flow::Mapping(map)
}

fn assertion(expression: &AssertExpr) -> Flow {
    let mut map = Vec::new();
    let body = match expression {
        AssertExpr::Exists(of) => reference(of),
        AssertExpr::Count { of, is } => {
            map.push(("of", reference(of)));
            map.push(("is", word(&is.to_string())));
            Flow::Mapping(map)
        }
        AssertExpr::Shape { of, is } => {
            map.push(("of", reference(of)));
            map.push(("is", counts(is)));
            Flow::Mapping(map)
        }
        AssertExpr::Dimensions { of, bounds }
        | AssertExpr::Reads { of, bounds }
        | AssertExpr::Writes { of, bounds } => {
            map.push(("of", reference(of)));
            for (key, value) in [
                ("is", &bounds.is),
                ("ge", &bounds.ge),
                ("gt", &bounds.gt),
                ("le", &bounds.le),
                ("lt", &bounds.lt),
            ] {
                optional(&mut map, key, value.as_ref().map(|v| word(&v.to_string())));
            }
            Flow::Mapping(map)
        }
        AssertExpr::Dtype { of, is } => {
            map.push(("of", reference(of)));
            map.push(("is", word(is.plan_name())));
            Flow::Mapping(map)
        }
        AssertExpr::Equal { left, right, eps } => {
            map.push(("left", reference(left)));
            map.push(("right", reference(right)));
            optional(&mut map, "eps", eps.as_ref().map(|e| number(e.node)));
            Flow::Mapping(map)
        }
        AssertExpr::IsZero { of, eps: None } => reference(of),
        AssertExpr::IsZero { of, eps: Some(eps) } => {
            map.push(("of", reference(of)));
            map.push(("eps", number(eps.node)));
            Flow::Mapping(map)
        }
        AssertExpr::All(parts) | AssertExpr::Any(parts) => {
            Flow::Sequence(parts.iter().map(|p| assertion(p)).collect())
        }
        AssertExpr::Not(inner) => assertion(inner),
    };
    Flow::Mapping(vec![(expression.name(), body)])
}

fn from_to(
    map: &mut Vec<(&'static str, Flow)>,
    from: &Spanned<TensorRef>,
    to: &Spanned<TensorRef>,
) {
    map.push(("from", reference(from)));
    map.push(("to", reference(to)));
}

/// The SVD keys that are written, in the order the docs list them.
fn svd_options(map: &mut Vec<(&'static str, Flow)>, svd: &SvdOptions) {
    let count = |value: &Option<Spanned<u64>>| value.as_ref().map(|v| word(&v.node.to_string()));
    optional(
        map,
        "method",
        svd.method.as_ref().map(|m| word(m.node.as_str())),
    );
    optional(map, "oversampling", count(&svd.oversampling));
    optional(map, "power_iterations", count(&svd.power_iterations));
    optional(map, "seed", count(&svd.seed));
}

fn optional(map: &mut Vec<(&'static str, Flow)>, key: &'static str, value: Option<Flow>) {
    if let Some(value) = value {
        map.push((key, value));
    }
}

fn bounds(
    map: &mut Vec<(&'static str, Flow)>,
    min: &Option<Spanned<f64>>,
    max: &Option<Spanned<f64>>,
) {
    optional(map, "min", min.as_ref().map(|v| number(v.node)));
    optional(map, "max", max.as_ref().map(|v| number(v.node)));
}

fn fill_spec(map: &mut Vec<(&'static str, Flow)>, fill: &FillSpec) {
    match fill {
        FillSpec::Constant { value } => {
            map.push(("mode", word("constant")));
            map.push(("value", number(value.node)));
        }
        FillSpec::Rand { distribution, seed } => {
            map.push(("mode", word("rand")));
            distribution_entries(map, distribution);
            optional(map, "seed", seed.as_ref().map(|s| word(&s.to_string())));
        }
        FillSpec::Tensor { values } => {
            map.push(("mode", word("tensor")));
            map.push(("values", nested(values)));
        }
    }
}

fn distribution_entries(map: &mut Vec<(&'static str, Flow)>, distribution: &Distribution) {
    match distribution {
        Distribution::Uniform { low, high } => {
            map.push(("distribution", word("uniform")));
            optional(map, "low", low.as_ref().map(|v| number(v.node)));
            optional(map, "high", high.as_ref().map(|v| number(v.node)));
        }
        Distribution::Normal { mean, std } => {
            map.push(("distribution", word("normal")));
            optional(map, "mean", mean.as_ref().map(|v| number(v.node)));
            optional(map, "std", std.as_ref().map(|v| number(v.node)));
        }
    }
}

fn nested(values: &NestedValues) -> Flow {
    match values {
        NestedValues::Scalar(value) => number(*value),
        NestedValues::List(items) => Flow::Sequence(items.iter().map(nested).collect()),
    }
}

fn dump_format(format: DumpFormat) -> &'static str {
    match format {
        DumpFormat::Compact => "compact",
        DumpFormat::Tree => "tree",
        DumpFormat::Json => "json",
    }
}

fn verbosity(verbosity: DumpVerbosity) -> &'static str {
    match verbosity {
        DumpVerbosity::Shape => "shape",
        DumpVerbosity::Stat => "stat",
        DumpVerbosity::Full => "full",
    }
}

fn shard_flow(shard: &Spanned<ShardSize>) -> Flow {
    match &shard.node {
        ShardSize::None => word("none"),
        ShardSize::Bytes { text, .. } => string(text),
    }
}

/// A reference as the reference writes it: `[alias::]expr[::[slice]]`, or a token list with an
/// optional leading `alias::`.
fn reference(reference: &Spanned<TensorRef>) -> Flow {
    let alias = reference.alias.as_ref().map(|a| a.node.as_str());
    match &reference.pattern.node {
        Pattern::Regex(expression) => {
            let mut text = String::new();
            if let Some(alias) = alias {
                text.push_str(alias);
                text.push_str("::");
            }
            text.push_str(expression);
            if let Some(slice) = &reference.slice {
                text.push_str("::");
                text.push_str(&slice_text(slice));
            }
            string(&text)
        }
        Pattern::Structured(tokens) => {
            let mut items: Vec<Flow> = alias
                .map(|a| string(&format!("{a}::")))
                .into_iter()
                .collect();
            items.extend(tokens.iter().map(|t| string(&token_text(t))));
            Flow::Sequence(items)
        }
    }
}

fn integers(values: &[i64]) -> Flow {
    Flow::Sequence(values.iter().map(|v| word(&v.to_string())).collect())
}

fn counts(values: &[u64]) -> Flow {
    Flow::Sequence(values.iter().map(|v| word(&v.to_string())).collect())
}

fn number(value: f64) -> Flow {
    let text = if value.is_nan() {
        ".nan".to_string()
    } else if value == f64::INFINITY {
        ".inf".to_string()
    } else if value == f64::NEG_INFINITY {
        "-.inf".to_string()
    } else {
        // Debug prints the shortest text that reads back as the same f64.
        format!("{value:?}")
    };
    Flow::Scalar(text)
}

fn boolean(value: bool) -> Flow {
    word(if value { "true" } else { "false" })
}

/// A word that needs no quoting (op names, enum values, numbers we print).
fn word(text: &str) -> Flow {
    Flow::Scalar(text.to_string())
}

fn string(text: &str) -> Flow {
    Flow::Scalar(quote(text))
}

/// `text` as a YAML scalar, quoted when a YAML reader could take it for anything but this string.
pub(crate) fn quote(text: &str) -> String {
    if text.chars().any(|c| c.is_control()) {
        return double_quoted(text);
    }
    if needs_quotes(text) {
        return format!("'{}'", text.replace('\'', "''"));
    }
    text.to_string()
}

fn needs_quotes(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return true;
    };
    let lower = text.to_ascii_lowercase();
    "-?:,[]{}#&*!|>'\"%@`~ \t".contains(first)
        || text.ends_with([' ', '\t'])
        || text.contains([':', '#', ',', '[', ']', '{', '}'])
        || matches!(lower.as_str(), "null" | "y" | "n")
        || parse_bool(text).is_some()
        || parse_float(text).is_some()
        || parse_int(text).is_some()
}

fn double_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_only_when_needed() {
        assert_eq!(quote("ln_f.weight"), "ln_f.weight");
        assert_eq!(quote("h\\.(\\d+)\\.w"), "h\\.(\\d+)\\.w");
        assert_eq!(quote("models/gpt2"), "models/gpt2");
        assert_eq!(quote("base::x"), "'base::x'");
        assert_eq!(quote("*rest"), "'*rest'");
        assert_eq!(quote("1.5"), "'1.5'");
        assert_eq!(quote("yes"), "'yes'");
        assert_eq!(quote("null"), "'null'");
        assert_eq!(quote("~"), "'~'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("it's"), "it's");
        assert_eq!(quote("[it's]"), "'[it''s]'");
        assert_eq!(quote("a\tb"), "\"a\\tb\"");
    }

    #[test]
    fn numbers_print_in_a_form_that_reads_back_exactly() {
        for value in [0.5, 1.0, -3.25, 1e-7, 1e300, 0.1 + 0.2] {
            let Flow::Scalar(text) = number(value) else {
                panic!("not a scalar")
            };
            assert_eq!(parse_float(&text), Some(value), "{text}");
        }
        let Flow::Scalar(text) = number(f64::NEG_INFINITY) else {
            panic!("not a scalar")
        };
        assert_eq!(text, "-.inf");
    }
}
