//! The human-readable inspect views: the tensor table, the compact tree and the statistics table,
//! each followed by the totals.
//!
//! Each function receives an [`Inventory`] (and, for statistics, one [`TensorStats`] per tensor in
//! the inventory's order) and returns the complete text, ending with a newline. The layout is
//! documented with examples in `docs/inspect.md`; the golden files in `tests/golden/inspect/` pin it.

use super::fold::fold;
use super::inventory::{Inventory, Totals};
use super::stats::TensorStats;
use super::text::{binary_size, columns, general, grouped, Align};

/// `name  dtype  shape  bytes  shard`, one row per tensor, then the totals.
pub fn table(inventory: &Inventory) -> String {
    let rows: Vec<Vec<String>> = inventory
        .tensors
        .iter()
        .map(|entry| {
            vec![
                entry.name.clone(),
                entry.ty.dtype.to_string(),
                entry.ty.shape.to_string(),
                grouped(entry.bytes),
                entry.shard.clone(),
            ]
        })
        .collect();
    let align = [Align::Left, Align::Left, Align::Left, Align::Right];
    let mut out = columns(&["name", "dtype", "shape", "bytes", "shard"], &rows, &align);
    out.push('\n');
    out.push_str(&totals(&inventory.totals()));
    out
}

/// The folded tree (see [`super::fold`]): `path  DTYPE [shape]` per line, then the totals.
pub fn tree(inventory: &Inventory) -> String {
    let lines = fold(inventory.tensors.iter().map(|e| (e.name.as_str(), &e.ty)));
    let width = lines
        .iter()
        .map(|line| line.path.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for line in &lines {
        let padding = width - line.path.chars().count();
        out.push_str(&line.path);
        out.extend(std::iter::repeat_n(' ', padding + 2));
        out.push_str(&line.ty.to_string());
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&totals(&inventory.totals()));
    out
}

/// `name  dtype  shape  min  max  mean  std  nan  inf`, then the totals. Values are shown with six
/// significant digits; `-` marks a tensor without finite values, `n/a` a dtype without statistics.
pub fn stats_table(inventory: &Inventory, stats: &[TensorStats]) -> String {
    let rows: Vec<Vec<String>> = inventory
        .tensors
        .iter()
        .zip(stats)
        .map(|(entry, stats)| {
            let mut row = vec![
                entry.name.clone(),
                entry.ty.dtype.to_string(),
                entry.ty.shape.to_string(),
            ];
            match stats {
                TensorStats::Summary(summary) => {
                    let number = |value: Option<f64>| value.map_or("-".to_string(), general);
                    row.extend([
                        number(summary.min),
                        number(summary.max),
                        number(summary.mean),
                        number(summary.std),
                        grouped(summary.nan),
                        grouped(summary.infinite),
                    ]);
                }
                TensorStats::Unsupported => row.extend(std::iter::repeat_n("n/a".to_string(), 6)),
            }
            row
        })
        .collect();
    let mut align = vec![Align::Left; 3];
    align.extend([Align::Right; 6]);
    let header = [
        "name", "dtype", "shape", "min", "max", "mean", "std", "nan", "inf",
    ];
    let mut out = columns(&header, &rows, &align);
    out.push('\n');
    out.push_str(&totals(&inventory.totals()));
    out
}

/// One row per dtype present and a `total` row with the size in binary units.
pub fn totals(totals: &Totals) -> String {
    let mut rows: Vec<Vec<String>> = totals
        .by_dtype
        .iter()
        .map(|(dtype, count)| {
            vec![
                dtype.to_string(),
                grouped(count.tensors),
                grouped(count.parameters),
                grouped(count.bytes),
            ]
        })
        .collect();
    let overall = totals.overall;
    rows.push(vec![
        "total".to_string(),
        grouped(overall.tensors),
        grouped(overall.parameters),
        grouped(overall.bytes),
        format!("({})", binary_size(overall.bytes)),
    ]);
    let align = [Align::Left, Align::Right, Align::Right, Align::Right];
    columns(&["dtype", "tensors", "parameters", "bytes"], &rows, &align)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::inspect::inventory::TensorEntry;
    use crate::inspect::stats::Summary;
    use crate::tensor::{DType, Shape, TensorType};

    fn inventory() -> Inventory {
        let entry = |name: &str, dtype, dims: &[u64]| {
            let ty = TensorType::new(dtype, Shape::new(dims.to_vec()));
            TensorEntry::new(name, ty, "model.safetensors")
        };
        Inventory::new(
            vec![
                entry("h.1.w", DType::F32, &[2, 3]),
                entry("h.0.w", DType::F32, &[2, 3]),
                entry("scale", DType::F4, &[4]),
            ],
            BTreeMap::new(),
        )
    }

    #[test]
    fn table_lists_every_tensor_then_totals() {
        let expected = "\
name   dtype  shape   bytes  shard
h.0.w  F32    [2, 3]     24  model.safetensors
h.1.w  F32    [2, 3]     24  model.safetensors
scale  F4     [4]         2  model.safetensors

dtype  tensors  parameters  bytes
F32          2          12     48
F4           1           4      2
total        3          16     50  (50 B)
";
        assert_eq!(table(&inventory()), expected);
    }

    #[test]
    fn tree_folds_layers() {
        let text = tree(&inventory());
        assert!(
            text.starts_with("h.[0-1].w  F32 [2, 3]\nscale      F4 [4]\n\n"),
            "{text}"
        );
    }

    #[test]
    fn stats_table_marks_missing_and_unsupported_values() {
        let summary = |min: Option<f64>| {
            TensorStats::Summary(Summary {
                elements: 6,
                min,
                max: min,
                mean: min,
                std: min.map(|_| 0.0),
                nan: 6 - u64::from(min.is_some()) * 6,
                infinite: 0,
            })
        };
        let stats = [
            summary(Some(-0.125)),
            summary(None),
            TensorStats::Unsupported,
        ];
        let text = stats_table(&inventory(), &stats);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "name   dtype  shape      min     max    mean  std  nan  inf"
        );
        assert_eq!(
            lines[1],
            "h.0.w  F32    [2, 3]  -0.125  -0.125  -0.125    0    0    0"
        );
        assert_eq!(
            lines[2],
            "h.1.w  F32    [2, 3]       -       -       -    -    6    0"
        );
        assert_eq!(
            lines[3],
            "scale  F4     [4]        n/a     n/a     n/a  n/a  n/a  n/a"
        );
    }
}
