//! The values a PyTorch pickle can build: plain data, allowlisted names, storages and tensors.
//!
//! Containers are shared through `Rc` so that memo lookups are cheap, and have value semantics:
//! mutating one that is also held elsewhere copies it first (PyTorch pickles only mutate a
//! container right after creating it, so this costs nothing in practice; the interpreter bounds
//! the copying a hostile file could cause). Every container records its nesting depth, which the
//! interpreter caps, so no value is deep enough to overflow the stack when dropped or walked.

use std::collections::HashMap;
use std::rc::Rc;

use super::globals::Global;
use crate::tensor::DType;

/// One Python value. Floats and bytes are kept whole although no tensor depends on them, so a
/// value prints (with `Debug`) as the pickle built it.
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(Rc<str>),
    Bytes(Rc<[u8]>),
    Tuple(Rc<Sequence>),
    List(Rc<Sequence>),
    Dict(Rc<Dict>),
    Global(Global),
    Storage(Rc<StorageRef>),
    Tensor(Rc<TensorRecord>),
}

/// The items of a tuple or list, with their nesting depth.
#[derive(Debug, Clone, Default)]
pub struct Sequence {
    pub items: Vec<Value>,
    pub depth: usize,
}

/// A dict in insertion order. Keys are strings or integers (what state dicts and their
/// metadata use); setting an existing key replaces its value in place, as Python does.
#[derive(Debug, Clone, Default)]
pub struct Dict {
    pub entries: Vec<(Value, Value)>,
    index: HashMap<Key, usize>,
    pub depth: usize,
}

/// A hashable dict key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    String(Rc<str>),
    Int(i64),
}

/// A storage named by a persistent id: `("storage", type, key, location, numel)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageRef {
    /// The archive member is `<prefix>/data/<key>`.
    pub key: String,
    /// The element type of a typed storage; `None` for `UntypedStorage` (bytes).
    pub dtype: Option<DType>,
    /// Elements of a typed storage, bytes of an untyped one.
    pub numel: u64,
}

/// A tensor as a rebuild call describes it: a view of a storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorRecord {
    pub storage: Rc<StorageRef>,
    pub dtype: DType,
    /// In elements from the storage's start.
    pub offset: u64,
    pub shape: Vec<u64>,
    /// In elements.
    pub strides: Vec<u64>,
}

impl Value {
    /// How many containers deep this value is (0 for scalars).
    pub fn depth(&self) -> usize {
        match self {
            Value::Tuple(sequence) | Value::List(sequence) => sequence.depth,
            Value::Dict(dict) => dict.depth,
            _ => 0,
        }
    }

    pub fn tuple(items: Vec<Value>) -> Value {
        Value::Tuple(Rc::new(Sequence::new(items)))
    }

    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Float(_) => "a float",
            Value::String(_) => "a string",
            Value::Bytes(_) => "bytes",
            Value::Tuple(_) => "a tuple",
            Value::List(_) => "a list",
            Value::Dict(_) => "a dict",
            Value::Global(_) => "a class or function",
            Value::Storage(_) => "a storage",
            Value::Tensor(_) => "a tensor",
        }
    }

    /// The dict key this value makes, if it is hashable here. Python's `True == 1`, so a bool
    /// key is the integer.
    pub fn key(&self) -> Option<Key> {
        match self {
            Value::String(text) => Some(Key::String(text.clone())),
            Value::Int(number) => Some(Key::Int(*number)),
            Value::Bool(flag) => Some(Key::Int(i64::from(*flag))),
            _ => None,
        }
    }
}

impl Sequence {
    pub fn new(items: Vec<Value>) -> Sequence {
        let depth = 1 + items.iter().map(Value::depth).max().unwrap_or(0);
        Sequence { items, depth }
    }

    pub fn push(&mut self, item: Value) {
        self.depth = self.depth.max(1 + item.depth());
        self.items.push(item);
    }
}

impl Dict {
    /// Sets `key` to `value`; `None` when the key is not hashable here.
    pub fn insert(&mut self, key: Value, value: Value) -> Option<()> {
        let hashable = key.key()?;
        self.depth = self.depth.max(1 + key.depth().max(value.depth()));
        match self.index.get(&hashable) {
            Some(&position) => self.entries[position].1 = value,
            None => {
                self.index.insert(hashable, self.entries.len());
                self.entries.push((key, value));
            }
        }
        Some(())
    }

    /// The value under string key `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        let position = self.index.get(&Key::String(Rc::from(name)))?;
        Some(&self.entries[*position].1)
    }

    pub fn new() -> Dict {
        Dict {
            depth: 1,
            ..Dict::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_nesting() {
        let inner = Value::tuple(vec![Value::Int(1)]);
        assert_eq!(inner.depth(), 1);
        let outer = Value::tuple(vec![inner.clone(), Value::None]);
        assert_eq!(outer.depth(), 2);
        let mut dict = Dict::new();
        dict.insert(Value::String("k".into()), outer).unwrap();
        assert_eq!(dict.depth, 3);
    }

    #[test]
    fn dict_replaces_existing_keys_in_place() {
        let mut dict = Dict::new();
        dict.insert(Value::String("a".into()), Value::Int(1))
            .unwrap();
        dict.insert(Value::Int(1), Value::Int(2)).unwrap();
        // True hashes like 1 in Python.
        dict.insert(Value::Bool(true), Value::Int(3)).unwrap();
        dict.insert(Value::String("a".into()), Value::Int(4))
            .unwrap();
        assert_eq!(dict.entries.len(), 2);
        assert!(matches!(dict.get("a"), Some(Value::Int(4))));
        assert!(matches!(dict.entries[1].1, Value::Int(3)));
        assert!(dict.insert(Value::None, Value::None).is_none());
    }
}
