//! The terse parser never panics: random bytes, random token soups built from the syntax's own
//! vocabulary, and mutations of valid plans all end in a plan or in diagnostics whose spans lie
//! inside the source (so rendering them cannot panic either).

mod terse_support;

use brainsurgery::diagnostics::{render_all_plain, SourceMap};
use brainsurgery::plan::terse::{parse_terse, print_terse};
use proptest::prelude::*;
use proptest::sample::select;

/// Parses `text`; on failure, checks that every label lies inside the text and renders.
fn parse_without_panic(text: &str) -> Result<(), TestCaseError> {
    let mut sources = SourceMap::new();
    let id = sources.add("fuzz.bs", text);
    if let Err(errors) = parse_terse(&mut sources, id) {
        prop_assert!(!errors.is_empty(), "a failed parse reports something");
        for error in &errors {
            for label in &error.labels {
                prop_assert!(
                    label.span.end as usize <= text.len(),
                    "label past the end: {:?}",
                    error
                );
                prop_assert!(label.span.start <= label.span.end);
            }
        }
        let rendered = render_all_plain(&errors, &sources);
        prop_assert!(rendered.contains("error["));
    }
    Ok(())
}

/// Pieces of the terse syntax, glued in random order.
fn token() -> impl Strategy<Value = &'static str> {
    select(vec![
        "input",
        "output",
        "assert",
        "del",
        "move",
        "dump",
        "diff",
        "help",
        "load",
        "save",
        "prefixes",
        "set",
        "exit",
        "execute",
        "plan",
        "{",
        "}",
        "=",
        "<-",
        "+=",
        "-=",
        "*=",
        "+",
        "-",
        "*",
        "@",
        "as",
        "->",
        "::",
        "[",
        "]",
        "(",
        ")",
        ",",
        ":",
        "\"",
        "\"x\"",
        "/",
        "/a/",
        "#",
        "\n",
        " ",
        "  ",
        "\t",
        "\\",
        "\\1",
        "\\g<",
        "x",
        "h.(\\d+).w",
        "base",
        "0",
        "-1",
        "0.5",
        "1e300",
        "inf",
        "nan",
        "clamp",
        "clamp_",
        "reshape",
        "fill",
        "zeroes",
        "rand",
        "split",
        "concat",
        "phlora",
        "phlora_",
        "cast_",
        "uniform",
        "normal",
        "tensor",
        "min=",
        "max=",
        "rank=",
        "dim=",
        "seed=",
        "dtype=",
        "format=",
        "shard=",
        "eps=",
        "float16",
        "bf16",
        "exists",
        "count",
        "shape",
        "dimensions",
        "dtype",
        "equal",
        "iszero",
        "all",
        "any",
        "not",
        "==",
        ">=",
        "<",
        "$x",
        "*rest",
        "~x::\\d+",
        "${x}",
        "é",
        "\u{0}",
        "\r",
        "2GB",
        "none",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let text = String::from_utf8_lossy(&bytes);
        parse_without_panic(&text)?;
    }

    #[test]
    fn token_soups_never_panic(tokens in prop::collection::vec(token(), 0..40)) {
        parse_without_panic(&tokens.concat())?;
    }

    #[test]
    fn mutated_plans_never_panic(
        plan in terse_support::plan(false),
        cut in any::<prop::sample::Index>(),
        insert in token(),
    ) {
        let text = print_terse(&plan);
        let mut position = cut.index(text.len() + 1);
        while !text.is_char_boundary(position) {
            position -= 1;
        }
        let mutated = format!("{}{insert}{}", &text[..position], &text[position..]);
        parse_without_panic(&mutated)?;
        parse_without_panic(&text[..position])?;
    }
}
