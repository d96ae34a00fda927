//! Casting a tensor to another dtype, with PyTorch's conversion rules.
//!
//! Receives a tensor view and a target dtype; returns a new tensor. Every pair among BOOL, the
//! eight integer dtypes, F16, BF16, F32, F64, F8_E4M3 and F8_E5M2 converts; any other dtype on
//! either side is refused with [`KernelError::UnsupportedDType`]. The element rules live in
//! `codec` and are tabulated in `docs/numerics.md`; a cast is the one-op elementwise program
//! `Cast`, so it streams in parallel chunks like every other elementwise op.

use super::codec::LaneKind;
use super::elementwise::ElementwiseOp;
use super::program::evaluate;
use crate::exec::error::KernelError;
use crate::exec::tensor_data::{TensorData, TensorView};
use crate::tensor::DType;

/// Whether `dtype` takes part in casts (and in elementwise kernels generally).
pub fn is_castable(dtype: DType) -> bool {
    LaneKind::of(dtype).is_some()
}

/// `input` converted to `dtype`.
pub fn cast(input: &TensorView, dtype: DType) -> Result<TensorData, KernelError> {
    evaluate(ElementwiseOp::Cast { dtype }, std::slice::from_ref(input))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{Shape, TensorType};

    fn view_of(dtype: DType, bytes: &[u8]) -> TensorData {
        let count = (bytes.len() / (dtype.bit_size() / 8)) as u64;
        TensorData::new(
            TensorType::new(dtype, Shape::new(vec![count])),
            bytes.to_vec(),
        )
        .expect("test bytes match the type")
    }

    #[test]
    fn float_to_integer_truncates_toward_zero_and_saturates() {
        let values: Vec<u8> = [2.9f32, -2.9, 300.0, -300.0, f32::NAN]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let input = view_of(DType::F32, &values);
        let as_i8 = cast(&input.view(), DType::I8).expect("f32 casts to i8");
        assert_eq!(as_i8.bytes(), &[2, (-2i8) as u8, 127, 128, 0]);
        let as_u8 = cast(&input.view(), DType::U8).expect("f32 casts to u8");
        assert_eq!(as_u8.bytes(), &[2, 0, 255, 0, 0]);
    }

    #[test]
    fn integers_wrap_and_bools_are_nonzero() {
        let input = view_of(DType::I16, &[0x2C, 0x01, 0xFF, 0xFF, 0, 0]);
        let as_u8 = cast(&input.view(), DType::U8).expect("i16 casts to u8");
        assert_eq!(as_u8.bytes(), &[0x2C, 0xFF, 0]);
        let as_bool = cast(&input.view(), DType::BOOL).expect("i16 casts to bool");
        assert_eq!(as_bool.bytes(), &[1, 1, 0]);
        let back = cast(&as_bool.view(), DType::BF16).expect("bool casts to bf16");
        assert_eq!(back.bytes(), &[0x80, 0x3F, 0x80, 0x3F, 0, 0]);
    }

    #[test]
    fn unsupported_dtypes_are_refused() {
        let input = view_of(DType::F32, &[0; 8]);
        assert_eq!(
            cast(&input.view(), DType::C64),
            Err(KernelError::UnsupportedDType {
                op: "cast",
                dtype: DType::C64
            })
        );
        let fnuz = view_of(DType::F8_E4M3FNUZ, &[0; 2]);
        assert!(cast(&fnuz.view(), DType::F32).is_err());
    }
}
