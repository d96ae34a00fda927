//! `fusion`: turns trees of elementwise ops (scale, add, subtract, multiply, clamp, cast) and the
//! constant fills they read into one [`Fused`] node, which the executor evaluates as one pass
//! over chunks: each input read once, the output written once.
//!
//! **The rule**: a node is absorbed into the node that reads it when it is an elementwise op, a
//! fused node, a constant `fill` or `ones`, and that reader is its **only** consumer and is itself
//! an elementwise or fused node of the same shape. Anything read by a store, a sink, any other op,
//! or by two different nodes stays materialized and becomes an operand of the fused node (one
//! operand per distinct node, however often the tree reads it). A tree is fused only when it
//! absorbs at least one node and the kernels accept its program. Fusing can leave a former
//! operand with the fused node as its only consumer; the next round then absorbs it too, so at the
//! fixed point a node is materialized exactly when something outside elementwise arithmetic, or
//! two separate trees, need it. Each fused step keeps its own op and dtype, and the program rounds
//! to that dtype after every step, so the fused node's bytes equal the unfused chain's. One fused
//! tree is one rewrite.

use std::collections::HashMap;

use super::{Pass, RewriteBudget};
use crate::graph::ops::{Create, Fused, FusedOp, FusedStep, FusedValue};
use crate::graph::{NodeId, NodeKind, PlanGraph};
use crate::tensor::TensorType;

pub struct Fusion;

impl Pass for Fusion {
    fn name(&self) -> &'static str {
        "fusion"
    }

    fn run_within(&self, graph: &mut PlanGraph, budget: &mut RewriteBudget) -> bool {
        let roots: Vec<NodeId> = graph
            .node_ids()
            .into_iter()
            .filter(|&id| is_arithmetic(graph, id) && !absorbable(graph, id))
            .collect();
        let mut changed = false;
        // Trees are disjoint (an absorbed node has one consumer, in one tree), so fusing one tree
        // never changes another.
        for root in roots {
            let Some(tree) = Tree::gather(graph, root) else {
                continue;
            };
            if !budget.take() {
                break;
            }
            tree.apply(graph, root);
            changed = true;
        }
        changed
    }
}

/// An elementwise or fused node: what can be the root of a tree or read an absorbed node.
fn is_arithmetic(graph: &PlanGraph, id: NodeId) -> bool {
    graph
        .node(id)
        .is_some_and(|node| matches!(node.kind, NodeKind::Elementwise(_) | NodeKind::Fused(_)))
}

/// Whether a node can be computed inside its only consumer's fused program.
fn absorbable(graph: &PlanGraph, id: NodeId) -> bool {
    let Some(node) = graph.node(id) else {
        return false;
    };
    let fusible = matches!(
        node.kind,
        NodeKind::Elementwise(_)
            | NodeKind::Fused(_)
            | NodeKind::Create(Create::FillConstant { .. } | Create::Ones { .. })
    );
    let [consumer] = graph.consumers(id)[..] else {
        return false;
    };
    let same_shape =
        node.ty.as_ref().map(|ty| &ty.shape) == graph.type_of(consumer).map(|ty| &ty.shape);
    fusible && same_shape && is_arithmetic(graph, consumer)
}

/// One tree gathered from its root: the program, its operands and the nodes it absorbs.
struct Tree {
    fused: Fused,
    ty: TensorType,
    operands: Vec<NodeId>,
    absorbed: Vec<NodeId>,
}

impl Tree {
    /// The tree under `root`, or `None` when it absorbs nothing or the kernels refuse it (then the
    /// nodes stay unfused and report their own errors at run time, as without fusion).
    fn gather(graph: &PlanGraph, root: NodeId) -> Option<Tree> {
        let ty = graph.type_of(root)?.clone();
        let mut builder = Builder::default();
        // Post-order without recursion: a node is expanded (operands pushed) once, then built
        // when it comes back with every operand valued.
        let mut stack = vec![(root, false)];
        while let Some((id, expanded)) = stack.pop() {
            if builder.values.contains_key(&id) {
                continue;
            }
            if id != root && !absorbable(graph, id) {
                builder.operands.push(id);
                let value = FusedValue::Operand(builder.operands.len() - 1);
                builder.values.insert(id, value);
                continue;
            }
            let inputs = graph.inputs(id);
            if !expanded {
                stack.push((id, true));
                stack.extend(inputs.iter().rev().map(|&input| (input, false)));
                continue;
            }
            let operands: Vec<FusedValue> = inputs
                .iter()
                .map(|input| builder.values.get(input).copied())
                .collect::<Option<_>>()?;
            let value = builder.build(&graph.node(id)?.kind, &operands)?;
            builder.values.insert(id, value);
            if id != root {
                builder.absorbed.push(id);
            }
        }
        if builder.absorbed.is_empty() {
            return None;
        }
        let fused = Fused {
            shape: ty.shape.clone(),
            steps: builder.steps,
        };
        let operand_types: Vec<&TensorType> = builder
            .operands
            .iter()
            .map(|&operand| graph.type_of(operand))
            .collect::<Option<_>>()?;
        if fused.infer(&operand_types).ok()? != ty {
            return None;
        }
        let dtypes: Vec<_> = operand_types.iter().map(|ty| ty.dtype).collect();
        fused.to_program(&dtypes).ok()?;
        Some(Tree {
            fused,
            ty,
            operands: builder.operands,
            absorbed: builder.absorbed,
        })
    }

    fn apply(self, graph: &mut PlanGraph, root: NodeId) {
        graph.replace_node(
            root,
            NodeKind::Fused(self.fused),
            Some(self.ty),
            &self.operands,
        );
        // The absorbed nodes were read only inside the tree, whose root no longer reads them.
        for id in self.absorbed {
            graph.remove_node(id);
        }
    }
}

#[derive(Default)]
struct Builder {
    steps: Vec<FusedStep>,
    operands: Vec<NodeId>,
    values: HashMap<NodeId, FusedValue>,
    absorbed: Vec<NodeId>,
}

impl Builder {
    fn push(&mut self, op: FusedOp, operands: Vec<FusedValue>) -> FusedValue {
        self.steps.push(FusedStep { op, operands });
        FusedValue::Step(self.steps.len() - 1)
    }

    /// Appends the steps computing a node of `kind` from `operands`; returns its value.
    fn build(&mut self, kind: &NodeKind, operands: &[FusedValue]) -> Option<FusedValue> {
        match kind {
            NodeKind::Elementwise(op) => {
                Some(self.push(FusedOp::Elementwise(op.clone()), operands.to_vec()))
            }
            NodeKind::Create(Create::FillConstant { ty, value }) => Some(self.push(
                FusedOp::Fill {
                    value: *value,
                    dtype: ty.dtype,
                },
                Vec::new(),
            )),
            NodeKind::Create(Create::Ones { ty }) => Some(self.push(
                FusedOp::Fill {
                    value: 1.0,
                    dtype: ty.dtype,
                },
                Vec::new(),
            )),
            // A fused node inlines its steps, its operands mapped to the tree's values.
            NodeKind::Fused(fused) => {
                let mut local = Vec::with_capacity(fused.steps.len());
                for step in &fused.steps {
                    let mapped = step
                        .operands
                        .iter()
                        .map(|value| match *value {
                            FusedValue::Operand(index) => operands.get(index).copied(),
                            FusedValue::Step(index) => local.get(index).copied(),
                        })
                        .collect::<Option<Vec<_>>>()?;
                    local.push(self.push(step.op.clone(), mapped));
                }
                local.last().copied()
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{compile, f32, kind, op_names, stored_value, typed};
    use super::*;
    use crate::tensor::DType;

    fn fused_of<'g>(graph: &'g PlanGraph, name: &str) -> (&'g Fused, Vec<NodeId>) {
        let value = stored_value(graph, name);
        match kind(graph, value) {
            NodeKind::Fused(fused) => (fused, graph.inputs(value)),
            other => panic!("{name} is not fused: {other:?}"),
        }
    }

    fn run(plan_lines: &str, tensors: &[(&str, TensorType)]) -> (PlanGraph, bool) {
        let plan = format!("input \"m\"\noutput \"out\"\n{plan_lines}");
        let mut graph = compile(&plan, tensors);
        let changed = Fusion.run(&mut graph);
        assert!(graph.validate().is_empty(), "{:?}", graph.validate());
        (graph, changed)
    }

    #[test]
    fn a_chain_becomes_one_node() {
        let (graph, changed) = run(
            "x = a * 0.5\ny = clamp(x, min=-1, max=1)\nz = y as float16\ndel x\ndel y\n",
            &[("a", f32(&[4, 2]))],
        );
        assert!(changed);
        let (fused, operands) = fused_of(&graph, "z");
        assert_eq!(
            fused.program_text(),
            "s0=scale(in0) by=0.5; s1=clamp(s0) min=-1.0 max=1.0; s2=cast(s1) dtype=F16"
        );
        assert_eq!(operands.len(), 1);
        assert!(matches!(kind(&graph, operands[0]), NodeKind::Load(_)));
        assert_eq!(op_names(&graph), ["load", "fused", "store", "store"]);
        assert_eq!(
            graph.type_of(stored_value(&graph, "z")),
            Some(&typed(DType::F16, &[4, 2]))
        );
    }

    #[test]
    fn a_tree_reads_each_input_once_and_absorbs_constant_fills() {
        let (graph, _) = run(
            "t = b * 0.5\na += t\nf = fill(a, 2)\na <- a * f\na <- a + b\ndel t\ndel f\n",
            &[("a", f32(&[3])), ("b", f32(&[3]))],
        );
        let (fused, operands) = fused_of(&graph, "a");
        // `b` is read twice by the tree but is one operand.
        assert_eq!(operands.len(), 2);
        assert_eq!(
            fused.program_text(),
            "s0=scale(in1) by=0.5; s1=add(in0, s0); s2=fill() value=2.0 dtype=F32; s3=multiply(s1, s2); s4=add(s3, in1)"
        );
    }

    #[test]
    fn a_value_consumed_twice_grows_into_the_tree_once_it_is_read_only_there() {
        let (mut graph, _) = run(
            "x = a * 0.5\nm = x * 2\nx <- x + m\ndel m\n",
            &[("a", f32(&[2]))],
        );
        // The old `x` feeds both `m` and the add: only `m` is absorbed at first …
        let (fused, operands) = fused_of(&graph, "x");
        assert_eq!(fused.steps.len(), 2);
        assert!(matches!(
            kind(&graph, operands[0]),
            NodeKind::Elementwise(_)
        ));
        // … after which the fused node is its only consumer, and the next run takes it in.
        assert!(Fusion.run(&mut graph));
        assert!(graph.validate().is_empty());
        let (fused, operands) = fused_of(&graph, "x");
        assert_eq!(
            fused.program_text(),
            "s0=scale(in0) by=0.5; s1=scale(s0) by=2.0; s2=add(s0, s1)"
        );
        assert!(matches!(kind(&graph, operands[0]), NodeKind::Load(_)));
        assert!(!Fusion.run(&mut graph));
    }

    #[test]
    fn does_not_fire_on_stored_intermediates_single_ops_or_other_consumers() {
        let (graph, changed) = run(
            "x = a * 0.5\ny = x as float16\nh = b as float16\ns = c * 2\np = s @ c\ndel s\n",
            &[
                ("a", f32(&[2, 2])),
                ("b", f32(&[2, 2])),
                ("c", f32(&[2, 2])),
            ],
        );
        // `x` is written out, `h` is one op over a load, `s` feeds a matmul.
        assert!(!changed);
        assert!(!op_names(&graph).contains(&"fused"));
    }

    #[test]
    fn does_not_fire_when_the_kernels_refuse_the_program() {
        // The graph's rule allows adding booleans; the kernels do not, so the ops stay apart and
        // the add reports its own error at run time.
        let (graph, changed) = run(
            "c = a as bool\nb <- b + c\ndel c\n",
            &[
                ("a", typed(DType::BOOL, &[2])),
                ("b", typed(DType::BOOL, &[2])),
            ],
        );
        assert!(!changed);
        assert!(op_names(&graph).contains(&"add"));
    }
}
