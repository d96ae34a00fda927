//! An allowlisting pickle interpreter: it builds values, and never imports or calls anything.
//!
//! [`run`] receives the bytes of a pickle (PyTorch's `data.pkl`) and returns the value it builds,
//! or a [`PickleError`] with the byte offset of the opcode that failed. It understands the opcodes
//! of protocols 2 to 5 that PyTorch and Python's pickler emit for plain data (ints, floats,
//! strings, bytes, tuples, lists, dicts, memo, marks, frames) plus `GLOBAL`/`STACK_GLOBAL`,
//! `REDUCE`, `BUILD` and `BINPERSID`, interpreted only for the names of the allowlist in
//! `globals.rs`. A name off the list is refused the moment it is read, before anything could use
//! it; so are the opcodes that instantiate arbitrary classes (`INST`, `OBJ`, `NEWOBJ`, …) and the
//! text-protocol opcodes PyTorch never writes. Hostile input cannot make the interpreter panic,
//! recurse without bound, nest values deeper than [`MAX_DEPTH`], or copy more than a small
//! multiple of its own size.

use std::collections::HashMap;
use std::rc::Rc;

use super::calls::{call, insert_pairs, persistent_storage};
use super::globals::{self, Global, Refusal};
use super::value::{Dict, Sequence, Value};

/// The deepest nesting of containers accepted; state dicts nest a handful of levels.
pub const MAX_DEPTH: usize = 200;

/// Why a pickle was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not a well-formed pickle of the supported kind.
    Malformed(String),
    /// It names a global that is not on the allowlist (the dotted name).
    Disallowed(String),
    /// It names a PyTorch type that has no safetensors equivalent.
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickleError {
    /// Byte offset of the opcode that failed.
    pub offset: usize,
    pub problem: Problem,
}

pub(super) type Step<T> = Result<T, Problem>;

pub(super) fn malformed<T>(problem: impl Into<String>) -> Step<T> {
    Err(Problem::Malformed(problem.into()))
}

/// Runs the pickle in `bytes` to its `STOP` and returns the value on top of the stack.
pub fn run(bytes: &[u8]) -> Result<Value, PickleError> {
    let mut machine = Machine {
        input: bytes,
        position: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
        copy_budget: bytes.len().saturating_mul(16).saturating_add(1 << 16),
    };
    loop {
        let offset = machine.position;
        match machine.step() {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(problem) => return Err(PickleError { offset, problem }),
        }
    }
}

struct Machine<'a> {
    input: &'a [u8],
    position: usize,
    stack: Vec<Value>,
    /// Stack lengths at each open `MARK`.
    marks: Vec<usize>,
    memo: HashMap<u32, Value>,
    /// Items a copy-on-write may still duplicate before the pickle is refused.
    copy_budget: usize,
}

impl<'a> Machine<'a> {
    /// Executes one opcode; returns the result at `STOP`.
    fn step(&mut self) -> Step<Option<Value>> {
        let opcode = self.byte()?;
        match opcode {
            0x80 => {
                // PROTO: versions 2 to 5 share the opcodes handled here.
                let version = self.byte()?;
                if !(2..=5).contains(&version) {
                    return malformed(format!("pickle protocol {version} is not supported"));
                }
            }
            0x95 => {
                // FRAME: a length hint for buffered readers; the frame's opcodes follow inline.
                self.take(8)?;
            }
            b'.' => return self.pop().map(Some),
            b'(' => self.marks.push(self.stack.len()),
            b'0' => {
                if self.stack.len() > self.mark_floor() {
                    self.stack.pop();
                } else {
                    self.pop_mark()?;
                }
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let top = self.peek()?.clone();
                self.push(top)?;
            }
            b'N' => self.push(Value::None)?,
            0x88 => self.push(Value::Bool(true))?,
            0x89 => self.push(Value::Bool(false))?,
            b'J' => {
                let bytes = self.take(4)?;
                let number = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
                self.push(Value::Int(i64::from(number)))?;
            }
            b'K' => {
                let number = self.byte()?;
                self.push(Value::Int(i64::from(number)))?;
            }
            b'M' => {
                let number = self.uint(2)?;
                self.push(Value::Int(number as i64))?;
            }
            0x8a => {
                let len = self.byte()? as usize;
                self.long(len)?;
            }
            0x8b => {
                let len = self.length(4)?;
                self.long(len)?;
            }
            b'G' => {
                let bytes = self.take(8)?;
                let mut word = [0u8; 8];
                word.copy_from_slice(bytes);
                self.push(Value::Float(f64::from_be_bytes(word)))?;
            }
            b'X' => self.string(4)?,
            0x8c => self.string(1)?,
            0x8d => self.string(8)?,
            b'B' => self.bytes(4)?,
            b'C' => self.bytes(1)?,
            0x8e => self.bytes(8)?,
            b')' => self.push(Value::tuple(Vec::new()))?,
            b't' => {
                let items = self.pop_mark()?;
                self.push(Value::tuple(items))?;
            }
            0x85..=0x87 => {
                let count = usize::from(opcode - 0x84);
                let floor = self.mark_floor();
                if self.stack.len() < floor + count {
                    return malformed("stack underflow");
                }
                let items = self.stack.split_off(self.stack.len() - count);
                self.push(Value::tuple(items))?;
            }
            b']' => self.push(Value::List(Rc::new(Sequence::new(Vec::new()))))?,
            b'l' => {
                let items = self.pop_mark()?;
                self.push(Value::List(Rc::new(Sequence::new(items))))?;
            }
            b'a' => {
                let item = self.pop()?;
                self.append(vec![item])?;
            }
            b'e' => {
                let items = self.pop_mark()?;
                self.append(items)?;
            }
            b'}' => self.push(Value::Dict(Rc::new(Dict::new())))?,
            b'd' => {
                let items = self.pop_mark()?;
                let mut dict = Dict::new();
                insert_pairs(&mut dict, items)?;
                self.push(Value::Dict(Rc::new(dict)))?;
            }
            b's' => {
                let value = self.pop()?;
                let key = self.pop()?;
                self.set_items(vec![key, value])?;
            }
            b'u' => {
                let items = self.pop_mark()?;
                self.set_items(items)?;
            }
            b'q' => {
                let index = self.byte()?;
                self.put(u32::from(index))?;
            }
            b'r' => {
                let index = self.uint(4)?;
                self.put(index as u32)?;
            }
            0x94 => {
                let index =
                    u32::try_from(self.memo.len()).or_else(|_| malformed("the memo is full"))?;
                self.put(index)?;
            }
            b'h' => {
                let index = self.byte()?;
                self.get(u32::from(index))?;
            }
            b'j' => {
                let index = self.uint(4)?;
                self.get(index as u32)?;
            }
            b'c' => {
                let module = self.line()?;
                let name = self.line()?;
                let global = resolve(&module, &name)?;
                self.push(Value::Global(global))?;
            }
            0x93 => {
                let name = self.pop()?;
                let module = self.pop()?;
                let (Value::String(module), Value::String(name)) = (module, name) else {
                    return malformed("STACK_GLOBAL needs two strings");
                };
                let global = resolve(&module, &name)?;
                self.push(Value::Global(global))?;
            }
            b'R' => {
                let arguments = self.pop()?;
                let callable = self.pop()?;
                let Value::Global(global) = callable else {
                    return malformed(format!(
                        "REDUCE calls {}, not a known function",
                        callable.kind()
                    ));
                };
                let Value::Tuple(arguments) = arguments else {
                    return malformed("REDUCE arguments must be a tuple");
                };
                let result = call(global, &arguments.items)?;
                self.push(result)?;
            }
            b'b' => {
                // BUILD sets an object's state. OrderedDicts carry `_metadata` this way and
                // parameters their attributes; neither matters for the tensors, so the state
                // is dropped. Any other object is refused.
                let _state = self.pop()?;
                match self.peek()? {
                    Value::Dict(_) | Value::Tensor(_) => {}
                    other => {
                        return malformed(format!("BUILD on {} is not supported", other.kind()))
                    }
                }
            }
            b'Q' => {
                let id = self.pop()?;
                let storage = persistent_storage(&id)?;
                self.push(Value::Storage(Rc::new(storage)))?;
            }
            other => return malformed(unsupported_opcode(other)),
        }
        Ok(None)
    }

    fn take(&mut self, len: usize) -> Step<&'a [u8]> {
        let end = self
            .position
            .checked_add(len)
            .filter(|&end| end <= self.input.len());
        let Some(end) = end else {
            return malformed("the pickle ends in the middle of an opcode (no STOP)");
        };
        let bytes = &self.input[self.position..end];
        self.position = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Step<u8> {
        Ok(self.take(1)?[0])
    }

    /// A little-endian unsigned integer of `width` bytes (at most 8).
    fn uint(&mut self, width: usize) -> Step<u64> {
        let bytes = self.take(width)?;
        let mut word = [0u8; 8];
        word[..width].copy_from_slice(bytes);
        Ok(u64::from_le_bytes(word))
    }

    /// A length prefix of `width` bytes, checked against the bytes that remain.
    fn length(&mut self, width: usize) -> Step<usize> {
        let len = self.uint(width)?;
        let remaining = (self.input.len() - self.position) as u64;
        if len > remaining {
            return malformed(format!(
                "a length of {len} bytes runs past the end of the pickle"
            ));
        }
        Ok(len as usize)
    }

    /// LONG1/LONG4: a little-endian two's-complement integer, which must fit in 64 bits.
    fn long(&mut self, len: usize) -> Step<()> {
        if len > 8 {
            return malformed(format!("an integer of {len} bytes is too large"));
        }
        let bytes = self.take(len)?;
        let negative = bytes.last().is_some_and(|&last| last & 0x80 != 0);
        let mut word = [if negative { 0xff } else { 0 }; 8];
        word[..len].copy_from_slice(bytes);
        self.push(Value::Int(i64::from_le_bytes(word)))
    }

    fn string(&mut self, width: usize) -> Step<()> {
        let len = self.length(width)?;
        let bytes = self.take(len)?;
        let Ok(text) = std::str::from_utf8(bytes) else {
            return malformed("a string is not valid UTF-8");
        };
        self.push(Value::String(Rc::from(text)))
    }

    fn bytes(&mut self, width: usize) -> Step<()> {
        let len = self.length(width)?;
        let bytes = self.take(len)?;
        self.push(Value::Bytes(Rc::from(bytes)))
    }

    /// A newline-terminated ASCII line (the operands of GLOBAL).
    fn line(&mut self) -> Step<String> {
        let rest = &self.input[self.position..];
        let Some(end) = rest.iter().take(1024).position(|&b| b == b'\n') else {
            return malformed("a GLOBAL name is not terminated by a newline");
        };
        let Ok(text) = std::str::from_utf8(&rest[..end]) else {
            return malformed("a GLOBAL name is not valid UTF-8");
        };
        self.position += end + 1;
        Ok(text.to_string())
    }

    fn mark_floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn push(&mut self, value: Value) -> Step<()> {
        if value.depth() > MAX_DEPTH {
            return malformed(format!("values are nested more than {MAX_DEPTH} deep"));
        }
        self.stack.push(value);
        Ok(())
    }

    fn pop(&mut self) -> Step<Value> {
        if self.stack.len() <= self.mark_floor() {
            return malformed("stack underflow");
        }
        match self.stack.pop() {
            Some(value) => Ok(value),
            None => malformed("stack underflow"),
        }
    }

    fn peek(&self) -> Step<&Value> {
        if self.stack.len() <= self.mark_floor() {
            return malformed("stack underflow");
        }
        match self.stack.last() {
            Some(value) => Ok(value),
            None => malformed("stack underflow"),
        }
    }

    /// The items pushed since the last MARK, which is closed.
    fn pop_mark(&mut self) -> Step<Vec<Value>> {
        let Some(mark) = self.marks.pop() else {
            return malformed("an opcode needs a MARK, but none is open");
        };
        Ok(self.stack.split_off(mark.min(self.stack.len())))
    }

    fn put(&mut self, index: u32) -> Step<()> {
        let value = self.peek()?.clone();
        self.memo.insert(index, value);
        Ok(())
    }

    fn get(&mut self, index: u32) -> Step<()> {
        let Some(value) = self.memo.get(&index) else {
            return malformed(format!("memo entry {index} was never stored"));
        };
        self.push(value.clone())
    }

    /// Charges copying `items` values to the budget (a copy-on-write of a shared container).
    fn charge_copy(&mut self, items: usize) -> Step<()> {
        match self.copy_budget.checked_sub(items) {
            Some(rest) => {
                self.copy_budget = rest;
                Ok(())
            }
            None => malformed("the pickle mutates shared containers too often"),
        }
    }

    fn append(&mut self, items: Vec<Value>) -> Step<()> {
        let floor = self.mark_floor();
        let copy = match self.stack.last() {
            Some(Value::List(list)) if self.stack.len() > floor => {
                if Rc::strong_count(list) > 1 {
                    list.items.len()
                } else {
                    0
                }
            }
            _ => return malformed("APPEND needs a list below its items"),
        };
        self.charge_copy(copy)?;
        if let Some(Value::List(list)) = self.stack.last_mut() {
            let list = Rc::make_mut(list);
            for item in items {
                list.push(item);
            }
            if list.depth > MAX_DEPTH {
                return malformed(format!("values are nested more than {MAX_DEPTH} deep"));
            }
        }
        Ok(())
    }

    fn set_items(&mut self, items: Vec<Value>) -> Step<()> {
        let floor = self.mark_floor();
        let copy = match self.stack.last() {
            Some(Value::Dict(dict)) if self.stack.len() > floor => {
                if Rc::strong_count(dict) > 1 {
                    dict.entries.len()
                } else {
                    0
                }
            }
            _ => return malformed("SETITEM needs a dict below its items"),
        };
        self.charge_copy(copy)?;
        if let Some(Value::Dict(dict)) = self.stack.last_mut() {
            let dict = Rc::make_mut(dict);
            insert_pairs(dict, items)?;
            if dict.depth > MAX_DEPTH {
                return malformed(format!("values are nested more than {MAX_DEPTH} deep"));
            }
        }
        Ok(())
    }
}

fn resolve(module: &str, name: &str) -> Step<Global> {
    globals::resolve(module, name).map_err(|refusal| match refusal {
        Refusal::Disallowed => Problem::Disallowed(format!("{module}.{name}")),
        Refusal::Unsupported => Problem::Unsupported(format!("{module}.{name}")),
    })
}

/// A readable refusal for an opcode outside the supported set.
fn unsupported_opcode(opcode: u8) -> String {
    let name = match opcode {
        b'i' => Some("INST"),
        b'o' => Some("OBJ"),
        0x81 => Some("NEWOBJ"),
        0x92 => Some("NEWOBJ_EX"),
        b'P' => Some("PERSID"),
        b'I' => Some("INT"),
        b'L' => Some("LONG"),
        b'F' => Some("FLOAT"),
        b'S' => Some("STRING"),
        b'V' => Some("UNICODE"),
        b'U' => Some("SHORT_BINSTRING"),
        b'T' => Some("BINSTRING"),
        b'g' => Some("GET"),
        b'p' => Some("PUT"),
        0x82..=0x84 => Some("EXT"),
        0x8f => Some("EMPTY_SET"),
        0x90 => Some("ADDITEMS"),
        0x91 => Some("FROZENSET"),
        0x96 => Some("BYTEARRAY8"),
        0x97 => Some("NEXT_BUFFER"),
        0x98 => Some("READONLY_BUFFER"),
        _ => None,
    };
    match name {
        Some(name) => format!("opcode {name} (0x{opcode:02x}) is not supported"),
        None => format!("0x{opcode:02x} is not a known pickle opcode"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(module: &str, name: &str) -> Vec<u8> {
        format!("c{module}\n{name}\n").into_bytes()
    }

    #[test]
    fn plain_values_build() {
        // {"a": (1, -2, 300, 2**40, 1.5, None, True, "é")}
        let mut pickle = vec![0x80, 2, b'}', b'q', 0, b'X', 1, 0, 0, 0, b'a', b'('];
        pickle.extend([b'K', 1, b'J', 0xfe, 0xff, 0xff, 0xff, b'M', 0x2c, 1]);
        pickle.extend([0x8a, 6, 0, 0, 0, 0, 0, 1]);
        pickle.push(b'G');
        pickle.extend(1.5f64.to_be_bytes());
        pickle.extend([b'N', 0x88, 0x8c, 2, 0xc3, 0xa9, b't', b's', b'.']);
        let Value::Dict(dict) = run(&pickle).unwrap() else {
            panic!("not a dict")
        };
        let Some(Value::Tuple(items)) = dict.get("a") else {
            panic!("no tuple")
        };
        let rendered: Vec<String> = items.items.iter().map(|v| format!("{v:?}")).collect();
        assert_eq!(
            rendered,
            [
                "Int(1)",
                "Int(-2)",
                "Int(300)",
                "Int(1099511627776)",
                "Float(1.5)",
                "None",
                "Bool(true)",
                "String(\"é\")"
            ]
        );
    }

    #[test]
    fn disallowed_globals_are_refused_where_they_are_named() {
        let mut pickle = vec![0x80, 2];
        pickle.extend(global("os", "system"));
        let error = run(&pickle).unwrap_err();
        assert_eq!(error.offset, 2);
        assert_eq!(error.problem, Problem::Disallowed("os.system".into()));
        // STACK_GLOBAL is checked the same way.
        let mut pickle = vec![0x80, 4, 0x8c, 8];
        pickle.extend(b"builtins");
        pickle.extend([0x8c, 4]);
        pickle.extend(b"eval");
        pickle.push(0x93);
        assert_eq!(
            run(&pickle).unwrap_err().problem,
            Problem::Disallowed("builtins.eval".into())
        );
    }

    #[test]
    fn object_building_opcodes_are_refused() {
        let error = run(&[0x80, 2, b'(', b'i']).unwrap_err();
        assert_eq!(
            error.problem,
            Problem::Malformed("opcode INST (0x69) is not supported".into())
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let mut pickle = vec![0x80, 2, b')'];
        pickle.extend(std::iter::repeat_n(0x85, MAX_DEPTH + 5));
        let error = run(&pickle).unwrap_err();
        assert!(matches!(error.problem, Problem::Malformed(ref m) if m.contains("nested")));
    }

    #[test]
    fn copying_shared_containers_is_bounded() {
        // A list stored in the memo, then fetched and appended to over and over: each append
        // copies the shared list.
        let mut pickle = vec![0x80, 2, b']', b'q', 0, b'('];
        pickle.extend(std::iter::repeat_n(b'N', 2000));
        pickle.push(b'e');
        pickle.extend([b'q', 0]);
        for _ in 0..5000 {
            pickle.extend([b'h', 0, b'N', b'a', b'0']);
        }
        let error = run(&pickle).unwrap_err();
        assert!(matches!(error.problem, Problem::Malformed(ref m) if m.contains("shared")));
    }

    #[test]
    fn truncation_and_underflow_are_errors() {
        assert!(run(&[0x80, 2, b'X', 5, 0, 0, 0, b'a']).is_err());
        assert!(run(&[0x80, 2, b'.']).is_err());
        assert!(run(&[0x80, 2, b'(', b's']).is_err());
        assert!(run(&[]).is_err());
    }
}
