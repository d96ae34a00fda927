//! From the value a pickle built to the tensors of a state dict.
//!
//! [`tensors`] receives the unpickled value and returns its `name → tensor` entries in pickle
//! order. As BrainSurgery does, a dict with a `"state_dict"` entry that is itself a dict is
//! unwrapped (its other entries, such as an epoch counter or optimizer state, are ignored); what
//! remains must map strings to tensors, and anything else is refused with the first offending
//! entry named. A file holding one bare tensor (`torch.save(tensor, path)`, which BrainSurgery's
//! `load … to:` accepts) gives that tensor under the name the caller chooses.

use std::rc::Rc;

use super::value::{TensorRecord, Value};

/// The entry that training checkpoints wrap their weights in.
pub const WRAPPER_KEY: &str = "state_dict";

/// The state dict's tensors, or a description of why the value is not one; a bare tensor is
/// named `bare_name`.
pub fn tensors(value: &Value, bare_name: &str) -> Result<Vec<(String, Rc<TensorRecord>)>, String> {
    if let Value::Tensor(tensor) = value {
        return Ok(vec![(bare_name.to_string(), tensor.clone())]);
    }
    let Value::Dict(dict) = value else {
        return Err(format!("the pickle holds {}, not a dict", value.kind()));
    };
    let dict = match dict.get(WRAPPER_KEY) {
        Some(Value::Dict(inner)) => inner,
        _ => dict,
    };
    let mut tensors = Vec::with_capacity(dict.entries.len());
    for (key, value) in &dict.entries {
        let Value::String(name) = key else {
            return Err(format!("it has a key that is {}, not a name", key.kind()));
        };
        let Value::Tensor(tensor) = value else {
            return Err(format!("`{name}` is {}, not a tensor", value.kind()));
        };
        tensors.push((name.to_string(), tensor.clone()));
    }
    Ok(tensors)
}

#[cfg(test)]
mod tests {
    use super::super::value::{Dict, StorageRef};
    use super::*;
    use crate::tensor::DType;

    fn tensor() -> Value {
        Value::Tensor(Rc::new(TensorRecord {
            storage: Rc::new(StorageRef {
                key: "0".into(),
                dtype: Some(DType::F32),
                numel: 1,
            }),
            dtype: DType::F32,
            offset: 0,
            shape: vec![],
            strides: vec![],
        }))
    }

    fn dict(entries: Vec<(Value, Value)>) -> Value {
        let mut dict = Dict::new();
        for (key, value) in entries {
            dict.insert(key, value).unwrap();
        }
        Value::Dict(Rc::new(dict))
    }

    #[test]
    fn a_state_dict_wrapper_is_unwrapped() {
        let inner = dict(vec![(Value::String("w".into()), tensor())]);
        let outer = dict(vec![
            (Value::String("epoch".into()), Value::Int(3)),
            (Value::String(WRAPPER_KEY.into()), inner),
        ]);
        let found = tensors(&outer, "bare").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "w");
    }

    #[test]
    fn non_tensor_entries_are_named() {
        let mixed = dict(vec![
            (Value::String("w".into()), tensor()),
            (Value::String("epoch".into()), Value::Int(3)),
        ]);
        assert_eq!(
            tensors(&mixed, "bare").unwrap_err(),
            "`epoch` is an int, not a tensor"
        );
        assert_eq!(
            tensors(&Value::None, "bare").unwrap_err(),
            "the pickle holds None, not a dict"
        );
        let numbered = dict(vec![(Value::Int(0), tensor())]);
        assert!(tensors(&numbered, "bare")
            .unwrap_err()
            .contains("an int, not a name"));
        let bare = tensors(&tensor(), "weights").unwrap();
        assert_eq!(bare[0].0, "weights");
    }
}
