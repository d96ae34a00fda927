//! Runs started from the page, each on its own thread, observed through a watch channel.
//!
//! [`Runs::start`] receives the work of a run as a closure and starts it on a new thread, unless
//! a run is still going (one at a time: the machine's cores belong to the run, and two runs
//! writing one output would race); it returns the run's id. The closure reports progress
//! through a [`RunReporter`] and returns the result as JSON; [`Runs::subscribe`] hands out a
//! receiver of the latest [`RunStatus`], which the event-stream endpoint forwards to the page.
//! **Guarantees**: a subscriber always sees the latest status first (a late page still learns how
//! the run ended); the status ends in `succeeded` or `failed` exactly once, also when the work
//! panics; only the last [`KEPT_RUNS`] runs are remembered.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::sync::watch;

use crate::exec::ProgressUpdate;

/// How many finished runs are remembered.
pub const KEPT_RUNS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    Succeeded,
    Failed,
}

/// Where a run stands.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStatus {
    pub state: RunState,
    pub bytes: u64,
    pub total_bytes: u64,
    pub tensors: u64,
    pub total_tensors: u64,
    /// The result (summary, outputs, or diagnostics) once finished.
    pub result: Value,
}

impl RunStatus {
    fn started() -> RunStatus {
        RunStatus {
            state: RunState::Running,
            bytes: 0,
            total_bytes: 0,
            tensors: 0,
            total_tensors: 0,
            result: Value::Null,
        }
    }

    pub fn finished(&self) -> bool {
        self.state != RunState::Running
    }

    /// Percent done by bytes (by tensors when there are no bytes); 100 once succeeded.
    pub fn percent(&self) -> f64 {
        if self.state == RunState::Succeeded {
            return 100.0;
        }
        let (done, total) = if self.total_bytes > 0 {
            (self.bytes, self.total_bytes)
        } else {
            (self.tensors, self.total_tensors)
        };
        if total == 0 {
            0.0
        } else {
            (done as f64 / total as f64 * 100.0).min(100.0)
        }
    }

    pub fn to_json(&self, id: u64) -> Value {
        json!({
            "id": id,
            "state": match self.state {
                RunState::Running => "running",
                RunState::Succeeded => "succeeded",
                RunState::Failed => "failed",
            },
            "bytes": self.bytes,
            "total_bytes": self.total_bytes,
            "tensors": self.tensors,
            "total_tensors": self.total_tensors,
            "percent": self.percent(),
            "result": self.result,
        })
    }
}

/// What the work of a run uses to say how far it got; clones report to the same run (the
/// executor's worker threads each hold one).
#[derive(Debug, Clone)]
pub struct RunReporter {
    sender: Arc<watch::Sender<RunStatus>>,
}

impl RunReporter {
    /// Publishes how far the run got. Worker threads report concurrently, so an older snapshot
    /// can arrive after a newer one: counts only ever move forward, and observers are woken
    /// only when something changed.
    pub fn progress(&self, update: ProgressUpdate) {
        self.sender.send_if_modified(|status| {
            let before = (
                status.bytes,
                status.tensors,
                status.total_bytes,
                status.total_tensors,
            );
            status.total_bytes = update.total_bytes;
            status.total_tensors = update.total_tensors;
            status.bytes = status.bytes.max(update.bytes);
            status.tensors = status.tensors.max(update.tensors);
            before
                != (
                    status.bytes,
                    status.tensors,
                    status.total_bytes,
                    status.total_tensors,
                )
        });
    }
}

/// How a run ended: its result document, and whether it succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub succeeded: bool,
    pub result: Value,
}

#[derive(Debug, Default)]
pub struct Runs {
    inner: Mutex<RunTable>,
}

#[derive(Debug, Default)]
struct RunTable {
    next_id: u64,
    runs: BTreeMap<u64, watch::Receiver<RunStatus>>,
}

impl Runs {
    /// Starts `work` on a new thread; `Err` with the running run's id when one is still going.
    pub fn start<F>(&self, work: F) -> Result<u64, u64>
    where
        F: FnOnce(RunReporter) -> RunOutcome + Send + 'static,
    {
        let mut table = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((&id, _)) = table
            .runs
            .iter()
            .find(|(_, receiver)| !receiver.borrow().finished())
        {
            return Err(id);
        }
        table.next_id += 1;
        let id = table.next_id;
        let (sender, receiver) = watch::channel(RunStatus::started());
        table.runs.insert(id, receiver);
        while table.runs.len() > KEPT_RUNS {
            table.runs.pop_first();
        }
        drop(table);
        std::thread::spawn(move || {
            let reporter = RunReporter {
                sender: Arc::new(sender),
            };
            let worker = reporter.clone();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(worker)))
            .unwrap_or_else(|_| RunOutcome {
                succeeded: false,
                result: json!({"message": "the run stopped on an internal error (please report)"}),
            });
            reporter.sender.send_modify(|status| {
                status.state = if outcome.succeeded {
                    RunState::Succeeded
                } else {
                    RunState::Failed
                };
                status.result = outcome.result;
            });
        });
        Ok(id)
    }

    pub fn subscribe(&self, id: u64) -> Option<watch::Receiver<RunStatus>> {
        let table = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        table.runs.get(&id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn wait_finished(runs: &Runs, id: u64) -> RunStatus {
        let receiver = runs.subscribe(id).expect("known run");
        loop {
            let status = receiver.borrow().clone();
            if status.finished() {
                return status;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn progress_is_published_and_the_run_ends_once() {
        let runs = Runs::default();
        let (go, wait) = mpsc::channel::<()>();
        let id = runs
            .start(move |reporter| {
                let update = |bytes, tensors| ProgressUpdate {
                    bytes,
                    total_bytes: 100,
                    tensors,
                    total_tensors: 2,
                };
                reporter.progress(update(50, 1));
                // A late, older snapshot does not move the counts back.
                reporter.progress(update(20, 0));
                let _ = wait.recv();
                RunOutcome {
                    succeeded: true,
                    result: json!({"written": 2}),
                }
            })
            .expect("first run starts");
        // While it runs, a second run is refused with the running id.
        assert_eq!(runs.start(|_| unreachable_outcome()), Err(id));
        let receiver = runs.subscribe(id).expect("known");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while receiver.borrow().tensors == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let halfway = receiver.borrow().clone();
        assert_eq!((halfway.bytes, halfway.tensors), (50, 1));
        assert_eq!(halfway.percent(), 50.0);
        go.send(()).expect("run is waiting");
        let status = wait_finished(&runs, id);
        assert_eq!(status.state, RunState::Succeeded);
        assert_eq!(status.percent(), 100.0);
        assert_eq!(status.to_json(id)["result"]["written"], 2);
        assert!(runs.start(|_| unreachable_outcome()).is_ok());
    }

    #[test]
    fn a_panicking_run_fails_instead_of_hanging() {
        let runs = Runs::default();
        let id = runs.start(|_| panic!("kernel bug")).expect("starts");
        let status = wait_finished(&runs, id);
        assert_eq!(status.state, RunState::Failed);
        assert!(status.result["message"].is_string());
    }

    #[test]
    fn percent_follows_bytes_then_tensors() {
        let mut status = RunStatus::started();
        status.total_tensors = 4;
        status.tensors = 1;
        assert_eq!(status.percent(), 25.0);
        status.total_bytes = 10;
        status.bytes = 5;
        assert_eq!(status.percent(), 50.0);
    }

    fn unreachable_outcome() -> RunOutcome {
        RunOutcome {
            succeeded: false,
            result: Value::Null,
        }
    }
}
