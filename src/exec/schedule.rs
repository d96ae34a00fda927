//! The scheduler: runs every live node of a prepared graph on a rayon pool, within the memory
//! budget, and hands results to their consumers and to the outputs as they finish.
//!
//! It receives a [`Environment`] (graph, prepared plan, opened inputs, laid-out outputs, budget,
//! worker count) and returns what the sinks produced and, if the run stopped, why. The
//! coordinator runs on the calling thread: a node becomes ready when its operands are done; views
//! (loads, reshapes, contiguous slices) are resolved at once; every other node is launched on the
//! pool once its reservation — its footprint's held and transient bytes — is granted by the
//! budget, at most `workers` at a time, lowest id first (a node that does not fit waits while later
//! ready nodes that fit start). A value is dropped when its last consumer finishes, which returns
//! its bytes to the budget. **Progress guarantee**: when nothing runs and no ready node fits (the
//! plan's peak, not its largest step, exceeds the budget), the lowest ready node is granted anyway
//! and counted as an overdraft. The first failure (a kernel error, a
//! write error, a failed assertion, a panic) stops further launches; running tasks finish and
//! nothing is published.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;

use super::budget::{MemoryBudget, Reservation};
use super::compute::materialize;
use super::diagnostics;
use super::error::KernelError;
use super::footprint::{contiguous_slice, Execution};
use super::outputs::Outputs;
use super::prepare::Prepared;
use super::progress::Progress;
use super::sinks::{evaluate, SinkOutcome};
use super::stream::{copy_value, stream_program, Sink, StreamError};
use super::value::Value;
use crate::diagnostics::Diagnostic;
use crate::graph::ops::{Layout, NodeKind};
use crate::graph::{NodeId, PlanGraph};
use crate::io::{Checkpoint, IoError};

/// Everything a run needs, borrowed for its duration.
pub struct Environment<'a> {
    pub graph: &'a PlanGraph,
    pub prepared: &'a Prepared,
    pub checkpoints: &'a BTreeMap<String, Checkpoint>,
    pub outputs: &'a Outputs,
    pub progress: &'a Progress,
    pub budget: &'a MemoryBudget,
    pub workers: usize,
}

/// Why a run stopped.
#[derive(Debug)]
pub enum Failure {
    /// The plan cannot complete (a failed assertion, a kernel error): exit code 1.
    Plan(Diagnostic),
    /// Reading or writing failed: exit code 3.
    Io(Diagnostic),
}

/// What the scheduler finished with.
#[derive(Debug, Default)]
pub struct Finished {
    /// Outcomes of the sinks that ran, by node id.
    pub sinks: BTreeMap<NodeId, SinkOutcome>,
    pub failure: Option<Failure>,
}

enum Produced<'a> {
    Value(Value<'a>),
    Sink(SinkOutcome),
    Written,
}

enum TaskError {
    Kernel(KernelError),
    Io(IoError),
    Panicked,
}

impl From<StreamError> for TaskError {
    fn from(error: StreamError) -> TaskError {
        match error {
            StreamError::Kernel(error) => TaskError::Kernel(error),
            StreamError::Io(error) => TaskError::Io(error),
        }
    }
}

type Message<'a> = (NodeId, Result<Produced<'a>, TaskError>);

pub fn run(env: &Environment) -> Finished {
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(env.workers.max(1))
        .build()
    {
        Ok(pool) => pool,
        Err(error) => {
            return Finished {
                failure: Some(Failure::Plan(diagnostics::step_failed(
                    "run",
                    &format!("cannot start the worker threads: {error}"),
                    None,
                ))),
                ..Finished::default()
            }
        }
    };
    pool.in_place_scope(|scope| {
        let (sender, receiver) = mpsc::channel::<Message>();
        let mut state = State::new(env);
        loop {
            if state.finished.failure.is_none() {
                state.launch(|id, task| {
                    let sender = sender.clone();
                    scope.spawn(move |_| {
                        let result = catch_unwind(AssertUnwindSafe(task))
                            .unwrap_or(Err(TaskError::Panicked));
                        let _ = sender.send((id, result));
                    });
                });
            }
            if state.in_flight == 0 {
                break;
            }
            let Ok((id, result)) = receiver.recv() else {
                break;
            };
            state.in_flight -= 1;
            state.finish_task(id, result);
        }
        if state.finished.failure.is_none() && state.done < state.env.prepared.live.len() {
            let remaining = state.env.prepared.live.len() - state.done;
            state.finished.failure = Some(Failure::Plan(diagnostics::scheduler_stalled(remaining)));
        }
        state.finished
    })
}

struct State<'e, 'a> {
    env: &'e Environment<'a>,
    values: HashMap<NodeId, Value<'a>>,
    pending_operands: HashMap<NodeId, usize>,
    pending_consumers: HashMap<NodeId, usize>,
    ready: BTreeSet<NodeId>,
    in_flight: usize,
    done: usize,
    finished: Finished,
}

impl<'e, 'a> State<'e, 'a> {
    fn new(env: &'e Environment<'a>) -> State<'e, 'a> {
        let graph = env.graph;
        let liveness = &env.prepared.liveness;
        let mut state = State {
            env,
            values: HashMap::new(),
            pending_operands: HashMap::new(),
            pending_consumers: HashMap::new(),
            ready: BTreeSet::new(),
            in_flight: 0,
            done: 0,
            finished: Finished::default(),
        };
        for &id in &env.prepared.live {
            let operands = distinct(graph.inputs(id)).len();
            let consumers = graph
                .consumers(id)
                .into_iter()
                .filter(|&c| liveness.is_live(c))
                .count();
            state.pending_operands.insert(id, operands);
            state.pending_consumers.insert(id, consumers);
            if operands == 0 && state.execution(id) != Execution::Absorbed {
                state.ready.insert(id);
            }
        }
        state
    }

    fn execution(&self, id: NodeId) -> Execution {
        self.env
            .prepared
            .execution
            .get(&id)
            .copied()
            .unwrap_or(Execution::Materialized)
    }

    /// Resolves views and launches tasks until nothing more can start.
    fn launch(
        &mut self,
        mut spawn: impl FnMut(NodeId, Box<dyn FnOnce() -> Result<Produced<'a>, TaskError> + Send + 'e>),
    ) where
        'a: 'e,
    {
        loop {
            let mut progressed = false;
            let ready: Vec<NodeId> = self.ready.iter().copied().collect();
            for &id in &ready {
                if self.finished.failure.is_some() {
                    return;
                }
                if self.execution(id) == Execution::View {
                    self.ready.remove(&id);
                    match self.resolve_view(id) {
                        Ok(value) => self.complete(id, Some(value)),
                        Err(failure) => self.fail(failure),
                    }
                    progressed = true;
                    continue;
                }
                if self.in_flight >= self.env.workers.max(1) {
                    continue;
                }
                let bytes = self.reservation_bytes(id);
                // A node that does not fit waits; a later ready node may fit (and often frees
                // what the waiting one needs).
                if let Some(reservation) = self.env.budget.try_reserve(bytes) {
                    self.start(id, reservation, &mut spawn);
                    progressed = true;
                }
            }
            if !progressed && self.in_flight == 0 && self.finished.failure.is_none() {
                // Nothing runs and nothing fits: the plan's peak exceeds the budget. Start the
                // lowest ready node anyway, so the run always finishes (counted as an overdraft).
                if let Some(id) = self.ready.iter().copied().next() {
                    let reservation = self.env.budget.force_reserve(self.reservation_bytes(id));
                    self.start(id, reservation, &mut spawn);
                    progressed = true;
                }
            }
            if !progressed {
                return;
            }
        }
    }

    fn reservation_bytes(&self, id: NodeId) -> u64 {
        let footprint = self
            .env
            .prepared
            .footprint
            .get(&id)
            .copied()
            .unwrap_or_default();
        footprint.held + footprint.transient
    }

    fn start(
        &mut self,
        id: NodeId,
        reservation: Reservation,
        spawn: &mut impl FnMut(NodeId, Box<dyn FnOnce() -> Result<Produced<'a>, TaskError> + Send + 'e>),
    ) where
        'a: 'e,
    {
        self.ready.remove(&id);
        let held = self
            .env
            .prepared
            .footprint
            .get(&id)
            .map_or(0, |footprint| footprint.held);
        match self.task(id, reservation, held) {
            Ok(task) => {
                self.in_flight += 1;
                spawn(id, task);
            }
            Err(failure) => self.fail(failure),
        }
    }

    fn operands(&self, id: NodeId) -> Vec<Value<'a>> {
        self.env
            .graph
            .inputs(id)
            .iter()
            .filter_map(|operand| self.values.get(operand).cloned())
            .collect()
    }

    fn resolve_view(&self, id: NodeId) -> Result<Value<'a>, Failure> {
        let graph = self.env.graph;
        let span = graph.span(id);
        let node = graph
            .node(id)
            .ok_or_else(|| Failure::Plan(diagnostics::scheduler_stalled(1)))?;
        let ty = node.ty.clone().ok_or_else(|| {
            Failure::Plan(diagnostics::step_failed(
                node.kind.name(),
                "the node has no type",
                span,
            ))
        })?;
        let kernel_failure = |error: KernelError| {
            Failure::Plan(diagnostics::step_failed(
                node.kind.name(),
                &error.to_string(),
                span,
            ))
        };
        match &node.kind {
            NodeKind::Load(load) => {
                let checkpoint = self.env.checkpoints.get(&load.path).ok_or_else(|| {
                    Failure::Plan(diagnostics::step_failed(
                        "load",
                        &format!("the checkpoint `{}` is not open", load.path),
                        span,
                    ))
                })?;
                let bytes = checkpoint
                    .read(&load.tensor)
                    .map_err(|error| Failure::Io(error.to_diagnostic()))?;
                match bytes.into_cow() {
                    std::borrow::Cow::Borrowed(mapped) => Value::mapped(ty, mapped, checkpoint),
                    // A strided PyTorch tensor is gathered into a copy when read. The compiler's
                    // memory model cannot know (headers give types, not strides), so the copy is
                    // reserved here, at once (an overdraft when the budget is short): nodes that
                    // start while it is held see the budget it takes.
                    std::borrow::Cow::Owned(gathered) => {
                        let reservation = self.env.budget.force_reserve(gathered.len() as u64);
                        Value::computed(ty, super::value::Buffer::new(gathered, Some(reservation)))
                    }
                }
                .map_err(kernel_failure)
            }
            NodeKind::Layout(Layout::Reshape { .. }) => {
                let operand = self.operands(id).into_iter().next().ok_or_else(|| {
                    kernel_failure(KernelError::OperandCount {
                        op: "reshape",
                        expected: 1,
                        actual: 0,
                    })
                })?;
                operand.with_type(ty).map_err(kernel_failure)
            }
            NodeKind::Layout(Layout::Slice(spec)) => {
                let operand = self.operands(id).into_iter().next().ok_or_else(|| {
                    kernel_failure(KernelError::OperandCount {
                        op: "slice",
                        expected: 1,
                        actual: 0,
                    })
                })?;
                let range = contiguous_slice(spec, operand.ty()).ok_or_else(|| {
                    kernel_failure(KernelError::InvalidArgument {
                        op: "slice",
                        reason: "the slice is not contiguous".into(),
                    })
                })?;
                operand
                    .sub_range(range.start as usize..range.end as usize, ty)
                    .map_err(kernel_failure)
            }
            NodeKind::Layout(Layout::ByteView(view)) => {
                let operand = self.operands(id).into_iter().next().ok_or_else(|| {
                    kernel_failure(KernelError::OperandCount {
                        op: "view",
                        expected: 1,
                        actual: 0,
                    })
                })?;
                let range = view
                    .byte_range(&ty)
                    .ok_or_else(|| kernel_failure(KernelError::TooLarge { ty: ty.clone() }))?;
                operand
                    .sub_range(range.start as usize..range.end as usize, ty)
                    .map_err(kernel_failure)
            }
            other => Err(kernel_failure(KernelError::InvalidArgument {
                op: other.name(),
                reason: "not a view".into(),
            })),
        }
    }

    /// The work of node `id`, ready to run on the pool.
    #[allow(clippy::type_complexity)]
    fn task(
        &self,
        id: NodeId,
        reservation: Reservation,
        held: u64,
    ) -> Result<Box<dyn FnOnce() -> Result<Produced<'a>, TaskError> + Send + 'e>, Failure>
    where
        'a: 'e,
    {
        let env = self.env;
        let graph = env.graph;
        let node = graph
            .node(id)
            .ok_or_else(|| Failure::Plan(diagnostics::scheduler_stalled(1)))?;
        let operands = self.operands(id);
        let sink = Sink {
            outputs: env.outputs,
            progress: env.progress,
        };
        let execution = self.execution(id);
        Ok(match execution {
            Execution::Streamed => {
                let stores: Vec<NodeId> = graph
                    .consumers(id)
                    .into_iter()
                    .filter(|&c| env.prepared.liveness.is_live(c))
                    .collect();
                let program = env.prepared.programs.get(&id);
                Box::new(move || {
                    let _reservation = reservation;
                    let program =
                        program.ok_or(TaskError::Kernel(KernelError::InvalidArgument {
                            op: "elementwise",
                            reason: format!("node {id} has no prepared program"),
                        }))?;
                    stream_program(program, &operands, &stores, sink)?;
                    Ok(Produced::Written)
                })
            }
            Execution::Copy => Box::new(move || {
                let _reservation = reservation;
                let value =
                    operands
                        .first()
                        .ok_or(TaskError::Kernel(KernelError::OperandCount {
                            op: "store",
                            expected: 1,
                            actual: 0,
                        }))?;
                copy_value(id, value, sink)?;
                Ok(Produced::Written)
            }),
            Execution::Sink => {
                let NodeKind::Sink(description) = &node.kind else {
                    return Err(Failure::Plan(diagnostics::scheduler_stalled(1)));
                };
                Box::new(move || {
                    let _reservation = reservation;
                    evaluate(description, &operands)
                        .map(Produced::Sink)
                        .map_err(TaskError::Kernel)
                })
            }
            Execution::Materialized | Execution::View | Execution::Absorbed => {
                let ty = node.ty.clone().ok_or_else(|| {
                    Failure::Plan(diagnostics::step_failed(
                        node.kind.name(),
                        "the node has no type",
                        graph.span(id),
                    ))
                })?;
                let kind = &node.kind;
                let program = env.prepared.programs.get(&id);
                Box::new(move || {
                    materialize(id, kind, &ty, &operands, program, reservation, held)
                        .map(Produced::Value)
                        .map_err(TaskError::Kernel)
                })
            }
        })
    }

    fn finish_task(&mut self, id: NodeId, result: Result<Produced<'a>, TaskError>) {
        let graph = self.env.graph;
        let span = graph.span(id);
        let op = graph.node(id).map_or("node", |n| n.kind.name());
        match result {
            Ok(Produced::Value(value)) => self.complete(id, Some(value)),
            Ok(Produced::Written) => {
                self.complete(id, None);
                if self.execution(id) == Execution::Streamed {
                    for store in graph.consumers(id) {
                        if self.env.prepared.liveness.is_live(store) {
                            self.complete(store, None);
                        }
                    }
                }
            }
            Ok(Produced::Sink(outcome)) => {
                if let Some((check, reason)) = &outcome.failure {
                    self.fail(Failure::Plan(diagnostics::assertion_failed(
                        check, reason, span,
                    )));
                }
                self.finished.sinks.insert(id, outcome);
                self.complete(id, None);
            }
            Err(TaskError::Kernel(error)) => self.fail(Failure::Plan(diagnostics::step_failed(
                op,
                &error.to_string(),
                span,
            ))),
            Err(TaskError::Io(error)) => self.fail(Failure::Io(error.to_diagnostic())),
            Err(TaskError::Panicked) => {
                self.fail(Failure::Plan(diagnostics::task_panicked(op, span)))
            }
        }
    }

    fn fail(&mut self, failure: Failure) {
        if self.finished.failure.is_none() {
            self.finished.failure = Some(failure);
        }
    }

    /// Records that `id` is done: keeps its value for its consumers, drops values nobody needs
    /// any more, and readies consumers whose operands are all done.
    fn complete(&mut self, id: NodeId, value: Option<Value<'a>>) {
        let graph = self.env.graph;
        self.done += 1;
        if graph
            .node(id)
            .is_some_and(|n| matches!(n.kind, NodeKind::Store(_)))
        {
            self.env.progress.tensor_done();
        }
        if let Some(value) = value {
            if self.pending_consumers.get(&id).copied().unwrap_or(0) > 0 {
                self.values.insert(id, value);
            }
        }
        for operand in distinct(graph.inputs(id)) {
            if let Some(pending) = self.pending_consumers.get_mut(&operand) {
                *pending = pending.saturating_sub(1);
                if *pending == 0 {
                    self.values.remove(&operand);
                }
            }
        }
        for consumer in graph.consumers(id) {
            let Some(pending) = self.pending_operands.get_mut(&consumer) else {
                continue;
            };
            *pending = pending.saturating_sub(1);
            if *pending == 0 && self.execution(consumer) != Execution::Absorbed {
                self.ready.insert(consumer);
            }
        }
    }
}

fn distinct(mut ids: Vec<NodeId>) -> Vec<NodeId> {
    ids.sort();
    ids.dedup();
    ids
}
