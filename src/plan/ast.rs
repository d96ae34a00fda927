//! The plan AST: what both front ends (YAML, terse) produce and what the compiler consumes.
//!
//! **Invariants.** Every node and argument that a user wrote carries its source span, through
//! [`Spanned`]. Names are not resolved here: a [`TensorRef`] is syntax (an optional alias, a regex or
//! structured pattern, an optional slice), validated for form only (the regex compiles, the slice is
//! well formed, structured tokens are legal for their side). Optional payload keys stay `None` when
//! the user did not write them, so `fmt` prints back what was written; the compiler applies the
//! reference's defaults through the `*_or_default` methods.
//!
//! **Equality ignores spans**: `Spanned<T>`'s `PartialEq` compares only the node, so two ASTs parsed
//! from different texts (YAML and terse) compare equal when they mean the same plan. This is what the
//! `fmt` round-trip tests rely on.

use crate::diagnostics::Span;
use crate::tensor::DType;

/// A node with the span of the text it came from. Equality and hashing ignore the span.
#[derive(Debug, Clone)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Spanned<T> {
        Spanned { node, span }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Spanned<U> {
        Spanned {
            node: f(self.node),
            span: self.span,
        }
    }

    pub fn as_ref(&self) -> Spanned<&T> {
        Spanned {
            node: &self.node,
            span: self.span,
        }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.node
    }
}

/// A whole plan: inputs, steps, optional output.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub inputs: Vec<Spanned<Input>>,
    pub steps: Vec<Spanned<Step>>,
    pub output: Option<Spanned<Output>>,
}

impl Plan {
    /// The alias an unqualified reference means: the only input's alias, when there is exactly one.
    pub fn default_alias(&self) -> Option<&str> {
        match self.inputs.as_slice() {
            [only] => Some(only.alias_or_default()),
            _ => None,
        }
    }
}

/// The alias BrainSurgery gives the only input when none is written.
pub const DEFAULT_INPUT_ALIAS: &str = "model";

/// `alias::path`, or a bare path when it is the only input (alias `model`).
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    pub alias: Option<Spanned<String>>,
    pub path: Spanned<String>,
}

impl Input {
    pub fn alias_or_default(&self) -> &str {
        self.alias
            .as_ref()
            .map_or(DEFAULT_INPUT_ALIAS, |a| a.node.as_str())
    }
}

/// Where and how the result is written.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub path: Spanned<String>,
    pub format: Option<Spanned<OutputFormat>>,
    pub shard: Option<Spanned<ShardSize>>,
    /// Which alias is written (ours; the reference infers it).
    pub alias: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Safetensors,
    Torch,
    Dcp,
}

impl OutputFormat {
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Safetensors => "safetensors",
            OutputFormat::Torch => "torch",
            OutputFormat::Dcp => "dcp",
        }
    }
}

/// A shard budget: `none`, or a size string parsed to bytes (binary units, as the reference).
/// `text` keeps the spelling the user wrote so that `fmt` prints it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardSize {
    None,
    Bytes { bytes: u64, text: String },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The op keyword as written (`copy`, `scale_`, …), with its span; the kind is in `op`.
    pub keyword: Spanned<String>,
    pub op: Op,
}

/// A tensor reference: `[alias::]pattern[::[slice]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorRef {
    pub alias: Option<Spanned<String>>,
    pub pattern: Spanned<Pattern>,
    pub slice: Option<Spanned<Slice>>,
}

/// How a reference names tensors.
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    /// A Python-dialect regular expression, matched against the whole name (a literal name is a
    /// regex too). On a destination side it is a template with back-references (`\1`, `\g<1>`,
    /// `\g<name>`, `\g<0>`), substituted once.
    Regex(String),
    /// Segment tokens over names split on `.`.
    Structured(Vec<Spanned<StructuredToken>>),
}

/// One token of a structured pattern.
#[derive(Debug, Clone, PartialEq)]
pub enum StructuredToken {
    /// A segment equal to this text (on a destination side: written as is).
    Literal(String),
    /// `$x`: exactly one segment, bound to (or, if bound before, equal to) `x`.
    Bind(String),
    /// `*xs`: zero or more segments bound to `xs` (destination side: spliced).
    Splat(String),
    /// `~REGEX`, `~x::REGEX`, `~x,y::REGEX`: a segment matching `regex`, binding `names` to the whole
    /// segment (no group) or to the groups in order. Source side only.
    Regex { names: Vec<String>, regex: String },
    /// Destination side: literal text with `${x}` interpolations.
    Template(Vec<TemplatePart>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    Text(String),
    Variable(String),
}

/// Python basic indexing: `[c1, c2, …]`; `[]` is the whole tensor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Slice(pub Vec<SliceComponent>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceComponent {
    /// A single integer: selects one index and drops the dimension. Negative counts from the end.
    Index(i64),
    /// `start:stop:step` with any part omitted; `step` is positive when present.
    Range {
        start: Option<i64>,
        stop: Option<i64>,
        step: Option<i64>,
    },
}

/// Every operation, with its arguments. In-place variants (BrainSurgery's trailing `_`) are their
/// own variants, as their payloads differ.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Help(Help),
    Dump(Dump),
    Diff(Diff),
    Assert(Spanned<AssertExpr>),
    Load(Load),
    Save(Save),
    Copy(Mapping),
    Move(Mapping),
    Delete(Unary),
    Assign(Mapping),
    Add(Ternary),
    Subtract(Ternary),
    Multiply(Ternary),
    Matmul(Ternary),
    AddInPlace(Mapping),
    SubtractInPlace(Mapping),
    Scale(Scale),
    ScaleInPlace(ScaleInPlace),
    Cast(Cast),
    CastInPlace(CastInPlace),
    Clamp(Clamp),
    ClampInPlace(ClampInPlace),
    Reshape(Reshape),
    ReshapeInPlace(ReshapeInPlace),
    Permute(Permute),
    Transpose(Transpose),
    Fill(Fill),
    FillInPlace(FillInPlace),
    Zeroes(Create),
    Ones(Create),
    Rand(Rand),
    Split(Split),
    Concat(Concat),
    Phlora(Phlora),
    PhloraInPlace(PhloraInPlace),
    LoraExtract(LoraExtract),
    LoraMerge(LoraMerge),
    Prefixes(Prefixes),
    Set(Set),
    Exit,
    Execute(Execute),
}

impl Op {
    /// The op's name as BrainSurgery spells it in YAML.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Help(_) => "help",
            Op::Dump(_) => "dump",
            Op::Diff(_) => "diff",
            Op::Assert(_) => "assert",
            Op::Load(_) => "load",
            Op::Save(_) => "save",
            Op::Copy(_) => "copy",
            Op::Move(_) => "move",
            Op::Delete(_) => "delete",
            Op::Assign(_) => "assign",
            Op::Add(_) => "add",
            Op::Subtract(_) => "subtract",
            Op::Multiply(_) => "multiply",
            Op::Matmul(_) => "matmul",
            Op::AddInPlace(_) => "add_",
            Op::SubtractInPlace(_) => "subtract_",
            Op::Scale(_) => "scale",
            Op::ScaleInPlace(_) => "scale_",
            Op::Cast(_) => "cast",
            Op::CastInPlace(_) => "cast_",
            Op::Clamp(_) => "clamp",
            Op::ClampInPlace(_) => "clamp_",
            Op::Reshape(_) => "reshape",
            Op::ReshapeInPlace(_) => "reshape_",
            Op::Permute(_) => "permute",
            Op::Transpose(_) => "transpose",
            Op::Fill(_) => "fill",
            Op::FillInPlace(_) => "fill_",
            Op::Zeroes(_) => "zeroes",
            Op::Ones(_) => "ones",
            Op::Rand(_) => "rand",
            Op::Split(_) => "split",
            Op::Concat(_) => "concat",
            Op::Phlora(_) => "phlora",
            Op::PhloraInPlace(_) => "phlora_",
            Op::LoraExtract(_) => "lora_extract",
            Op::LoraMerge(_) => "lora_merge",
            Op::Prefixes(_) => "prefixes",
            Op::Set(_) => "set",
            Op::Exit => "exit",
            Op::Execute(_) => "execute",
        }
    }
}

/// Every op name, for "unknown op" suggestions and completion.
pub const OP_NAMES: [&str; 41] = [
    "help",
    "dump",
    "diff",
    "assert",
    "load",
    "save",
    "copy",
    "move",
    "delete",
    "assign",
    "add",
    "subtract",
    "multiply",
    "matmul",
    "add_",
    "subtract_",
    "scale",
    "scale_",
    "cast",
    "cast_",
    "clamp",
    "clamp_",
    "reshape",
    "reshape_",
    "permute",
    "transpose",
    "fill",
    "fill_",
    "zeroes",
    "ones",
    "rand",
    "split",
    "concat",
    "phlora",
    "phlora_",
    "lora_extract",
    "lora_merge",
    "prefixes",
    "set",
    "exit",
    "execute",
];

/// `target`: one reference (delete).
#[derive(Debug, Clone, PartialEq)]
pub struct Unary {
    pub target: Spanned<TensorRef>,
}

/// `from` → `to` (copy, move, assign, add_, subtract_).
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub from: Spanned<TensorRef>,
    pub to: Spanned<TensorRef>,
}

/// `from_a`, `from_b` → `to` (add, subtract, multiply, matmul). In regex mode `from_b` and `to` are
/// templates against `from_a`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ternary {
    pub from_a: Spanned<TensorRef>,
    pub from_b: Spanned<TensorRef>,
    pub to: Spanned<TensorRef>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scale {
    pub from: Spanned<TensorRef>,
    pub to: Spanned<TensorRef>,
    pub by: Spanned<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScaleInPlace {
    pub target: Spanned<TensorRef>,
    pub by: Spanned<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cast {
    pub from: Spanned<TensorRef>,
    pub to: Spanned<TensorRef>,
    pub dtype: Spanned<DType>,
}

/// `cast_: {target, to: dtype}` (the reference's key is `to`).
#[derive(Debug, Clone, PartialEq)]
pub struct CastInPlace {
    pub target: Spanned<TensorRef>,
    pub dtype: Spanned<DType>,
}

/// At least one bound; `min <= max` (checked by the front ends).
#[derive(Debug, Clone, PartialEq)]
pub struct Clamp {
    pub from: Spanned<TensorRef>,
    pub to: Spanned<TensorRef>,
    pub min: Option<Spanned<f64>>,
    pub max: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClampInPlace {
    pub target: Spanned<TensorRef>,
    pub min: Option<Spanned<f64>>,
    pub max: Option<Spanned<f64>>,
}

/// Non-empty, at most one `-1`, no 0 or < -1 (checked by the front ends).
#[derive(Debug, Clone, PartialEq)]
pub struct Reshape {
    pub from: Spanned<TensorRef>,
    pub to: Spanned<TensorRef>,
    pub shape: Spanned<Vec<i64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReshapeInPlace {
    pub target: Spanned<TensorRef>,
    pub shape: Spanned<Vec<i64>>,
}

/// `order` must be a permutation of the source rank (checked per tensor by the compiler).
#[derive(Debug, Clone, PartialEq)]
pub struct Permute {
    pub from: Spanned<TensorRef>,
    pub to: Spanned<TensorRef>,
    pub order: Spanned<Vec<i64>>,
}

/// Swap two dimensions (ours; negative dims count from the end).
#[derive(Debug, Clone, PartialEq)]
pub struct Transpose {
    pub from: Spanned<TensorRef>,
    pub to: Spanned<TensorRef>,
    pub dim0: Spanned<i64>,
    pub dim1: Spanned<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    pub from: Spanned<TensorRef>,
    pub to: Spanned<TensorRef>,
    pub fill: Spanned<FillSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FillInPlace {
    pub target: Spanned<TensorRef>,
    pub fill: Spanned<FillSpec>,
}

/// `mode: constant | rand | tensor` and its keys.
#[derive(Debug, Clone, PartialEq)]
pub enum FillSpec {
    Constant {
        value: Spanned<f64>,
    },
    Rand {
        distribution: Spanned<Distribution>,
        seed: Option<Spanned<i64>>,
    },
    Tensor {
        values: Spanned<NestedValues>,
    },
}

/// A nested list of numbers (`fill mode: tensor`), broadcast to the template's shape.
#[derive(Debug, Clone, PartialEq)]
pub enum NestedValues {
    Scalar(f64),
    List(Vec<NestedValues>),
}

impl NestedValues {
    /// The shape of the values (`[]` for a scalar, `[0]` for an empty list), or `None` when they
    /// are ragged: lists at one depth with different lengths or different nesting.
    pub fn shape(&self) -> Option<Vec<usize>> {
        match self {
            NestedValues::Scalar(_) => Some(Vec::new()),
            NestedValues::List(items) => {
                let mut shapes = items.iter().map(NestedValues::shape);
                let first = match shapes.next() {
                    None => return Some(vec![0]),
                    Some(shape) => shape?,
                };
                for shape in shapes {
                    if shape? != first {
                        return None;
                    }
                }
                let mut shape = vec![items.len()];
                shape.extend(first);
                Some(shape)
            }
        }
    }
}

/// A random distribution; omitted parameters keep the reference's defaults (uniform 0..1,
/// normal 0, 1).
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    Uniform {
        low: Option<Spanned<f64>>,
        high: Option<Spanned<f64>>,
    },
    Normal {
        mean: Option<Spanned<f64>>,
        std: Option<Spanned<f64>>,
    },
}

/// `zeroes` / `ones`: a new tensor of `shape` (float32 unless `dtype`, which is ours).
#[derive(Debug, Clone, PartialEq)]
pub struct Create {
    pub target: Spanned<TensorRef>,
    pub shape: Spanned<Vec<u64>>,
    pub dtype: Option<Spanned<DType>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rand {
    pub target: Spanned<TensorRef>,
    pub shape: Spanned<Vec<u64>>,
    /// `None` when no distribution key was written (uniform 0..1).
    pub distribution: Option<Spanned<Distribution>>,
    pub seed: Option<Spanned<i64>>,
    pub dtype: Option<Spanned<DType>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub from: Spanned<TensorRef>,
    pub to: Vec<Spanned<TensorRef>>,
    pub sizes: Spanned<Vec<u64>>,
    pub dim: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Concat {
    pub from: Vec<Spanned<TensorRef>>,
    pub to: Spanned<TensorRef>,
    pub dim: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Phlora {
    pub target: Spanned<TensorRef>,
    pub target_a: Spanned<TensorRef>,
    pub target_b: Spanned<TensorRef>,
    pub rank: Spanned<u64>,
    pub delete_original: Option<Spanned<bool>>,
    pub require_missing_dest: Option<Spanned<bool>>,
    pub svd: SvdOptions,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PhloraInPlace {
    pub target: Spanned<TensorRef>,
    pub rank: Spanned<u64>,
    pub svd: SvdOptions,
}

/// How a low-rank op (`phlora`, `phlora_`, `lora_extract`) computes its SVD (ours): `method`
/// `exact` (the default) or `randomized`, and the randomized SVD's `oversampling`,
/// `power_iterations` and `seed`, which only `method: randomized` accepts. Keys not written stay
/// `None`, so a plan prints back as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SvdOptions {
    pub method: Option<Spanned<SvdMethodName>>,
    pub oversampling: Option<Spanned<u64>>,
    pub power_iterations: Option<Spanned<u64>>,
    pub seed: Option<Spanned<u64>>,
}

impl SvdOptions {
    /// Whether no SVD key is written.
    pub fn is_empty(&self) -> bool {
        self == &SvdOptions::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SvdMethodName {
    Exact,
    Randomized,
}

impl SvdMethodName {
    pub fn as_str(self) -> &'static str {
        match self {
            SvdMethodName::Exact => "exact",
            SvdMethodName::Randomized => "randomized",
        }
    }
}

/// `lora_extract` (ours): for each match of `tuned`, `base` (a template against it) names the
/// base tensor; ΔW = tuned − base is factorized into `target_a` (r × in) and `target_b`
/// (out × r), both templates against `tuned`. Without them (both are written or neither) the
/// factors get PEFT's names next to the tuned tensor: `NAME.lora_A.weight` and
/// `NAME.lora_B.weight` for a tuned `NAME.weight`. `energy` keeps the fewest components reaching
/// that fraction of Σσ², at most `rank`, zero-padding the factors to `rank`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraExtract {
    pub tuned: Spanned<TensorRef>,
    pub base: Spanned<TensorRef>,
    pub factors: Option<(Spanned<TensorRef>, Spanned<TensorRef>)>,
    pub rank: Spanned<u64>,
    pub energy: Option<Spanned<f64>>,
    pub svd: SvdOptions,
}

/// `lora_merge` (ours): each match of `target` becomes W + (alpha / r)·B·A, with `lora_a` and
/// `lora_b` templates against it and r the rows of A.
#[derive(Debug, Clone, PartialEq)]
pub struct LoraMerge {
    pub target: Spanned<TensorRef>,
    pub lora_a: Spanned<TensorRef>,
    pub lora_b: Spanned<TensorRef>,
    pub alpha: Spanned<f64>,
}

/// `help`, `help: <op>`, `help: assert`, `help: {assert: <op>}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Help {
    pub topic: Option<Spanned<HelpTopic>>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HelpTopic {
    Op(String),
    /// `help: assert` (None) or `help: {assert: equal}` (Some).
    Assert(Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dump {
    /// `None`: every alias.
    pub target: Option<Spanned<TensorRef>>,
    pub format: Option<Spanned<DumpFormat>>,
    pub verbosity: Option<Spanned<DumpVerbosity>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpFormat {
    Compact,
    Tree,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpVerbosity {
    Shape,
    Stat,
    Full,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diff {
    pub sides: DiffSides,
    pub eps: Option<Spanned<f64>>,
}

// The two variants differ in size (three references against two strings), but a plan holds few
// diffs, so boxing would only complicate every match on them.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum DiffSides {
    /// `mode: refs` (the default): `left`, `right`.
    Refs {
        left: Spanned<TensorRef>,
        right: Spanned<TensorRef>,
    },
    /// `mode: aliases`: `left_alias`, `right_alias`.
    Aliases {
        left_alias: Spanned<String>,
        right_alias: Spanned<String>,
    },
}

/// An assertion expression.
#[derive(Debug, Clone, PartialEq)]
pub enum AssertExpr {
    Exists(Spanned<TensorRef>),
    Count {
        of: Spanned<TensorRef>,
        is: Spanned<u64>,
    },
    Shape {
        of: Spanned<TensorRef>,
        is: Spanned<Vec<u64>>,
    },
    Dimensions {
        of: Spanned<TensorRef>,
        bounds: Bounds,
    },
    Dtype {
        of: Spanned<TensorRef>,
        is: Spanned<DType>,
    },
    Equal {
        left: Spanned<TensorRef>,
        right: Spanned<TensorRef>,
        eps: Option<Spanned<f64>>,
    },
    IsZero {
        of: Spanned<TensorRef>,
        eps: Option<Spanned<f64>>,
    },
    /// Parsed so that the compiler can explain why access counters are not supported.
    Reads {
        of: Spanned<TensorRef>,
        bounds: Bounds,
    },
    Writes {
        of: Spanned<TensorRef>,
        bounds: Bounds,
    },
    All(Vec<Spanned<AssertExpr>>),
    Any(Vec<Spanned<AssertExpr>>),
    Not(Box<Spanned<AssertExpr>>),
}

impl AssertExpr {
    pub fn name(&self) -> &'static str {
        match self {
            AssertExpr::Exists(_) => "exists",
            AssertExpr::Count { .. } => "count",
            AssertExpr::Shape { .. } => "shape",
            AssertExpr::Dimensions { .. } => "dimensions",
            AssertExpr::Dtype { .. } => "dtype",
            AssertExpr::Equal { .. } => "equal",
            AssertExpr::IsZero { .. } => "iszero",
            AssertExpr::Reads { .. } => "reads",
            AssertExpr::Writes { .. } => "writes",
            AssertExpr::All(_) => "all",
            AssertExpr::Any(_) => "any",
            AssertExpr::Not(_) => "not",
        }
    }
}

/// Every assertion name, for suggestions and completion.
pub const ASSERT_NAMES: [&str; 12] = [
    "exists",
    "count",
    "shape",
    "dimensions",
    "dtype",
    "equal",
    "iszero",
    "reads",
    "writes",
    "all",
    "any",
    "not",
];

/// Integer bounds (`is`, `ge`, `gt`, `le`, `lt`); all given bounds must hold. `at_least`/`at_most`
/// (reads/writes) are spelled `ge`/`le` here.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bounds {
    pub is: Option<Spanned<u64>>,
    pub ge: Option<Spanned<u64>>,
    pub gt: Option<Spanned<u64>>,
    pub le: Option<Spanned<u64>>,
    pub lt: Option<Spanned<u64>>,
}

/// `load`: a whole checkpoint into an alias, or (with `to`) one tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    pub path: Spanned<String>,
    pub alias: Option<Spanned<String>>,
    pub to: Option<Spanned<TensorRef>>,
    pub format: Option<Spanned<FileFormat>>,
}

/// `save`: a whole alias, or (with `target`) one tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Save {
    pub path: Spanned<String>,
    pub alias: Option<Spanned<String>>,
    pub target: Option<Spanned<TensorRef>>,
    pub format: Option<Spanned<FileFormat>>,
    pub shard: Option<Spanned<ShardSize>>,
}

/// File formats of `load`/`save` (`auto` only for load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Auto,
    Safetensors,
    Torch,
    Numpy,
    Dcp,
}

impl FileFormat {
    pub fn name(self) -> &'static str {
        match self {
            FileFormat::Auto => "auto",
            FileFormat::Safetensors => "safetensors",
            FileFormat::Torch => "torch",
            FileFormat::Numpy => "numpy",
            FileFormat::Dcp => "dcp",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Prefixes {
    List,
    Add {
        alias: Spanned<String>,
    },
    Remove {
        alias: Spanned<String>,
    },
    Rename {
        from: Spanned<String>,
        to: Spanned<String>,
    },
}

/// Runtime flags; an empty `set` prints them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Set {
    pub dry_run: Option<Spanned<bool>>,
    pub preview: Option<Spanned<bool>>,
    pub verbose: Option<Spanned<bool>>,
}

/// A nested plan, inlined by the compiler.
#[derive(Debug, Clone, PartialEq)]
pub enum Execute {
    /// `transforms:` one op or a list of ops.
    Steps(Vec<Spanned<Step>>),
    /// `plan:` (a mapping or a list) or `plan-yaml:` (a string), parsed by the front end.
    Plan(Box<Plan>),
    /// `path:` a YAML file, read when the plan is compiled (relative to the working directory).
    Path(Spanned<String>),
}

// The reference's defaults for keys a plan may leave out. The AST keeps `None` for what the user
// did not write (so `fmt` prints it back unchanged); the compiler asks these methods instead of
// repeating the defaults.

impl Dump {
    /// `compact`: what BrainSurgery's code does (its help text claims `tree`).
    pub fn format_or_default(&self) -> DumpFormat {
        self.format.as_ref().map_or(DumpFormat::Compact, |f| f.node)
    }

    /// `shape`: what BrainSurgery's code does (its help text claims `stat`).
    pub fn verbosity_or_default(&self) -> DumpVerbosity {
        self.verbosity
            .as_ref()
            .map_or(DumpVerbosity::Shape, |v| v.node)
    }
}

impl Split {
    pub fn dim_or_default(&self) -> i64 {
        self.dim.as_ref().map_or(0, |d| d.node)
    }
}

impl Concat {
    pub fn dim_or_default(&self) -> i64 {
        self.dim.as_ref().map_or(0, |d| d.node)
    }
}

impl Phlora {
    pub fn delete_original_or_default(&self) -> bool {
        self.delete_original.as_ref().is_none_or(|b| b.node)
    }

    pub fn require_missing_dest_or_default(&self) -> bool {
        self.require_missing_dest.as_ref().is_none_or(|b| b.node)
    }
}

impl Create {
    /// float32, the only dtype BrainSurgery creates.
    pub fn dtype_or_default(&self) -> DType {
        self.dtype.as_ref().map_or(DType::F32, |d| d.node)
    }
}

impl Rand {
    pub fn dtype_or_default(&self) -> DType {
        self.dtype.as_ref().map_or(DType::F32, |d| d.node)
    }

    /// Uniform on [0, 1) when no distribution key is written.
    pub fn distribution_or_default(&self) -> Distribution {
        self.distribution.as_ref().map_or(
            Distribution::Uniform {
                low: None,
                high: None,
            },
            |d| d.node.clone(),
        )
    }
}

impl Distribution {
    /// `(low, high)` for uniform (defaults 0 and 1), `(mean, std)` for normal (defaults 0 and 1).
    pub fn parameters_or_default(&self) -> (f64, f64) {
        let value = |v: &Option<Spanned<f64>>, default: f64| v.as_ref().map_or(default, |v| v.node);
        match self {
            Distribution::Uniform { low, high } => (value(low, 0.0), value(high, 1.0)),
            Distribution::Normal { mean, std } => (value(mean, 0.0), value(std, 1.0)),
        }
    }
}
