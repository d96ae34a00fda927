//! What the allowlisted globals build when a pickle calls them, and what a persistent id names.
//!
//! [`call`] receives an allowlisted [`Global`] and the argument tuple of a `REDUCE` and returns
//! the value Python would have built: an `OrderedDict`, a tensor record from one of PyTorch's
//! rebuild functions (its storage, offset, sizes, strides and dtype, checked for type and sign
//! but not yet against the storage's length, which the caller knows), a `torch.Size` or the bytes
//! of `_codecs.encode`. [`persistent_storage`] reads the `("storage", type, key, location,
//! numel)` tuple of a `BINPERSID`. Nothing here imports or runs anything: each global is a tag.

use std::rc::Rc;

use super::globals::Global;
use super::pickle::{malformed, Step};
use super::value::{Dict, StorageRef, TensorRecord, Value};

/// Sets the pairs of a flat `key, value, key, value, …` list, as `SETITEMS` and `DICT` give them.
pub(super) fn insert_pairs(dict: &mut Dict, items: Vec<Value>) -> Step<()> {
    if !items.len().is_multiple_of(2) {
        return malformed("a dict needs key-value pairs, but an odd number of items was given");
    }
    let mut items = items.into_iter();
    while let (Some(key), Some(value)) = (items.next(), items.next()) {
        let kind = key.kind();
        if dict.insert(key, value).is_none() {
            return malformed(format!("{kind} cannot be a dict key here"));
        }
    }
    Ok(())
}

/// The storage a persistent id `("storage", type, key, location, numel)` names.
pub(super) fn persistent_storage(id: &Value) -> Step<StorageRef> {
    let Value::Tuple(id) = id else {
        return malformed(format!(
            "a persistent id must be a tuple, not {}",
            id.kind()
        ));
    };
    let [Value::String(tag), Value::Global(kind), Value::String(key), Value::String(_location), Value::Int(numel)] =
        id.items.as_slice()
    else {
        return malformed("a persistent id must be (\"storage\", type, key, location, numel)");
    };
    if &**tag != "storage" {
        return malformed(format!("unknown persistent id kind `{tag}`"));
    }
    let dtype = match kind {
        Global::TypedStorage(dtype) => Some(*dtype),
        Global::UntypedStorage => None,
        _ => return malformed("a persistent id must name a storage class"),
    };
    let Ok(numel) = u64::try_from(*numel) else {
        return malformed("a storage cannot have a negative size");
    };
    Ok(StorageRef {
        key: key.to_string(),
        dtype,
        numel,
    })
}

/// What calling an allowlisted global with `arguments` builds.
pub(super) fn call(global: Global, arguments: &[Value]) -> Step<Value> {
    match global {
        Global::OrderedDict => ordered_dict(arguments),
        Global::RebuildTensorV2 => rebuild_tensor(arguments, false),
        Global::RebuildTensorV3 => rebuild_tensor(arguments, true),
        Global::RebuildParameter | Global::RebuildParameterWithState => match arguments.first() {
            Some(tensor @ Value::Tensor(_)) => Ok(tensor.clone()),
            _ => malformed("_rebuild_parameter needs a tensor as its first argument"),
        },
        Global::Size => match arguments {
            [dimensions @ Value::Tuple(_)] => Ok(dimensions.clone()),
            _ => malformed("torch.Size needs one tuple"),
        },
        Global::CodecsEncode => encode(arguments),
        Global::TypedStorage(_) | Global::UntypedStorage | Global::Dtype(_) => {
            malformed("a storage class or dtype cannot be called")
        }
    }
}

fn ordered_dict(arguments: &[Value]) -> Step<Value> {
    let mut dict = Dict::new();
    match arguments {
        [] => {}
        [Value::List(pairs) | Value::Tuple(pairs)] => {
            for pair in &pairs.items {
                let (Value::Tuple(pair) | Value::List(pair)) = pair else {
                    return malformed("OrderedDict needs a list of pairs");
                };
                let [key, value] = pair.items.as_slice() else {
                    return malformed("OrderedDict needs a list of pairs");
                };
                insert_pairs(&mut dict, vec![key.clone(), value.clone()])?;
            }
        }
        _ => return malformed("OrderedDict takes no arguments or one list of pairs"),
    }
    Ok(Value::Dict(Rc::new(dict)))
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`, or v3
/// with the dtype after the hooks.
fn rebuild_tensor(arguments: &[Value], with_dtype: bool) -> Step<Value> {
    let name = if with_dtype {
        "_rebuild_tensor_v3"
    } else {
        "_rebuild_tensor_v2"
    };
    let required = if with_dtype { 7 } else { 6 };
    if arguments.len() != required && arguments.len() != required + 1 {
        return malformed(format!(
            "{name} takes {required} or {} arguments, not {}",
            required + 1,
            arguments.len()
        ));
    }
    let Value::Storage(storage) = &arguments[0] else {
        return malformed(format!(
            "{name} needs a storage, not {}",
            arguments[0].kind()
        ));
    };
    let Value::Int(offset) = arguments[1] else {
        return malformed(format!("{name} needs an integer storage offset"));
    };
    let Ok(offset) = u64::try_from(offset) else {
        return malformed("a storage offset cannot be negative");
    };
    let shape = dimensions(&arguments[2], "size")?;
    let strides = dimensions(&arguments[3], "stride")?;
    if shape.len() != strides.len() {
        return malformed(format!(
            "{name} has {} sizes but {} strides",
            shape.len(),
            strides.len()
        ));
    }
    let dtype = if with_dtype {
        let Value::Global(Global::Dtype(dtype)) = arguments[6] else {
            return malformed(format!("{name} needs a dtype as its seventh argument"));
        };
        if storage
            .dtype
            .is_some_and(|storage_dtype| storage_dtype != dtype)
        {
            return malformed(format!("{name}'s dtype differs from its storage's"));
        }
        dtype
    } else {
        match storage.dtype {
            Some(dtype) => dtype,
            None => return malformed(format!("{name} needs a typed storage")),
        }
    };
    Ok(Value::Tensor(Rc::new(TensorRecord {
        storage: storage.clone(),
        dtype,
        offset,
        shape,
        strides,
    })))
}

/// A tuple of non-negative integers (a size or a stride).
fn dimensions(value: &Value, what: &str) -> Step<Vec<u64>> {
    let Value::Tuple(items) = value else {
        return malformed(format!(
            "a tensor {what} must be a tuple, not {}",
            value.kind()
        ));
    };
    items
        .items
        .iter()
        .map(|item| match item {
            Value::Int(number) if *number >= 0 => Ok(*number as u64),
            _ => malformed(format!("a tensor {what} must hold non-negative integers")),
        })
        .collect()
}

/// `_codecs.encode(text, encoding)`: protocol 2's spelling of a bytes object.
fn encode(arguments: &[Value]) -> Step<Value> {
    let [Value::String(text), Value::String(encoding)] = arguments else {
        return malformed("_codecs.encode needs a string and an encoding");
    };
    let bytes: Vec<u8> = match encoding.to_ascii_lowercase().as_str() {
        "latin1" | "latin-1" | "iso-8859-1" => {
            let mut bytes = Vec::with_capacity(text.len());
            for character in text.chars() {
                match u8::try_from(u32::from(character)) {
                    Ok(byte) => bytes.push(byte),
                    Err(_) => return malformed("a latin-1 string holds a character above U+00FF"),
                }
            }
            bytes
        }
        "utf-8" | "utf8" => text.as_bytes().to_vec(),
        other => return malformed(format!("encoding `{other}` is not supported")),
    };
    Ok(Value::Bytes(Rc::from(bytes)))
}
