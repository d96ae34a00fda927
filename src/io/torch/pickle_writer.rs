//! The pickle of a state dict as `torch.save` writes it, for `torch.load(weights_only=True)`.
//!
//! [`state_dict`] receives the tensors in output order and returns a protocol-2 pickle of an
//! `OrderedDict` mapping each name to `_rebuild_tensor_v2` of a typed storage (`torch.FloatStorage`
//! …), or, for dtypes without a legacy storage class (float8, uint16/32/64), `_rebuild_tensor_v3`
//! of an `UntypedStorage` with the dtype, exactly as PyTorch 2 pickles them. Tensor `i` lives in
//! storage key `i` (archive member `data/i`), contiguous from offset 0. Every name used is on the
//! weights-only unpickler's allowlist, and globals are memoized so each is spelled once.

use std::collections::HashMap;

use super::globals::{torch_dtype_name, typed_storage_name};
use crate::tensor::{DType, TensorType};

/// Python's pickler writes SETITEMS in batches of this many pairs.
const BATCH: usize = 1000;

/// Why a tensor cannot be pickled: its dtype has no PyTorch equivalent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedDtype {
    pub tensor: String,
    pub dtype: DType,
}

/// The pickle for `tensors`, whose storages are keys `0`, `1`, … in order.
pub fn state_dict(tensors: &[(String, TensorType)]) -> Result<Vec<u8>, UnsupportedDtype> {
    let mut pickler = Pickler::default();
    pickler.bytes.extend([0x80, 2]);
    pickler.global("collections", "OrderedDict");
    pickler.bytes.extend([b')', b'R']);
    for (batch_index, batch) in tensors.chunks(BATCH).enumerate() {
        pickler.bytes.push(b'(');
        for (position, (name, ty)) in batch.iter().enumerate() {
            let key = batch_index * BATCH + position;
            pickler.string(name);
            pickler.tensor(key, ty).map_err(|dtype| UnsupportedDtype {
                tensor: name.clone(),
                dtype,
            })?;
        }
        pickler.bytes.push(b'u');
    }
    pickler.bytes.push(b'.');
    Ok(pickler.bytes)
}

#[derive(Default)]
struct Pickler {
    bytes: Vec<u8>,
    /// Memo slots of the globals written so far.
    memo: HashMap<String, u32>,
}

impl Pickler {
    /// `GLOBAL module name`, memoized on first use and fetched from the memo afterwards.
    fn global(&mut self, module: &str, name: &str) {
        let dotted = format!("{module}.{name}");
        if let Some(&slot) = self.memo.get(&dotted) {
            self.get(slot);
            return;
        }
        self.bytes.push(b'c');
        self.bytes.extend(format!("{module}\n{name}\n").as_bytes());
        let slot = self.memo.len() as u32;
        self.put(slot);
        self.memo.insert(dotted, slot);
    }

    fn put(&mut self, slot: u32) {
        match u8::try_from(slot) {
            Ok(short) => self.bytes.extend([b'q', short]),
            Err(_) => {
                self.bytes.push(b'r');
                self.bytes.extend(slot.to_le_bytes());
            }
        }
    }

    fn get(&mut self, slot: u32) {
        match u8::try_from(slot) {
            Ok(short) => self.bytes.extend([b'h', short]),
            Err(_) => {
                self.bytes.push(b'j');
                self.bytes.extend(slot.to_le_bytes());
            }
        }
    }

    fn string(&mut self, text: &str) {
        self.bytes.push(b'X');
        self.bytes.extend((text.len() as u32).to_le_bytes());
        self.bytes.extend(text.as_bytes());
    }

    /// The shortest integer opcode for a non-negative number.
    fn int(&mut self, number: u64) {
        if let Ok(small) = u8::try_from(number) {
            self.bytes.extend([b'K', small]);
        } else if let Ok(medium) = u16::try_from(number) {
            self.bytes.push(b'M');
            self.bytes.extend(medium.to_le_bytes());
        } else if let Ok(word) = i32::try_from(number) {
            self.bytes.push(b'J');
            self.bytes.extend(word.to_le_bytes());
        } else {
            // LONG1: little-endian two's complement, with a zero byte if the top bit is set.
            let mut digits = number.to_le_bytes().to_vec();
            while digits.len() > 1
                && digits[digits.len() - 1] == 0
                && digits[digits.len() - 2] & 0x80 == 0
            {
                digits.pop();
            }
            if digits[digits.len() - 1] & 0x80 != 0 {
                digits.push(0);
            }
            self.bytes.extend([0x8a, digits.len() as u8]);
            self.bytes.extend(digits);
        }
    }

    fn tuple(&mut self, items: &[u64]) {
        match items.len() {
            0 => self.bytes.push(b')'),
            1..=3 => {
                for &item in items {
                    self.int(item);
                }
                self.bytes.push(0x84 + items.len() as u8);
            }
            _ => {
                self.bytes.push(b'(');
                for &item in items {
                    self.int(item);
                }
                self.bytes.push(b't');
            }
        }
    }

    /// `_rebuild_tensor_v2((storage), 0, shape, strides, False, OrderedDict())` (or v3 with the
    /// dtype), for a contiguous tensor in storage `key`.
    fn tensor(&mut self, key: usize, ty: &TensorType) -> Result<(), DType> {
        let dtype = ty.dtype;
        let typed = typed_storage_name(dtype);
        let dtype_name = torch_dtype_name(dtype).ok_or(dtype)?;
        let elements = ty.shape.element_count().ok_or(dtype)?;
        match typed {
            Some(_) => self.global("torch._utils", "_rebuild_tensor_v2"),
            None => self.global("torch._utils", "_rebuild_tensor_v3"),
        }
        self.bytes.extend([b'(', b'(']);
        self.string("storage");
        match typed {
            Some(storage) => self.global("torch", storage),
            None => self.global("torch.storage", "UntypedStorage"),
        }
        self.string(&key.to_string());
        self.string("cpu");
        // Typed storages count elements, untyped ones bytes.
        match typed {
            Some(_) => self.int(elements),
            None => self.int(ty.byte_len().ok_or(dtype)?),
        }
        self.bytes.extend([b't', b'Q']);
        self.int(0);
        let shape = ty.shape.dims();
        self.tuple(shape);
        self.tuple(&crate::io::view::row_major_strides(shape));
        self.bytes.push(0x89);
        self.global("collections", "OrderedDict");
        self.bytes.extend([b')', b'R']);
        if typed.is_none() {
            self.global("torch", dtype_name);
        }
        self.bytes.extend([b't', b'R']);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::pickle;
    use super::super::state_dict;
    use super::*;
    use crate::tensor::Shape;

    #[test]
    fn our_pickles_read_back_through_the_interpreter() {
        let tensors = vec![
            (
                "w".to_string(),
                TensorType::new(DType::BF16, Shape::new(vec![2, 3])),
            ),
            (
                "f8".to_string(),
                TensorType::new(DType::F8_E4M3, Shape::new(vec![4])),
            ),
            (
                "s".to_string(),
                TensorType::new(DType::I64, Shape::new(vec![])),
            ),
            (
                "big".to_string(),
                TensorType::new(DType::U8, Shape::new(vec![70_000, 1, 1, 40_000])),
            ),
        ];
        let bytes = state_dict(&tensors).unwrap();
        let value = pickle::run(&bytes).unwrap();
        let records = state_dict::tensors(&value, "").unwrap();
        assert_eq!(records.len(), 4);
        assert_eq!(records[0].1.dtype, DType::BF16);
        assert_eq!(records[0].1.strides, [3, 1]);
        assert_eq!(records[1].1.storage.dtype, None);
        assert_eq!(records[1].1.storage.numel, 4);
        assert_eq!(records[2].1.shape, Vec::<u64>::new());
        assert_eq!(records[3].1.storage.numel, 2_800_000_000);
        assert_eq!(records[3].1.storage.key, "3");
    }

    #[test]
    fn dtypes_without_a_torch_type_are_refused() {
        let tensors = vec![(
            "x".to_string(),
            TensorType::new(DType::F4, Shape::new(vec![2])),
        )];
        assert_eq!(
            state_dict(&tensors).unwrap_err(),
            UnsupportedDtype {
                tensor: "x".into(),
                dtype: DType::F4
            }
        );
    }
}
