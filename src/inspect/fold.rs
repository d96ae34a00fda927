//! The compact tree: tensor names folded so that numbered layers of identical structure collapse
//! into index ranges, as BrainSurgery's compact dump does.
//!
//! [`fold`] receives `(name, type)` pairs and returns [`FoldedLine`]s, one per distinct leaf after
//! folding, in tree order. Names are split on `.`; a segment of ASCII digits without a leading zero
//! (`0`, `7`, `12`, not `07`) is an index, anything else is a name. Under each node, indices come
//! first in numeric order, then names in byte order. A run of consecutive indices (`n`, `n+1`, …)
//! whose subtrees are identical — same names, same dtypes, same shapes, all the way down — is shown
//! once with the segment `[first-last]`; an index whose subtree differs breaks the run, and gaps in
//! the numbering break it too. Folding applies at every depth (`h.[0-11].experts.[0-7].w1`). The
//! guarantee: expanding every range of every line gives back exactly the input names, each with its
//! own type.

use std::collections::BTreeMap;

use crate::tensor::TensorType;

/// One line of the compact tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedLine {
    /// The name with folded segments written `[first-last]`.
    pub path: String,
    pub ty: TensorType,
    /// How many tensors this line stands for (the product of its ranges' lengths).
    pub tensors: u64,
}

/// One segment of a dotted name. The derived order puts indices before names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Index(u64),
    Name(String),
}

impl Segment {
    fn parse(text: &str) -> Segment {
        let canonical = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        match text.parse::<u64>() {
            Ok(index) if canonical => Segment::Index(index),
            _ => Segment::Name(text.to_string()),
        }
    }
}

/// A node of the name trie: a tensor may end here (`a`) and others may continue below (`a.b`).
/// Equality is structural, which is exactly the "identical subtree" test of folding.
#[derive(Debug, Default, PartialEq, Eq)]
struct Node {
    leaf: Option<TensorType>,
    children: BTreeMap<Segment, Node>,
}

/// Folds the names into the compact tree. Duplicate names keep the last type given.
pub fn fold<'a>(tensors: impl IntoIterator<Item = (&'a str, &'a TensorType)>) -> Vec<FoldedLine> {
    let mut root = Node::default();
    for (name, ty) in tensors {
        let node = name
            .split('.')
            .map(Segment::parse)
            .fold(&mut root, |node, segment| {
                node.children.entry(segment).or_default()
            });
        node.leaf = Some(ty.clone());
    }
    let mut lines = Vec::new();
    emit(&root, None, 1, &mut lines);
    lines
}

/// Appends the lines below `node`. `path` is `None` only at the root, which has no name of its own.
fn emit(node: &Node, path: Option<&str>, multiplicity: u64, lines: &mut Vec<FoldedLine>) {
    if let (Some(ty), Some(path)) = (&node.leaf, path) {
        lines.push(FoldedLine {
            path: path.to_string(),
            ty: ty.clone(),
            tensors: multiplicity,
        });
    }
    let join = |segment: &str| match path {
        Some(prefix) => format!("{prefix}.{segment}"),
        None => segment.to_string(),
    };
    let mut children = node.children.iter().peekable();
    while let Some((segment, child)) = children.next() {
        match segment {
            Segment::Index(first) => {
                let mut last = *first;
                while let Some((Segment::Index(next), sibling)) = children.peek() {
                    if Some(*next) != last.checked_add(1) || *sibling != child {
                        break;
                    }
                    last = *next;
                    children.next();
                }
                let run = last - first + 1;
                let label = if run == 1 {
                    first.to_string()
                } else {
                    format!("[{first}-{last}]")
                };
                emit(child, Some(&join(&label)), multiplicity * run, lines);
            }
            Segment::Name(name) => emit(child, Some(&join(name)), multiplicity, lines),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::{DType, Shape};

    fn f32(dims: &[u64]) -> TensorType {
        TensorType::new(DType::F32, Shape::new(dims.to_vec()))
    }

    fn render(tensors: &[(&str, TensorType)]) -> Vec<String> {
        fold(tensors.iter().map(|(name, ty)| (*name, ty)))
            .into_iter()
            .map(|line| format!("{} {} x{}", line.path, line.ty, line.tensors))
            .collect()
    }

    fn layer(index: u32, hidden: u64) -> Vec<(String, TensorType)> {
        vec![
            (format!("h.{index}.attn.weight"), f32(&[hidden, 3 * hidden])),
            (format!("h.{index}.ln.bias"), f32(&[hidden])),
        ]
    }

    fn owned(tensors: &[(String, TensorType)]) -> Vec<(&str, TensorType)> {
        tensors
            .iter()
            .map(|(n, t)| (n.as_str(), t.clone()))
            .collect()
    }

    #[test]
    fn identical_layers_fold_into_one_range() {
        let mut tensors: Vec<_> = (0..12).flat_map(|i| layer(i, 8)).collect();
        tensors.push(("wte.weight".to_string(), f32(&[64, 8])));
        assert_eq!(
            render(&owned(&tensors)),
            [
                "h.[0-11].attn.weight F32 [8, 24] x12",
                "h.[0-11].ln.bias F32 [8] x12",
                "wte.weight F32 [64, 8] x1",
            ]
        );
    }

    #[test]
    fn a_layer_with_a_different_shape_breaks_the_range() {
        let tensors: Vec<_> = [(0, 8), (1, 8), (2, 16), (3, 8), (4, 8)]
            .into_iter()
            .flat_map(|(i, hidden)| layer(i, hidden))
            .collect();
        assert_eq!(
            render(&owned(&tensors)),
            [
                "h.[0-1].attn.weight F32 [8, 24] x2",
                "h.[0-1].ln.bias F32 [8] x2",
                "h.2.attn.weight F32 [16, 48] x1",
                "h.2.ln.bias F32 [16] x1",
                "h.[3-4].attn.weight F32 [8, 24] x2",
                "h.[3-4].ln.bias F32 [8] x2",
            ]
        );
    }

    #[test]
    fn a_missing_tensor_or_a_different_dtype_breaks_the_range() {
        let half = TensorType::new(DType::F16, Shape::new(vec![8]));
        let tensors = [
            ("h.0.w", f32(&[8])),
            ("h.0.extra", f32(&[8])),
            ("h.1.w", f32(&[8])),
            ("h.2.w", half),
        ];
        assert_eq!(
            render(&tensors),
            [
                "h.0.extra F32 [8] x1",
                "h.0.w F32 [8] x1",
                "h.1.w F32 [8] x1",
                "h.2.w F16 [8] x1",
            ]
        );
    }

    #[test]
    fn gaps_in_the_numbering_break_the_range() {
        let tensors = [
            ("h.0.w", f32(&[2])),
            ("h.1.w", f32(&[2])),
            ("h.3.w", f32(&[2])),
        ];
        assert_eq!(
            render(&tensors),
            ["h.[0-1].w F32 [2] x2", "h.3.w F32 [2] x1"]
        );
    }

    #[test]
    fn indices_sort_numerically_and_non_numeric_segments_never_fold() {
        let tensors = [
            ("b.10", f32(&[1])),
            ("b.9", f32(&[2])),
            ("b.x", f32(&[1])),
            ("b.y", f32(&[1])),
            ("b.07", f32(&[1])),
            ("b.1a", f32(&[1])),
        ];
        assert_eq!(
            render(&tensors),
            [
                "b.9 F32 [2] x1",
                "b.10 F32 [1] x1",
                "b.07 F32 [1] x1",
                "b.1a F32 [1] x1",
                "b.x F32 [1] x1",
                "b.y F32 [1] x1",
            ]
        );
    }

    #[test]
    fn folding_nests_and_multiplies_counts() {
        let mut names = Vec::new();
        for layer in 0..3 {
            for expert in 0..4 {
                names.push(format!("layers.{layer}.experts.{expert}.w"));
            }
            names.push(format!("layers.{layer}.router"));
        }
        let ty = f32(&[4]);
        let tensors: Vec<_> = names.iter().map(|n| (n.as_str(), ty.clone())).collect();
        assert_eq!(
            render(&tensors),
            [
                "layers.[0-2].experts.[0-3].w F32 [4] x12",
                "layers.[0-2].router F32 [4] x3",
            ]
        );
    }

    #[test]
    fn a_name_that_is_also_a_prefix_keeps_both() {
        let tensors = [
            ("0", f32(&[1])),
            ("0.bias", f32(&[1])),
            ("1", f32(&[1])),
            ("1.bias", f32(&[1])),
            ("top", f32(&[])),
        ];
        assert_eq!(
            render(&tensors),
            ["[0-1] F32 [1] x2", "[0-1].bias F32 [1] x2", "top F32 [] x1",]
        );
    }

    #[test]
    fn folded_lines_account_for_every_tensor() {
        let tensors: Vec<_> = (0..5)
            .flat_map(|i| layer(i, 4 + u64::from(i % 2)))
            .collect();
        let lines = fold(tensors.iter().map(|(n, t)| (n.as_str(), t)));
        assert_eq!(lines.iter().map(|l| l.tensors).sum::<u64>(), 10);
    }
}
