//! Printing a plan in canonical terse form (used by `fmt --to terse`).
//!
//! Receives a [`Plan`] (and, for [`print_terse_with`], the [`PlanComments`] of its source);
//! returns its text: the header comments, the inputs, the output, a blank line, then one line per
//! step (an `execute` block spans its lines, indented two spaces), then the footer comments. Each
//! statement's comment lines come before it at its indentation, its trailing comment after it on
//! its line (after `execute {` for a block), and an empty line before both when the source set it
//! apart (never two in a row, never first in the text). Optional arguments the plan does not hold
//! are not printed, so what the user left out stays out.
//!
//! **Guarantee** (a property test over random plans checks it): parsing the printed text gives a
//! plan equal to the printed one, with or without comments, and collecting the comments of the
//! text gives the comments printed. One step is one line, so no temporaries are ever needed; the
//! lexical choices that make values read back unchanged live in [`lexical`].

pub mod lexical;
mod session;

use self::lexical::{alias, number, reference, string};
use self::session::{
    assertion, diff_line, dump_line, help_line, load_line, prefixes_line, save_line, set_line,
};
use crate::plan::ast::*;
use crate::plan::comments::{push_blank_line, Element, PlanComments};
use std::fmt::Write as _;

/// Prints `plan` as canonical terse text.
pub fn print_terse(plan: &Plan) -> String {
    print_terse_with(plan, &PlanComments::new())
}

/// Prints `plan` as canonical terse text with `comments` in their places, and an empty line
/// before each statement [`PlanComments::settled`] keeps one before.
pub fn print_terse_with(plan: &Plan, comments: &PlanComments) -> String {
    let comments = &comments.settled(plan);
    let mut printer = Printer {
        out: String::new(),
        comments,
        path: Vec::new(),
        started: false,
    };
    for text in comments.header() {
        let _ = writeln!(printer.out, "#{text}");
    }
    printer.print_plan(plan, 0);
    for text in comments.footer() {
        printer.comment(text, 0);
    }
    printer.out
}

/// The text being printed and where the printer is in the plan.
struct Printer<'c> {
    out: String,
    comments: &'c PlanComments,
    /// The statement being printed.
    path: Vec<Element>,
    /// Whether a statement has been printed: until then a comment line would read back as part
    /// of the header, so a blank line goes first (the header ends at the last blank line), even
    /// at the start of the text.
    started: bool,
}

impl Printer<'_> {
    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn comment(&mut self, text: &str, depth: usize) {
        if !self.started {
            if !self.out.ends_with("\n\n") {
                self.out.push('\n');
            }
            self.started = true;
        }
        self.indent(depth);
        let _ = writeln!(self.out, "#{text}");
    }

    /// Opens the statement `element` of the current level: the blank line before it, its comment
    /// lines, its indentation.
    fn open(&mut self, element: Element, depth: usize) {
        self.path.push(element);
        let comments = self.comments;
        if comments.blank_line_before(&self.path) {
            push_blank_line(&mut self.out);
        }
        for text in comments.before(&self.path) {
            self.comment(text, depth);
        }
        self.indent(depth);
        self.started = true;
    }

    /// Ends the statement's line (with its trailing comment), leaving the statement's path when
    /// `leave` (a block leaves after its `}`).
    fn end_line(&mut self, leave: bool) {
        if let Some(text) = self.comments.trailing(&self.path) {
            let _ = write!(self.out, "  #{text}");
        }
        self.out.push('\n');
        if leave {
            self.path.pop();
        }
    }

    fn statement(&mut self, element: Element, depth: usize, text: &str) {
        self.open(element, depth);
        self.out.push_str(text);
        self.end_line(true);
    }

    fn print_plan(&mut self, plan: &Plan, depth: usize) {
        for (index, input) in plan.inputs.iter().enumerate() {
            let mut text = String::from("input ");
            if let Some(name) = &input.alias {
                text.push_str(&alias(&name.node));
                text.push_str(" = ");
            }
            text.push_str(&string(&input.path.node));
            self.statement(Element::Input(index), depth, &text);
        }
        if let Some(output) = &plan.output {
            let mut text = String::new();
            print_output(&mut text, output);
            self.statement(Element::Output, depth, &text);
        }
        let declarations = !plan.inputs.is_empty() || plan.output.is_some();
        if declarations && !plan.steps.is_empty() {
            self.out.push('\n');
        }
        self.print_steps(&plan.steps, depth);
    }

    fn print_steps(&mut self, steps: &[Spanned<Step>], depth: usize) {
        for (index, step) in steps.iter().enumerate() {
            let element = Element::Step(index);
            match &step.op {
                Op::Execute(Execute::Steps(nested)) => {
                    self.open(element, depth);
                    self.out.push_str("execute {");
                    self.end_line(false);
                    self.print_steps(nested, depth + 1);
                    self.close_block(depth);
                }
                Op::Execute(Execute::Plan(nested)) => {
                    self.open(element, depth);
                    self.out.push_str("execute plan {");
                    self.end_line(false);
                    self.print_plan(nested, depth + 1);
                    self.close_block(depth);
                }
                op => self.statement(element, depth, &step_line(op)),
            }
        }
    }

    fn close_block(&mut self, depth: usize) {
        self.indent(depth);
        self.out.push_str("}\n");
        self.path.pop();
    }
}

fn print_output(out: &mut String, output: &Output) {
    out.push_str("output ");
    out.push_str(&string(&output.path.node));
    if let Some(format) = &output.format {
        let _ = write!(out, " format={}", format.node.name());
    }
    if let Some(shard) = &output.shard {
        let _ = write!(out, " shard={}", size(&shard.node));
    }
    if let Some(name) = &output.alias {
        let _ = write!(out, " alias={}", alias(&name.node));
    }
}

fn size(size: &ShardSize) -> String {
    match size {
        ShardSize::None => "none".to_string(),
        ShardSize::Bytes { text, .. } => {
            let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
            let bare = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            if bare {
                text.clone()
            } else {
                string(text)
            }
        }
    }
}

/// The line of a step that is not a block (`execute {` and `execute plan {` are printed by
/// [`Printer::print_steps`]).
fn step_line(op: &Op) -> String {
    match op {
        Op::Help(help) => help_line(help),
        Op::Dump(dump) => dump_line(dump),
        Op::Diff(diff) => diff_line(diff),
        Op::Assert(expression) => format!("assert {}", assertion(&expression.node)),
        Op::Load(load) => load_line(load),
        Op::Save(save) => save_line(save),
        Op::Copy(m) => format!("{} = {}", reference(&m.to), reference(&m.from)),
        Op::Move(m) => format!("move {} -> {}", reference(&m.from), reference(&m.to)),
        Op::Delete(u) => format!("del {}", reference(&u.target)),
        Op::Assign(m) => format!("{} <- {}", reference(&m.to), reference(&m.from)),
        Op::Add(t) => ternary(t, "<-", "+"),
        Op::Subtract(t) => ternary(t, "<-", "-"),
        Op::Multiply(t) => ternary(t, "<-", "*"),
        Op::Matmul(t) => ternary(t, "=", "@"),
        Op::AddInPlace(m) => format!("{} += {}", reference(&m.to), reference(&m.from)),
        Op::SubtractInPlace(m) => format!("{} -= {}", reference(&m.to), reference(&m.from)),
        Op::Scale(s) => format!(
            "{} = {} * {}",
            reference(&s.to),
            reference(&s.from),
            number(s.by.node)
        ),
        Op::ScaleInPlace(s) => format!("{} *= {}", reference(&s.target), number(s.by.node)),
        Op::Cast(c) => format!(
            "{} = {} as {}",
            reference(&c.to),
            reference(&c.from),
            c.dtype.node.plan_name()
        ),
        Op::CastInPlace(c) => format!(
            "cast_({}, {})",
            reference(&c.target),
            c.dtype.node.plan_name()
        ),
        Op::Clamp(c) => format!(
            "{} = clamp({}{})",
            reference(&c.to),
            reference(&c.from),
            clamp_bounds(&c.min, &c.max)
        ),
        Op::ClampInPlace(c) => format!(
            "clamp_({}{})",
            reference(&c.target),
            clamp_bounds(&c.min, &c.max)
        ),
        Op::Reshape(r) => format!(
            "{} = reshape({}, {})",
            reference(&r.to),
            reference(&r.from),
            list(&r.shape.node)
        ),
        Op::ReshapeInPlace(r) => {
            format!(
                "reshape_({}, {})",
                reference(&r.target),
                list(&r.shape.node)
            )
        }
        Op::Permute(p) => format!(
            "{} = permute({}, {})",
            reference(&p.to),
            reference(&p.from),
            list(&p.order.node)
        ),
        Op::Transpose(t) => format!(
            "{} = transpose({}, {}, {})",
            reference(&t.to),
            reference(&t.from),
            t.dim0.node,
            t.dim1.node
        ),
        Op::Fill(f) => format!(
            "{} = fill({}, {})",
            reference(&f.to),
            reference(&f.from),
            fill_spec(&f.fill.node)
        ),
        Op::FillInPlace(f) => format!(
            "fill_({}, {})",
            reference(&f.target),
            fill_spec(&f.fill.node)
        ),
        Op::Zeroes(c) => create_line("zeroes", c),
        Op::Ones(c) => create_line("ones", c),
        Op::Rand(r) => rand_line(r),
        Op::Split(s) => split_line(s),
        Op::Concat(c) => concat_line(c),
        Op::Phlora(p) => phlora_line(p),
        Op::PhloraInPlace(p) => phlora_in_place_line(p),
        Op::LoraExtract(l) => lora_extract_line(l),
        Op::LoraMerge(l) => format!(
            "lora_merge_({}, {}, {}, alpha={})",
            reference(&l.target),
            reference(&l.lora_a),
            reference(&l.lora_b),
            number(l.alpha.node)
        ),
        Op::Prefixes(p) => prefixes_line(p),
        Op::Set(set) => set_line(set),
        Op::Exit => "exit".to_string(),
        Op::Execute(Execute::Path(path)) => format!("execute {}", string(&path.node)),
        // A block's first line; `Printer::print_steps` prints blocks itself, line by line.
        Op::Execute(Execute::Steps(_)) => "execute {".to_string(),
        Op::Execute(Execute::Plan(_)) => "execute plan {".to_string(),
    }
}

fn ternary(t: &Ternary, assign: &str, operator: &str) -> String {
    format!(
        "{} {assign} {} {operator} {}",
        reference(&t.to),
        reference(&t.from_a),
        reference(&t.from_b)
    )
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}

fn clamp_bounds(min: &Option<Spanned<f64>>, max: &Option<Spanned<f64>>) -> String {
    let mut out = String::new();
    if let Some(min) = min {
        let _ = write!(out, ", min={}", number(min.node));
    }
    if let Some(max) = max {
        let _ = write!(out, ", max={}", number(max.node));
    }
    out
}

fn distribution(distribution: &Distribution) -> String {
    let (name, parameters) = match distribution {
        Distribution::Uniform { low, high } => ("uniform", [("low", low), ("high", high)]),
        Distribution::Normal { mean, std } => ("normal", [("mean", mean), ("std", std)]),
    };
    let written: Vec<String> = parameters
        .iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key}={}", number(v.node))))
        .collect();
    format!("{name}({})", written.join(", "))
}

fn nested(values: &NestedValues) -> String {
    match values {
        NestedValues::Scalar(value) => number(*value),
        NestedValues::List(items) => {
            let items: Vec<String> = items.iter().map(nested).collect();
            format!("[{}]", items.join(", "))
        }
    }
}

fn fill_spec(spec: &FillSpec) -> String {
    match spec {
        FillSpec::Constant { value } => number(value.node),
        FillSpec::Rand {
            distribution: shape,
            seed,
        } => {
            let mut text = distribution(&shape.node);
            if let Some(seed) = seed {
                let _ = write!(text, ", seed={}", seed.node);
            }
            text
        }
        FillSpec::Tensor { values } => match &values.node {
            NestedValues::Scalar(value) => format!("tensor({})", number(*value)),
            list => nested(list),
        },
    }
}

fn create_line(name: &str, create: &Create) -> String {
    let mut text = format!(
        "{} = {name}({}",
        reference(&create.target),
        list(&create.shape.node)
    );
    if let Some(dtype) = &create.dtype {
        let _ = write!(text, ", dtype={}", dtype.node.plan_name());
    }
    text.push(')');
    text
}

fn rand_line(rand: &Rand) -> String {
    let mut text = format!(
        "{} = rand({}",
        reference(&rand.target),
        list(&rand.shape.node)
    );
    if let Some(shape) = &rand.distribution {
        let _ = write!(text, ", {}", distribution(&shape.node));
    }
    if let Some(seed) = &rand.seed {
        let _ = write!(text, ", seed={}", seed.node);
    }
    if let Some(dtype) = &rand.dtype {
        let _ = write!(text, ", dtype={}", dtype.node.plan_name());
    }
    text.push(')');
    text
}

fn split_line(split: &Split) -> String {
    let destinations: Vec<String> = split.to.iter().map(|to| reference(to)).collect();
    let mut text = format!(
        "{} = split({}, {}",
        destinations.join(", "),
        reference(&split.from),
        list(&split.sizes.node)
    );
    if let Some(dim) = &split.dim {
        let _ = write!(text, ", dim={}", dim.node);
    }
    text.push(')');
    text
}

fn concat_line(concat: &Concat) -> String {
    let sources: Vec<String> = concat.from.iter().map(|from| reference(from)).collect();
    let mut text = format!("{} = concat({}", reference(&concat.to), sources.join(", "));
    if let Some(dim) = &concat.dim {
        let _ = write!(text, ", dim={}", dim.node);
    }
    text.push(')');
    text
}

fn lora_extract_line(extract: &LoraExtract) -> String {
    let mut text = match &extract.factors {
        Some((target_a, target_b)) => {
            format!("{}, {} = ", reference(target_a), reference(target_b))
        }
        None => String::new(),
    };
    let _ = write!(
        text,
        "lora_extract({}, {}, rank={}",
        reference(&extract.tuned),
        reference(&extract.base),
        extract.rank.node
    );
    if let Some(energy) = &extract.energy {
        let _ = write!(text, ", energy={}", number(energy.node));
    }
    svd_arguments(&mut text, &extract.svd);
    text.push(')');
    text
}

fn phlora_in_place_line(phlora: &PhloraInPlace) -> String {
    let mut text = format!(
        "phlora_({}, rank={}",
        reference(&phlora.target),
        phlora.rank.node
    );
    svd_arguments(&mut text, &phlora.svd);
    text.push(')');
    text
}

/// `, method=…, oversampling=…, power_iterations=…, seed=…` for the SVD options written.
fn svd_arguments(text: &mut String, svd: &SvdOptions) {
    if let Some(method) = &svd.method {
        let _ = write!(text, ", method={}", method.node.as_str());
    }
    let counts = [
        ("oversampling", &svd.oversampling),
        ("power_iterations", &svd.power_iterations),
        ("seed", &svd.seed),
    ];
    for (name, value) in counts {
        if let Some(value) = value {
            let _ = write!(text, ", {name}={}", value.node);
        }
    }
}

fn phlora_line(phlora: &Phlora) -> String {
    let mut text = format!(
        "{}, {} = phlora({}, rank={}",
        reference(&phlora.target_a),
        reference(&phlora.target_b),
        reference(&phlora.target),
        phlora.rank.node
    );
    if let Some(flag) = &phlora.delete_original {
        let _ = write!(text, ", delete_original={}", flag.node);
    }
    if let Some(flag) = &phlora.require_missing_dest {
        let _ = write!(text, ", require_missing_dest={}", flag.node);
    }
    svd_arguments(&mut text, &phlora.svd);
    text.push(')');
    text
}
