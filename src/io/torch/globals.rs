//! The allowlist: the only Python names a PyTorch pickle may mention, and what each one means.
//!
//! [`resolve`] receives a `module.name` pair from a `GLOBAL` opcode and returns the [`Global`] it
//! stands for, or says why it is refused: not on the list (anything that could run code, such as
//! `os.system` or a model class), or a PyTorch dtype that has no safetensors equivalent. Nothing is
//! ever imported or called: a [`Global`] is only a tag the interpreter acts on itself. The table of
//! storage classes and dtypes is shared with the writer, so what we write is what we read.

use crate::tensor::DType;

/// A name the interpreter understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Global {
    /// `collections.OrderedDict`: called with no arguments or a list of pairs.
    OrderedDict,
    /// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`.
    RebuildTensorV2,
    /// `torch._utils._rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])`.
    RebuildTensorV3,
    /// `torch._utils._rebuild_parameter(data, requires_grad, hooks)`.
    RebuildParameter,
    /// `torch._utils._rebuild_parameter_with_state(data, requires_grad, hooks, state)`.
    RebuildParameterWithState,
    /// A typed storage class such as `torch.FloatStorage`, used in persistent ids.
    TypedStorage(DType),
    /// `torch.storage.UntypedStorage`: bytes whose dtype the rebuild call gives.
    UntypedStorage,
    /// A dtype object such as `torch.float8_e4m3fn`.
    Dtype(DType),
    /// `torch.Size`, a tuple of dimensions.
    Size,
    /// `_codecs.encode(text, "latin1")`, which is how protocol 2 pickles `bytes`.
    CodecsEncode,
}

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not on the allowlist.
    Disallowed,
    /// A real PyTorch type that brainsurgery cannot represent.
    Unsupported,
}

/// PyTorch's legacy storage classes and the dtype of their elements.
pub(crate) const TYPED_STORAGES: [(&str, DType); 11] = [
    ("FloatStorage", DType::F32),
    ("DoubleStorage", DType::F64),
    ("HalfStorage", DType::F16),
    ("BFloat16Storage", DType::BF16),
    ("LongStorage", DType::I64),
    ("IntStorage", DType::I32),
    ("ShortStorage", DType::I16),
    ("CharStorage", DType::I8),
    ("ByteStorage", DType::U8),
    ("BoolStorage", DType::BOOL),
    ("ComplexFloatStorage", DType::C64),
];

/// PyTorch dtype names (as in `torch.<name>`) for every dtype both sides know.
pub(crate) const DTYPE_NAMES: [(&str, DType); 19] = [
    ("float32", DType::F32),
    ("float64", DType::F64),
    ("float16", DType::F16),
    ("bfloat16", DType::BF16),
    ("int64", DType::I64),
    ("int32", DType::I32),
    ("int16", DType::I16),
    ("int8", DType::I8),
    ("uint8", DType::U8),
    ("uint16", DType::U16),
    ("uint32", DType::U32),
    ("uint64", DType::U64),
    ("bool", DType::BOOL),
    ("complex64", DType::C64),
    ("float8_e4m3fn", DType::F8_E4M3),
    ("float8_e5m2", DType::F8_E5M2),
    ("float8_e4m3fnuz", DType::F8_E4M3FNUZ),
    ("float8_e5m2fnuz", DType::F8_E5M2FNUZ),
    ("float8_e8m0fnu", DType::F8_E8M0),
];

/// PyTorch types that exist but have no safetensors dtype: refused with a clear message rather
/// than as unknown names.
const UNSUPPORTED: [&str; 14] = [
    "ComplexDoubleStorage",
    "QInt8Storage",
    "QUInt8Storage",
    "QInt32Storage",
    "QUInt4x2Storage",
    "QUInt2x4Storage",
    "complex128",
    "complex32",
    "qint8",
    "quint8",
    "qint32",
    "float4_e2m1fn_x2",
    "bits8",
    "bits16",
];

/// The torch dtype name of `dtype`, if PyTorch has one.
pub(crate) fn torch_dtype_name(dtype: DType) -> Option<&'static str> {
    DTYPE_NAMES
        .iter()
        .find(|(_, candidate)| *candidate == dtype)
        .map(|(name, _)| *name)
}

/// The legacy storage class of `dtype`, if it has one.
pub(crate) fn typed_storage_name(dtype: DType) -> Option<&'static str> {
    TYPED_STORAGES
        .iter()
        .find(|(_, candidate)| *candidate == dtype)
        .map(|(name, _)| *name)
}

/// What `module.name` stands for.
pub fn resolve(module: &str, name: &str) -> Result<Global, Refusal> {
    let global = match (module, name) {
        ("collections", "OrderedDict") => Global::OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2") => Global::RebuildTensorV2,
        ("torch._utils", "_rebuild_tensor_v3") => Global::RebuildTensorV3,
        ("torch._utils", "_rebuild_parameter") => Global::RebuildParameter,
        ("torch._utils", "_rebuild_parameter_with_state") => Global::RebuildParameterWithState,
        ("torch.storage" | "torch", "UntypedStorage") => Global::UntypedStorage,
        ("torch", "Size") => Global::Size,
        ("_codecs", "encode") => Global::CodecsEncode,
        ("torch", other) => {
            if let Some((_, dtype)) = TYPED_STORAGES.iter().find(|(n, _)| *n == other) {
                Global::TypedStorage(*dtype)
            } else if let Some((_, dtype)) = DTYPE_NAMES.iter().find(|(n, _)| *n == other) {
                Global::Dtype(*dtype)
            } else if UNSUPPORTED.contains(&other) {
                return Err(Refusal::Unsupported);
            } else {
                return Err(Refusal::Disallowed);
            }
        }
        _ => return Err(Refusal::Disallowed),
    };
    Ok(global)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_storages_and_dtypes_resolve() {
        assert_eq!(
            resolve("torch._utils", "_rebuild_tensor_v2"),
            Ok(Global::RebuildTensorV2)
        );
        assert_eq!(
            resolve("torch", "BFloat16Storage"),
            Ok(Global::TypedStorage(DType::BF16))
        );
        assert_eq!(
            resolve("torch", "float8_e4m3fn"),
            Ok(Global::Dtype(DType::F8_E4M3))
        );
        assert_eq!(
            resolve("torch", "float8_e8m0fnu"),
            Ok(Global::Dtype(DType::F8_E8M0))
        );
    }

    #[test]
    fn code_and_unknown_types_are_refused() {
        assert_eq!(resolve("os", "system"), Err(Refusal::Disallowed));
        assert_eq!(resolve("builtins", "eval"), Err(Refusal::Disallowed));
        assert_eq!(resolve("torch", "load"), Err(Refusal::Disallowed));
        assert_eq!(resolve("torch", "complex128"), Err(Refusal::Unsupported));
    }

    #[test]
    fn every_torch_dtype_name_reads_back() {
        for dtype in DType::ALL {
            if let Some(name) = torch_dtype_name(dtype) {
                assert_eq!(resolve("torch", name), Ok(Global::Dtype(dtype)));
            }
            if let Some(name) = typed_storage_name(dtype) {
                assert_eq!(resolve("torch", name), Ok(Global::TypedStorage(dtype)));
            }
        }
    }
}
