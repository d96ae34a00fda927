//! A layered layout for directed acyclic graphs, small enough to read in one sitting.
//!
//! [`layer_graph`] receives a node count and edges `(from, to)` between node indices and returns
//! each node's layer and its position within the layer. Layers follow the longest path from the
//! sources, except that a source (a load, a creator) is pulled right up to the layer before its
//! first consumer, so a tensor used late does not draw a long edge across the picture. Within a
//! layer, nodes are ordered by the barycenter of their neighbours' positions, sweeping down and
//! up a few times, which removes most crossings of plan graphs (mostly chains and small trees).
//! **Guarantees**: deterministic (ties keep the node order); every edge goes from a lower layer
//! to a higher one; a cycle (never produced by the compiler) does not loop: its nodes are placed
//! after the others.

/// Down-and-up sweeps of the crossing reduction; plan graphs settle after a couple.
const SWEEPS: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layered {
    /// The layer of each node.
    pub layer: Vec<usize>,
    /// Each layer's nodes, in drawing order.
    pub layers: Vec<Vec<usize>>,
}

impl Layered {
    /// The position of each node within its layer.
    pub fn positions(&self) -> Vec<usize> {
        let mut positions = vec![0; self.layer.len()];
        for layer in &self.layers {
            for (position, &node) in layer.iter().enumerate() {
                positions[node] = position;
            }
        }
        positions
    }
}

pub fn layer_graph(count: usize, edges: &[(usize, usize)]) -> Layered {
    let mut predecessors = vec![Vec::new(); count];
    let mut successors = vec![Vec::new(); count];
    for &(from, to) in edges {
        if from < count && to < count && from != to {
            predecessors[to].push(from);
            successors[from].push(to);
        }
    }
    let order = topological_order(&predecessors, &successors);
    let mut layer = vec![0usize; count];
    for &node in &order {
        layer[node] = predecessors[node]
            .iter()
            .map(|&p| layer[p] + 1)
            .max()
            .unwrap_or(0);
    }
    for node in 0..count {
        let first_consumer = successors[node].iter().map(|&s| layer[s]).min();
        if let (true, Some(consumer_layer)) = (predecessors[node].is_empty(), first_consumer) {
            layer[node] = consumer_layer.saturating_sub(1);
        }
    }
    let depth = layer.iter().max().map_or(0, |&deepest| deepest + 1);
    let mut layers = vec![Vec::new(); depth];
    for node in 0..count {
        layers[layer[node]].push(node);
    }
    let mut layered = Layered { layer, layers };
    for _ in 0..SWEEPS {
        reorder(&mut layered, &predecessors, true);
        reorder(&mut layered, &successors, false);
    }
    layered
}

/// Kahn's algorithm in index order; nodes left over (on a cycle) come last, in index order.
fn topological_order(predecessors: &[Vec<usize>], successors: &[Vec<usize>]) -> Vec<usize> {
    let count = predecessors.len();
    let mut waiting: Vec<usize> = predecessors.iter().map(Vec::len).collect();
    let mut ready: std::collections::BTreeSet<usize> =
        (0..count).filter(|&node| waiting[node] == 0).collect();
    let mut order = Vec::with_capacity(count);
    let mut placed = vec![false; count];
    while let Some(node) = ready.pop_first() {
        order.push(node);
        placed[node] = true;
        for &next in &successors[node] {
            waiting[next] -= 1;
            if waiting[next] == 0 {
                ready.insert(next);
            }
        }
    }
    order.extend((0..count).filter(|&node| !placed[node]));
    order
}

/// Sorts each layer by the mean position of each node's neighbours in the adjacent layer
/// (`downward`: the layer before, through `neighbours` = predecessors; else the layer after).
fn reorder(layered: &mut Layered, neighbours: &[Vec<usize>], downward: bool) {
    let depth = layered.layers.len();
    let indices: Vec<usize> = if downward {
        (1..depth).collect()
    } else {
        (0..depth.saturating_sub(1)).rev().collect()
    };
    for index in indices {
        let positions = layered.positions();
        let mut keyed: Vec<(f64, usize, usize)> = layered.layers[index]
            .iter()
            .enumerate()
            .map(|(position, &node)| {
                let around = &neighbours[node];
                let key = if around.is_empty() {
                    position as f64
                } else {
                    around.iter().map(|&n| positions[n] as f64).sum::<f64>() / around.len() as f64
                };
                (key, position, node)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        layered.layers[index] = keyed.into_iter().map(|(_, _, node)| node).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_go_forward_and_sources_sit_next_to_their_consumer() {
        // 0 -> 1 -> 2 -> 3, and a late source 4 -> 3.
        let layered = layer_graph(5, &[(0, 1), (1, 2), (2, 3), (4, 3)]);
        assert_eq!(layered.layer, vec![0, 1, 2, 3, 2]);
        for (from, to) in [(0, 1), (1, 2), (2, 3), (4, 3)] {
            assert!(layered.layer[from] < layered.layer[to]);
        }
    }

    #[test]
    fn crossing_edges_are_untangled() {
        // Sources 0 and 1 feed 3 and 2 respectively: ordering by barycenter puts 3 above 2.
        let layered = layer_graph(4, &[(0, 3), (1, 2)]);
        assert_eq!(layered.layers[1], vec![3, 2]);
    }

    #[test]
    fn a_cycle_terminates_and_places_every_node() {
        let layered = layer_graph(3, &[(0, 1), (1, 2), (2, 1)]);
        let placed: usize = layered.layers.iter().map(Vec::len).sum();
        assert_eq!(placed, 3);
    }
}
