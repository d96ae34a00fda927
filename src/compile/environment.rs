//! The symbolic environment: for each alias, which graph node each tensor name is bound to.
//!
//! It receives bindings from the compiler and answers lookups in name order (names are kept
//! sorted, so pattern expansion yields matches sorted by name, as BrainSurgery sorts them).
//! **Every mutation goes through a method that appends its inverse to an undo log**, so a rejected
//! step can be rolled back exactly ([`Environment::undo`]) without cloning the environment.

use std::collections::BTreeMap;

use crate::graph::NodeId;

/// The tensors of one alias: name → the node holding its current value.
pub(crate) type AliasTable = BTreeMap<String, NodeId>;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Environment {
    aliases: BTreeMap<String, AliasTable>,
}

/// The inverse of one mutation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Undo {
    /// Restore `alias::name` to `previous` (unbound when `None`).
    Bind {
        alias: String,
        name: String,
        previous: Option<NodeId>,
    },
    /// Remove an alias that the step created.
    AliasCreated { alias: String },
    /// Put back an alias (and its tensors) that the step removed.
    AliasRemoved { alias: String, table: AliasTable },
    /// Put back the whole environment a step replaced (leaving dry-run mode).
    Replaced(Box<Environment>),
}

impl Environment {
    pub fn has_alias(&self, alias: &str) -> bool {
        self.aliases.contains_key(alias)
    }

    pub fn alias(&self, alias: &str) -> Option<&AliasTable> {
        self.aliases.get(alias)
    }

    pub fn alias_names(&self) -> Vec<&str> {
        self.aliases.keys().map(String::as_str).collect()
    }

    pub fn lookup(&self, alias: &str, name: &str) -> Option<NodeId> {
        self.aliases.get(alias)?.get(name).copied()
    }

    /// Binds (or, with `None`, unbinds) a name, creating the alias if needed.
    pub fn bind(&mut self, alias: &str, name: &str, value: Option<NodeId>, log: &mut Vec<Undo>) {
        if !self.aliases.contains_key(alias) {
            self.create_alias(alias, log);
        }
        let table = self.aliases.entry(alias.to_string()).or_default();
        let previous = match value {
            Some(node) => table.insert(name.to_string(), node),
            None => table.remove(name),
        };
        if previous != value {
            log.push(Undo::Bind {
                alias: alias.to_string(),
                name: name.to_string(),
                previous,
            });
        }
    }

    pub fn create_alias(&mut self, alias: &str, log: &mut Vec<Undo>) {
        if self.aliases.contains_key(alias) {
            return;
        }
        self.aliases.insert(alias.to_string(), AliasTable::new());
        log.push(Undo::AliasCreated {
            alias: alias.to_string(),
        });
    }

    /// Removes an alias with its tensors; returns the tensors it held.
    pub fn remove_alias(&mut self, alias: &str, log: &mut Vec<Undo>) -> Option<AliasTable> {
        let table = self.aliases.remove(alias)?;
        log.push(Undo::AliasRemoved {
            alias: alias.to_string(),
            table: table.clone(),
        });
        Some(table)
    }

    /// Replaces the whole environment (leaving dry-run mode restores the snapshot).
    pub fn replace(&mut self, other: Environment, log: &mut Vec<Undo>) {
        let previous = std::mem::replace(self, other);
        log.push(Undo::Replaced(Box::new(previous)));
    }

    /// Reverts the mutations of `log`, newest first.
    pub fn undo(&mut self, log: Vec<Undo>) {
        for entry in log.into_iter().rev() {
            match entry {
                Undo::Bind {
                    alias,
                    name,
                    previous,
                } => {
                    let table = self.aliases.entry(alias).or_default();
                    match previous {
                        Some(node) => table.insert(name, node),
                        None => table.remove(&name),
                    };
                }
                Undo::AliasCreated { alias } => {
                    self.aliases.remove(&alias);
                }
                Undo::AliasRemoved { alias, table } => {
                    self.aliases.insert(alias, table);
                }
                Undo::Replaced(previous) => *self = *previous,
            }
        }
    }

    /// Every `(alias, name, node)` binding, in alias then name order.
    pub fn bindings(&self) -> impl Iterator<Item = (&str, &str, NodeId)> {
        self.aliases.iter().flat_map(|(alias, table)| {
            table
                .iter()
                .map(move |(name, &node)| (alias.as_str(), name.as_str(), node))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(graph: &mut crate::graph::PlanGraph) -> NodeId {
        use crate::graph::ops::{Create, NodeKind};
        use crate::tensor::{DType, Shape, TensorType};
        let ty = TensorType::new(DType::F32, Shape::new(vec![1]));
        graph.add_node(
            NodeKind::Create(Create::Zeros { ty: ty.clone() }),
            Some(ty),
            &[],
            None,
        )
    }

    #[test]
    fn undo_restores_the_exact_previous_state() {
        let mut graph = crate::graph::PlanGraph::new();
        let (a, b) = (node(&mut graph), node(&mut graph));
        let mut env = Environment::default();
        let mut setup = Vec::new();
        env.bind("model", "x", Some(a), &mut setup);
        env.bind("model", "y", Some(a), &mut setup);
        let before = env.clone();

        let mut log = Vec::new();
        env.bind("model", "x", Some(b), &mut log);
        env.bind("model", "y", None, &mut log);
        env.bind("other", "z", Some(b), &mut log);
        env.remove_alias("model", &mut log);
        env.replace(Environment::default(), &mut log);
        assert_ne!(env, before);
        env.undo(log);
        assert_eq!(env, before);
    }
}
