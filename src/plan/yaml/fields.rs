//! An op's payload mapping, read key by key with unknown and missing keys reported.
//!
//! Receives the payload node of one step (a mapping, or null for "no arguments"), the op's name
//! and the keys it accepts; [`Fields::open`] reports every unknown key at once (with a "did you
//! mean" for typos) and [`Fields::required`] reports a missing key at the op keyword, unless an
//! unknown key was already reported as its likely misspelling (one error per typo). A key
//! written with a null value (`min:` or `min: ~`) counts as not written, as BrainSurgery's
//! `payload.get(key)` treats it. [`Fields::read`] and [`Fields::read_optional`] read a key's value
//! with one of the [`Lowerer`]'s typed readers, naming it "op `key`" in messages.

use super::lower::Lowerer;
use super::node::{Entry, Node, Value};
use crate::diagnostics::Span;
use crate::plan::diagnostics;

pub(crate) struct Fields<'n> {
    op: &'n str,
    keyword_span: Span,
    /// The whole payload, for rules about several keys at once.
    span: Span,
    entries: &'n [Entry],
    /// Accepted keys that an unknown key was reported as a misspelling of.
    suggested: Vec<&'n str>,
}

impl<'n> Fields<'n> {
    /// Opens a payload; `None` (with a diagnostic) when it is neither a mapping nor null.
    pub fn open(
        lower: &mut Lowerer<'_>,
        op: &'n str,
        keyword_span: Span,
        payload: &'n Node,
        allowed: &[&'n str],
    ) -> Option<Fields<'n>> {
        let entries: &'n [Entry] = match &payload.value {
            Value::Null => &[],
            Value::Mapping(entries) => entries,
            _ => {
                lower.error(diagnostics::wrong_type(
                    &format!("the `{op}` payload"),
                    "a mapping of keys",
                    &payload.describe(),
                    payload.span,
                ));
                return None;
            }
        };
        let mut suggested = Vec::new();
        for entry in entries {
            if !allowed.contains(&entry.key.as_str()) {
                lower.error(diagnostics::unknown_key(
                    op,
                    &entry.key,
                    entry.key_span,
                    allowed,
                ));
                suggested.extend(diagnostics::close_match(
                    &entry.key,
                    allowed.iter().copied(),
                ));
            }
        }
        Some(Fields {
            op,
            keyword_span,
            span: payload.span,
            entries,
            suggested,
        })
    }

    pub fn op(&self) -> &'n str {
        self.op
    }

    pub fn keyword_span(&self) -> Span {
        self.keyword_span
    }

    /// The span of the whole payload.
    pub fn span(&self) -> Span {
        self.span
    }

    /// How a key is named in messages: "copy `from`".
    pub fn what(&self, key: &str) -> String {
        format!("{} `{key}`", self.op)
    }

    pub fn entry(&self, key: &str) -> Option<&'n Entry> {
        self.entries
            .iter()
            .find(|entry| entry.key == key && !entry.value.is_null())
    }

    /// The value of `key` when it is written and not null.
    pub fn optional(&self, key: &str) -> Option<&'n Node> {
        self.entry(key).map(|entry| &entry.value)
    }

    /// The value of `key`, or a "missing key" diagnostic at the op keyword (or at the key, when
    /// it is written with a null value).
    pub fn required(&self, lower: &mut Lowerer<'_>, key: &str) -> Option<&'n Node> {
        if let Some(node) = self.optional(key) {
            return Some(node);
        }
        if self.suggested.contains(&key) {
            return None;
        }
        let span = self
            .entries
            .iter()
            .find(|entry| entry.key == key)
            .map_or(self.keyword_span, |entry| entry.key_span);
        lower.error(diagnostics::missing_key(self.op, key, span));
        None
    }

    /// The value of the required `key`, read by `read` (e.g. [`Lowerer::number`]).
    pub fn read<'l, T>(
        &self,
        lower: &mut Lowerer<'l>,
        key: &str,
        read: impl FnOnce(&mut Lowerer<'l>, &'n Node, &str) -> Option<T>,
    ) -> Option<T> {
        let node = self.required(lower, key)?;
        read(lower, node, &self.what(key))
    }

    /// The value of the optional `key`, read by `read`: `Some(None)` when it is not written,
    /// `None` when reading it failed (the diagnostic is recorded).
    pub fn read_optional<'l, T>(
        &self,
        lower: &mut Lowerer<'l>,
        key: &str,
        read: impl FnOnce(&mut Lowerer<'l>, &'n Node, &str) -> Option<T>,
    ) -> Option<Option<T>> {
        match self.optional(key) {
            None => Some(None),
            Some(node) => read(lower, node, &self.what(key)).map(Some),
        }
    }

    /// Reports each of `keys` that is written although the chosen `mode` does not use it.
    pub fn reject_for_mode(&self, lower: &mut Lowerer<'_>, mode: &str, keys: &[&str]) {
        for key in keys {
            if let Some(entry) = self.entry(key) {
                lower.error(diagnostics::key_not_for_mode(
                    self.op,
                    key,
                    mode,
                    entry.key_span,
                ));
            }
        }
    }
}
