//! One constructor per plan error, so that the wording of every message is reviewed in one file.
//!
//! Receives the facts a front end found (the offending text, its span, candidates for a
//! suggestion); returns a [`Diagnostic`] with a stable code, a label on the exact span and a help line
//! saying how to fix it. Codes are listed in `docs/errors.md`: E01xx for plan files (YAML structure,
//! keys, values, overrides), E02xx for tensor references (regexes, slices, templates, structured
//! tokens). Constructors are `#[cold]`: they run only on the error path.

use crate::diagnostics::{nearest, Diagnostic, Span};

/// The nearest candidate, when it is close enough to be a plausible typo of `word`.
pub(crate) fn close_match<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let best = nearest(word, candidates, 1).into_iter().next()?;
    let distance = crate::diagnostics::edit_distance(word, best);
    // A suggestion farther away than half the word is noise rather than help.
    let limit = (word.chars().count() / 2).max(2);
    (distance <= limit).then_some(best)
}

/// "did you mean `x`?" for the nearest candidate, when it is close enough.
fn suggestion<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    close_match(word, candidates).map(|best| format!("did you mean `{best}`?"))
}

/// User text for a message: control characters escaped, so a tab or newline cannot break the
/// message's line.
fn shown(text: &str) -> String {
    text.chars()
        .flat_map(|c| -> Box<dyn Iterator<Item = char>> {
            if c.is_control() {
                Box::new(c.escape_default())
            } else {
                Box::new(std::iter::once(c))
            }
        })
        .collect()
}

fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// E01xx: plan files (YAML structure, keys, values, overrides)
// ---------------------------------------------------------------------------------------------

#[cold]
pub fn yaml_syntax(message: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0100", format!("YAML syntax error: {message}"))
        .with_label(span, "here")
        .with_help("check the indentation and the brackets and quotes before this point")
}

#[cold]
pub fn unknown_op(name: &str, span: Span) -> Diagnostic {
    let help = suggestion(name, crate::plan::ast::OP_NAMES)
        .unwrap_or_else(|| "`help` lists every operation".to_string());
    Diagnostic::error("E0101", format!("unknown op `{name}`"))
        .with_label(span, "not an operation")
        .with_help(help)
}

#[cold]
pub fn unknown_key(op: &str, key: &str, span: Span, allowed: &[&str]) -> Diagnostic {
    let help = suggestion(key, allowed.iter().copied())
        .unwrap_or_else(|| format!("`{op}` accepts {}", backticked(allowed)));
    Diagnostic::error("E0102", format!("{op} received unknown key `{key}`"))
        .with_label(span, "unknown key")
        .with_help(help)
}

#[cold]
pub fn missing_key(op: &str, key: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0103", format!("{op} is missing the required key `{key}`"))
        .with_label(span, format!("`{key}` is required here"))
        .with_help(format!("add `{key}: …` to the `{op}` payload"))
}

#[cold]
pub fn wrong_type(what: &str, expected: &str, found: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0104", format!("{what} must be {expected}, found {found}"))
        .with_label(span, format!("expected {expected}"))
        .with_help(format!("write {what} as {expected}"))
}

#[cold]
pub fn unknown_choice(what: &str, value: &str, span: Span, choices: &[&str]) -> Diagnostic {
    let help = match suggestion(value, choices.iter().copied()) {
        Some(hint) => format!("{hint} ({what} is one of {})", backticked(choices)),
        None => format!("{what} is one of {}", backticked(choices)),
    };
    Diagnostic::error("E0105", format!("unknown {what} `{value}`"))
        .with_label(span, "not a valid choice")
        .with_help(help)
}

#[cold]
pub fn unknown_dtype(value: &str, span: Span) -> Diagnostic {
    const COMMON: [&str; 11] = [
        "float16", "bfloat16", "float32", "float64", "uint8", "int8", "int16", "int32", "int64",
        "bool", "half",
    ];
    let mut help = String::new();
    if let Some(hint) = suggestion(&value.to_ascii_lowercase(), COMMON) {
        help.push_str(&hint);
        help.push(' ');
    }
    help.push_str(
        "dtypes are written as PyTorch names (float16, bfloat16, float32, float64, int8, …) or \
         safetensors names (F16, BF16, F8_E4M3, …)",
    );
    Diagnostic::error("E0106", format!("unknown dtype `{value}`"))
        .with_label(span, "not a dtype")
        .with_help(help)
}

#[cold]
pub fn bad_size(value: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0107", format!("invalid size `{value}`"))
        .with_label(span, "not a size")
        .with_help(
            "write a whole number and a unit: b, kb, mb, gb or tb (binary: 1kb = 1024 bytes), \
             e.g. `5GB`, or `none`",
        )
}

#[cold]
pub fn size_overflow(value: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0107", format!("size `{value}` does not fit in 64 bits"))
        .with_label(span, "too large")
        .with_help("use a smaller size")
}

#[cold]
pub fn not_a_number(what: &str, value: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0108", format!("{what} must be a number, found `{value}`"))
        .with_label(span, "not a number")
        .with_help("write a number such as `0.5`, `2` or `-1e-3`")
}

#[cold]
pub fn not_an_integer(what: &str, value: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0109",
        format!("{what} must be an integer, found `{value}`"),
    )
    .with_label(span, "not an integer")
    .with_help("write a whole number such as `0`, `16` or `-1`")
}

#[cold]
pub fn integer_out_of_range(what: &str, value: &str, expected: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0109",
        format!("{what} must be {expected}, found `{value}`"),
    )
    .with_label(span, format!("expected {expected}"))
    .with_help(format!("write {what} as {expected}"))
}

#[cold]
pub fn not_a_bool(what: &str, value: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0108",
        format!("{what} must be true or false, found `{value}`"),
    )
    .with_label(span, "not a boolean")
    .with_help("write `true` or `false`")
}

#[cold]
pub fn duplicate_input_alias(alias: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0110", format!("duplicate input alias `{alias}`"))
        .with_label(span, "declared again here")
        .with_label(first, "first declared here")
        .with_help("give every input its own alias")
}

#[cold]
pub fn input_alias_required(path: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0111",
        format!("input `{path}` needs an alias: the plan has several inputs"),
    )
    .with_label(span, "no alias")
    .with_help(format!(
        "write it as `alias::{path}`; only a plan's single input may omit its alias (it is then `model`)"
    ))
}

#[cold]
pub fn empty_input_path(span: Span) -> Diagnostic {
    Diagnostic::error("E0112", "input path must not be empty")
        .with_label(span, "empty path")
        .with_help("write the checkpoint's file or directory after `alias::`")
}

#[cold]
pub fn bad_step_shape(found: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0113",
        format!("a transform must be an op name or a mapping with exactly one key, found {found}"),
    )
    .with_label(span, "not a single-key mapping")
    .with_help("write each step as `- op: {key: value, …}` (or `- op` for ops without arguments)")
}

#[cold]
pub fn unknown_top_level_key(key: &str, span: Span) -> Diagnostic {
    const KEYS: [&str; 3] = ["inputs", "transforms", "output"];
    let help = suggestion(key, KEYS)
        .unwrap_or_else(|| "a plan has the keys `inputs`, `transforms` and `output`".to_string());
    Diagnostic::error("E0114", format!("unknown plan key `{key}`"))
        .with_label(span, "unknown key")
        .with_help(help)
}

#[cold]
pub fn duplicate_key(key: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0115", format!("duplicate key `{key}`"))
        .with_label(span, "written again here")
        .with_label(first, "first written here")
        .with_help("a mapping may hold each key once; remove one of them")
}

#[cold]
pub fn override_without_equals(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0116", format!("override `{text}` has no `=`"))
        .with_label(span, "expected `key=value`")
        .with_help("write overrides as `dotted.path=value`, e.g. `output.path=out/x`")
}

#[cold]
pub fn bad_override_path(problem: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0117", format!("invalid override path: {problem}"))
        .with_label(span, problem.to_string())
        .with_help(
            "a path is keys separated by `.` with optional `[N]` list indices, e.g. \
             `transforms[0].dump.format`",
        )
}

#[cold]
pub fn key_not_for_mode(op: &str, key: &str, mode: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0118",
        format!("{op} key `{key}` does not apply to mode `{mode}`"),
    )
    .with_label(span, format!("not used by mode `{mode}`"))
    .with_help(format!("remove `{key}` or change the mode"))
}

#[cold]
pub fn invalid_argument(message: &str, label: &str, span: Span, help: &str) -> Diagnostic {
    Diagnostic::error("E0119", message.to_string())
        .with_label(span, label.to_string())
        .with_help(help.to_string())
}

#[cold]
pub fn mixed_plan_syntaxes(path: &str) -> Diagnostic {
    Diagnostic::error(
        "E0120",
        format!("terse plan `{path}` cannot be combined with other plan files"),
    )
    .with_help("give either one terse (.bs) plan, or YAML files (which are merged in order)")
}

#[cold]
pub fn unreadable_plan(path: &str, error: &std::io::Error) -> Diagnostic {
    Diagnostic::error("E0121", format!("cannot read plan `{path}`: {error}"))
        .with_help("check that the path exists and is readable")
}

#[cold]
pub fn unsupported_yaml(what: &str, span: Span, help: &str) -> Diagnostic {
    Diagnostic::error("E0122", format!("unsupported YAML: {what}"))
        .with_label(span, "here")
        .with_help(help.to_string())
}

#[cold]
pub fn too_few_items(what: &str, minimum: usize, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0123",
        format!(
            "{what} needs at least {minimum} item{}",
            if minimum == 1 { "" } else { "s" }
        ),
    )
    .with_label(span, "too few items")
    .with_help(format!("list at least {minimum}"))
}

#[cold]
pub fn conflicting_keys(
    op: &str,
    first: &str,
    second: &str,
    span: Span,
    first_span: Span,
) -> Diagnostic {
    Diagnostic::error(
        "E0124",
        format!("{op} takes either `{first}` or `{second}`, not both"),
    )
    .with_label(span, format!("`{second}` given here"))
    .with_label(first_span, format!("`{first}` given here"))
    .with_help(format!("remove one of `{first}` and `{second}`"))
}

#[cold]
pub fn exit_takes_no_payload(span: Span) -> Diagnostic {
    Diagnostic::error("E0125", "exit takes no arguments")
        .with_label(span, "unexpected payload")
        .with_help("write `- exit`")
}

// ---------------------------------------------------------------------------------------------
// E02xx: tensor references
// ---------------------------------------------------------------------------------------------

#[cold]
pub fn too_many_reference_parts(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0201",
        format!("invalid reference syntax `{}`", shown(text)),
    )
    .with_label(span, "a fourth `::` part")
    .with_help(
        "a reference is `[alias::]expr[::[slice]]`, so it has at most two `::`; a regex cannot \
             contain `::`",
    )
}

#[cold]
pub fn empty_expression(span: Span) -> Diagnostic {
    Diagnostic::error("E0201", "empty tensor expression in reference")
        .with_label(span, "no tensor name or pattern")
        .with_help("write a tensor name or regex, e.g. `model::ln_f.weight`")
}

#[cold]
pub fn unqualified_reference(text: &str, span: Span, inputs: &[&str]) -> Diagnostic {
    let (message, help) = if inputs.is_empty() {
        (
            format!("unqualified reference `{text}` in a plan without inputs"),
            "qualify it as `alias::name` with the alias a `load` or `prefixes add` step created"
                .to_string(),
        )
    } else {
        (
            format!("unqualified reference `{text}` with several inputs"),
            format!(
                "qualify it with one of the input aliases {}, e.g. `{}::{text}`",
                backticked(inputs),
                inputs[0]
            ),
        )
    };
    Diagnostic::error("E0202", message)
        .with_label(span, "which input does this name?")
        .with_help(help)
}

#[cold]
pub fn slice_not_bracketed(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0203", format!("invalid slice syntax `{text}`"))
        .with_label(span, "a slice is written in brackets")
        .with_help("write the slice as `[start:stop:step, …]`, e.g. `w::[:, :10]`")
}

#[cold]
pub fn bad_slice_component(problem: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0203", format!("invalid slice: {problem}"))
        .with_label(span, problem.to_string())
        .with_help(
            "each component is an integer index or `start:stop:step` with integer (possibly \
             negative or omitted) bounds; `...`, `None` and lists are not supported",
        )
}

#[cold]
pub fn slice_step_not_positive(step: i64, span: Span) -> Diagnostic {
    Diagnostic::error("E0204", format!("slice step must be positive, found {step}"))
        .with_label(span, "step must be at least 1")
        .with_help("PyTorch slices do not support zero or negative steps; reorder with `permute` or slice forwards")
}

#[cold]
pub fn bad_regex(pattern: &str, error: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0205", format!("invalid regex `{}`", shown(pattern)))
        .with_label(span, error.to_string())
        .with_help(
            "patterns are Python regular expressions matched against the whole tensor name; \
             escape a literal `.` as `\\.` when it matters",
        )
}

#[cold]
pub fn missing_template_group(group: &str, available: usize, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0206",
        format!("back-reference `{group}` names a group the source pattern does not have"),
    )
    .with_label(span, "no such group")
    .with_help(format!(
        "the source pattern has {available} group{}; `\\g<0>` is the whole match",
        if available == 1 { "" } else { "s" }
    ))
}

#[cold]
pub fn missing_template_group_name(name: &str, names: &[&str], span: Span) -> Diagnostic {
    let help = if names.is_empty() {
        "the source pattern has no named groups; name one with `(?P<name>…)`".to_string()
    } else {
        suggestion(name, names.iter().copied())
            .unwrap_or_else(|| format!("the named groups are {}", backticked(names)))
    };
    Diagnostic::error(
        "E0206",
        format!("back-reference `\\g<{name}>` names a group the source pattern does not have"),
    )
    .with_label(span, "no such group")
    .with_help(help)
}

#[cold]
pub fn bad_template_escape(problem: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0207", format!("invalid destination template: {problem}"))
        .with_label(span, problem.to_string())
        .with_help(
            "templates use `\\1`, `\\g<1>`, `\\g<name>` or `\\g<0>` for groups and `\\\\` for a \
             backslash",
        )
}

#[cold]
pub fn bad_structured_token(token: &str, problem: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0208",
        format!("invalid structured token `{token}`: {problem}"),
    )
    .with_label(span, problem.to_string())
    .with_help(
        "tokens are a literal segment, `$x` (one segment), `*xs` (any segments), `~REGEX`, \
             `~x::REGEX` or `~x,y::REGEX`; names are identifiers",
    )
}

#[cold]
pub fn regex_token_on_destination(token: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0209",
        format!("regex token `{token}` on a destination side"),
    )
    .with_label(span, "only allowed on the source side")
    .with_help("bind the segment on the source side (`~x::REGEX`) and write `$x` or `${x}` here")
}

#[cold]
pub fn regex_token_group_count(names: usize, groups: usize, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0210",
        format!(
            "regex token binds {names} name{} but its regex has {groups} group{}",
            if names == 1 { "" } else { "s" },
            if groups == 1 { "" } else { "s" }
        ),
    )
    .with_label(span, "group count does not match")
    .with_help(
        "`~x::REGEX` takes 0 or 1 groups; `~x,y::REGEX` needs exactly one group per name; use \
         `(?:…)` for groups that should not bind",
    )
}

#[cold]
pub fn named_group_in_token(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0211",
        "named groups are not allowed in structured regex tokens",
    )
    .with_label(span, "named group")
    .with_help("name the binding before `::` instead: `~x::(\\d+)`")
}

#[cold]
pub fn unbound_variable(name: &str, span: Span, bound: &[&str]) -> Diagnostic {
    let help = if bound.is_empty() {
        "the source side binds no variables; bind one with `$x`, `*xs` or `~x::REGEX`".to_string()
    } else {
        suggestion(name, bound.iter().copied())
            .unwrap_or_else(|| format!("the source side binds {}", backticked(bound)))
    };
    Diagnostic::error(
        "E0212",
        format!("variable `{name}` is not bound on the source side"),
    )
    .with_label(span, "unbound")
    .with_help(help)
}

#[cold]
pub fn variable_kind_mismatch(name: &str, used_as: &str, bound_as: &str, span: Span) -> Diagnostic {
    let help = if bound_as == "a list" {
        format!("splice the list with `*{name}`")
    } else {
        format!("use the scalar as `${name}` or `${{{name}}}`")
    };
    Diagnostic::error(
        "E0213",
        format!("variable `{name}` is {bound_as} but is used as {used_as}"),
    )
    .with_label(span, format!("used as {used_as}"))
    .with_help(help)
}

#[cold]
pub fn mixed_reference_kinds(op: &str, span: Span, source_span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0214",
        format!("{op} requires source and destination expressions of the same kind"),
    )
    .with_label(span, "this side is of the other kind")
    .with_label(source_span, "source expression")
    .with_help("write both as strings (regex mode) or both as lists (structured mode)")
}

#[cold]
pub fn slice_not_allowed(op: &str, role: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0215", format!("{op} {role} must not be sliced"))
        .with_label(span, "slice not allowed here")
        .with_help(format!(
            "remove the slice from `{role}`, or slice with a separate step"
        ))
}

#[cold]
pub fn pattern_where_name_expected(op: &str, role: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0216",
        format!("{op} {role} must be a literal tensor name, not a pattern"),
    )
    .with_label(span, "a pattern")
    .with_help("write the exact name of the tensor to create")
}

#[cold]
pub fn bad_interpolation(token: &str, problem: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0217",
        format!("invalid interpolation in `{token}`: {problem}"),
    )
    .with_label(span, problem.to_string())
    .with_help("interpolate a scalar variable as `${name}`")
}

#[cold]
pub fn variable_bound_twice_differently(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        "E0218",
        format!("variable `{name}` is bound both as a segment and as a list"),
    )
    .with_label(span, "bound again here")
    .with_label(first, "first bound here")
    .with_help("a repeated name is a back-reference and must be of the same kind; rename one")
}

#[cold]
pub fn empty_structured_reference(span: Span) -> Diagnostic {
    Diagnostic::error("E0219", "empty structured reference")
        .with_label(span, "no tokens")
        .with_help("list the name's segments, e.g. `[h, $i, \"*rest\"]`")
}

#[cold]
pub fn misplaced_alias_token(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0220",
        "an `alias::` token may only be the first element of a structured reference",
    )
    .with_label(span, "alias token here")
    .with_help("move `alias::` to the front of the list")
}

#[cold]
pub fn overrides_on_terse_plan(path: &str) -> Diagnostic {
    Diagnostic::error(
        "E0126",
        format!("`key=value` overrides apply to YAML plans, not to the terse plan `{path}`"),
    )
    .with_help("edit the terse plan, or convert it with `brainsurgery fmt --to yaml` first")
}
