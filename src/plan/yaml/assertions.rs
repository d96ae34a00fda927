//! Lowering of assertion expressions (`assert:` payloads, nested through `all`, `any`, `not`).
//!
//! Receives one expression node, `{<assertion>: <payload>}`; returns a spanned [`AssertExpr`] or
//! records diagnostics. Checks what BrainSurgery checks at compile time: the payload keys of each
//! assertion, non-negative integer bounds, bounds that can hold together (`dimensions: {ge: 3,
//! lt: 2}` is refused), non-empty `all`/`any` lists, non-negative `eps`, and for `reads`/`writes`
//! the aliases `at_least`/`at_most` agreeing with `ge`/`le` when both are written.

use super::fields::Fields;
use super::lower::Lowerer;
use super::node::{Node, Value};
use crate::plan::ast::{AssertExpr, Bounds, Spanned, ASSERT_NAMES};
use crate::plan::diagnostics;
use crate::plan::rules::{self, Relation};

impl Lowerer<'_> {
    pub(crate) fn assertion(&mut self, node: &Node) -> Option<Spanned<AssertExpr>> {
        let entry = match &node.value {
            Value::Mapping(entries) if entries.len() == 1 => &entries[0],
            _ => {
                self.error(diagnostics::wrong_type(
                    "an assertion",
                    "a mapping with one assertion, e.g. `{exists: ln_f.weight}`",
                    &node.describe(),
                    node.span,
                ));
                return None;
            }
        };
        let name = entry.key.as_str();
        let payload = &entry.value;
        let key_span = entry.key_span;
        let expression = match name {
            "exists" => AssertExpr::Exists(self.reference_node(
                payload,
                name,
                "reference",
                Relation::Source,
            )?),
            "count" => {
                let fields = Fields::open(self, name, key_span, payload, &["of", "is"])?;
                let of = self.reference(&fields, "of", Relation::Source);
                let is = fields.read(self, "is", |lower, node, what| {
                    lower.count(node, what, false)
                });
                AssertExpr::Count { of: of?, is: is? }
            }
            "shape" => {
                let fields = Fields::open(self, name, key_span, payload, &["of", "is"])?;
                let of = self.reference(&fields, "of", Relation::Source);
                let is = fields.read(self, "is", |lower, node, what| {
                    lower.count_list(node, what, false)
                });
                AssertExpr::Shape { of: of?, is: is? }
            }
            "dimensions" => {
                let keys = ["of", "is", "ge", "gt", "le", "lt"];
                let fields = Fields::open(self, name, key_span, payload, &keys)?;
                let of = self.reference(&fields, "of", Relation::Source);
                let bounds = self.bounds(&fields, false);
                AssertExpr::Dimensions {
                    of: of?,
                    bounds: bounds?,
                }
            }
            "dtype" => {
                let fields = Fields::open(self, name, key_span, payload, &["of", "is"])?;
                let of = self.reference(&fields, "of", Relation::Source);
                let is = fields.read(self, "is", Lowerer::dtype);
                AssertExpr::Dtype { of: of?, is: is? }
            }
            "equal" => {
                let fields =
                    Fields::open(self, name, key_span, payload, &["left", "right", "eps"])?;
                let left = self.reference(&fields, "left", Relation::Source);
                let right = self.reference(&fields, "right", Relation::TemplateOf(left.as_ref()));
                let eps = self.eps(&fields);
                AssertExpr::Equal {
                    left: left?,
                    right: right?,
                    eps: eps?,
                }
            }
            "iszero" => match &payload.value {
                Value::Mapping(_) => {
                    let fields = Fields::open(self, name, key_span, payload, &["of", "eps"])?;
                    let of = self.reference(&fields, "of", Relation::Source);
                    let eps = self.eps(&fields);
                    AssertExpr::IsZero { of: of?, eps: eps? }
                }
                _ => AssertExpr::IsZero {
                    of: self.reference_node(payload, name, "reference", Relation::Source)?,
                    eps: None,
                },
            },
            "reads" | "writes" => {
                let keys = ["of", "is", "ge", "gt", "le", "lt", "at_least", "at_most"];
                let fields = Fields::open(self, name, key_span, payload, &keys)?;
                let of = self.reference(&fields, "of", Relation::Source);
                let bounds = self.bounds(&fields, true);
                let (of, bounds) = (of?, bounds?);
                if name == "reads" {
                    AssertExpr::Reads { of, bounds }
                } else {
                    AssertExpr::Writes { of, bounds }
                }
            }
            "all" | "any" => {
                let Value::Sequence(items) = &payload.value else {
                    self.error(diagnostics::wrong_type(
                        &format!("assert `{name}`"),
                        "a list of assertions",
                        &payload.describe(),
                        payload.span,
                    ));
                    return None;
                };
                if items.is_empty() {
                    self.error(diagnostics::too_few_items(
                        &format!("assert `{name}`"),
                        1,
                        payload.span,
                    ));
                    return None;
                }
                let parts: Vec<_> = items.iter().map(|item| self.assertion(item)).collect();
                let parts = parts.into_iter().collect::<Option<Vec<_>>>()?;
                if name == "all" {
                    AssertExpr::All(parts)
                } else {
                    AssertExpr::Any(parts)
                }
            }
            "not" => AssertExpr::Not(Box::new(self.assertion(payload)?)),
            _ => {
                self.error(diagnostics::unknown_choice(
                    "assertion",
                    name,
                    key_span,
                    &ASSERT_NAMES,
                ));
                return None;
            }
        };
        Some(Spanned::new(expression, node.span))
    }

    /// Optional non-negative `eps`; `Some(None)` when absent, `None` when invalid.
    pub(crate) fn eps(&mut self, fields: &Fields<'_>) -> Option<Option<Spanned<f64>>> {
        let eps = fields.read_optional(self, "eps", Lowerer::number)?;
        if let Some(eps) = &eps {
            self.check(rules::eps(&fields.what("eps"), eps))?;
        }
        Some(eps)
    }

    /// `is`, `ge`, `gt`, `le`, `lt` (and, for access counters, `at_least`/`at_most`); all must be
    /// able to hold at once.
    fn bounds(&mut self, fields: &Fields<'_>, counters: bool) -> Option<Bounds> {
        let mut read = |key: &str| {
            fields.read_optional(self, key, |lower, node, what| {
                lower.count(node, what, false)
            })
        };
        let is = read("is");
        let mut ge = read("ge");
        let gt = read("gt");
        let mut le = read("le");
        let lt = read("lt");
        if counters {
            let at_least = read("at_least");
            let at_most = read("at_most");
            ge = self.merge_alias(fields, "ge", ge, "at_least", at_least);
            le = self.merge_alias(fields, "le", le, "at_most", at_most);
        }
        let bounds = Bounds {
            is: is?,
            ge: ge?,
            gt: gt?,
            le: le?,
            lt: lt?,
        };
        self.check(rules::bounds(fields.op(), &bounds, fields.span()))?;
        Some(bounds)
    }

    /// `ge` and its alias `at_least` (or `le` and `at_most`): either, or both when equal. Each
    /// value is as [`Fields::read_optional`] returns it (`None`: reading it failed).
    fn merge_alias(
        &mut self,
        fields: &Fields<'_>,
        key: &str,
        value: Option<Option<Spanned<u64>>>,
        alias: &str,
        alias_value: Option<Option<Spanned<u64>>>,
    ) -> Option<Option<Spanned<u64>>> {
        match (value, alias_value) {
            (Some(Some(first)), Some(Some(second))) if first.node != second.node => {
                self.error(diagnostics::conflicting_keys(
                    fields.op(),
                    key,
                    alias,
                    second.span,
                    first.span,
                ));
                None
            }
            (Some(None), alias_value) => alias_value,
            (value, _) => value,
        }
    }
}
