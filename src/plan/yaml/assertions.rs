//! Lowering of assertion expressions (`assert:` payloads, nested through `all`, `any`, `not`).
//!
//! Receives one expression node, `{<assertion>: <payload>}`; returns a spanned [`AssertExpr`] or
//! records diagnostics. Checks what BrainSurgery checks at compile time: the payload keys of each
//! assertion, non-negative integer bounds, bounds that can hold together (`dimensions: {ge: 3,
//! lt: 2}` is refused), non-empty `all`/`any` lists, non-negative `eps`, and for `reads`/`writes`
//! the aliases `at_least`/`at_most` agreeing with `ge`/`le` when both are written.

use super::fields::{optional_read, Fields};
use super::lower::{Lowerer, Relation};
use super::node::{Node, Value};
use crate::plan::ast::{AssertExpr, Bounds, Spanned, ASSERT_NAMES};
use crate::plan::diagnostics;

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
                true,
            )?),
            "count" => {
                let fields = Fields::open(self, name, key_span, payload, &["of", "is"])?;
                let of = self.reference(&fields, "of", Relation::Source, true);
                let is = fields
                    .required(self, "is")
                    .and_then(|n| self.count(n, &fields.what("is"), false));
                AssertExpr::Count { of: of?, is: is? }
            }
            "shape" => {
                let fields = Fields::open(self, name, key_span, payload, &["of", "is"])?;
                let of = self.reference(&fields, "of", Relation::Source, true);
                let is = fields
                    .required(self, "is")
                    .and_then(|n| self.count_list(n, &fields.what("is"), false));
                AssertExpr::Shape { of: of?, is: is? }
            }
            "dimensions" => {
                let keys = ["of", "is", "ge", "gt", "le", "lt"];
                let fields = Fields::open(self, name, key_span, payload, &keys)?;
                let of = self.reference(&fields, "of", Relation::Source, true);
                let bounds = self.bounds(&fields, payload, false);
                AssertExpr::Dimensions {
                    of: of?,
                    bounds: bounds?,
                }
            }
            "dtype" => {
                let fields = Fields::open(self, name, key_span, payload, &["of", "is"])?;
                let of = self.reference(&fields, "of", Relation::Source, true);
                let is = fields
                    .required(self, "is")
                    .and_then(|n| self.dtype(n, &fields.what("is")));
                AssertExpr::Dtype { of: of?, is: is? }
            }
            "equal" => {
                let fields =
                    Fields::open(self, name, key_span, payload, &["left", "right", "eps"])?;
                let left = self.reference(&fields, "left", Relation::Source, true);
                let right =
                    self.reference(&fields, "right", Relation::TemplateOf(left.as_ref()), true);
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
                    let of = self.reference(&fields, "of", Relation::Source, true);
                    let eps = self.eps(&fields);
                    AssertExpr::IsZero { of: of?, eps: eps? }
                }
                _ => AssertExpr::IsZero {
                    of: self.reference_node(payload, name, "reference", Relation::Source, true)?,
                    eps: None,
                },
            },
            "reads" | "writes" => {
                let keys = ["of", "is", "ge", "gt", "le", "lt", "at_least", "at_most"];
                let fields = Fields::open(self, name, key_span, payload, &keys)?;
                let of = self.reference(&fields, "of", Relation::Source, true);
                let bounds = self.bounds(&fields, payload, true);
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
        let Some(node) = fields.optional("eps") else {
            return Some(None);
        };
        let eps = self.number(node, &fields.what("eps"))?;
        if eps.node < 0.0 || eps.node.is_nan() {
            self.error(diagnostics::invalid_argument(
                &format!(
                    "{} must not be negative, found {}",
                    fields.what("eps"),
                    eps.node
                ),
                "negative tolerance",
                eps.span,
                "write a tolerance of 0 or more",
            ));
            return None;
        }
        Some(Some(eps))
    }

    /// `is`, `ge`, `gt`, `le`, `lt` (and, for access counters, `at_least`/`at_most`); all must be
    /// able to hold at once.
    fn bounds(&mut self, fields: &Fields<'_>, payload: &Node, counters: bool) -> Option<Bounds> {
        let mut read = |key: &str| {
            fields
                .optional(key)
                .map(|n| self.count(n, &fields.what(key), false))
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
            is: optional_read(is)?,
            ge: optional_read(ge)?,
            gt: optional_read(gt)?,
            le: optional_read(le)?,
            lt: optional_read(lt)?,
        };
        let lowest = [
            bounds.is.as_ref().map(|v| v.node),
            bounds.ge.as_ref().map(|v| v.node),
            bounds.gt.as_ref().map(|v| v.node.saturating_add(1)),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        let lt_impossible = bounds.lt.as_ref().is_some_and(|v| v.node == 0);
        let highest = [
            bounds.is.as_ref().map(|v| v.node),
            bounds.le.as_ref().map(|v| v.node),
            bounds.lt.as_ref().map(|v| v.node.saturating_sub(1)),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(u64::MAX);
        if lowest > highest || lt_impossible {
            self.error(diagnostics::invalid_argument(
                &format!("{} bounds contradict each other", fields.op()),
                "no count satisfies all of these bounds",
                payload.span,
                "all given bounds must hold together; remove or relax one",
            ));
            return None;
        }
        Some(bounds)
    }

    /// `ge` and its alias `at_least` (or `le` and `at_most`): either, or both when equal.
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
                Some(None)
            }
            (Some(first), _) => Some(first),
            (None, second) => second,
        }
    }
}
