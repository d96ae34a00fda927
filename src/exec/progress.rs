//! Progress of a run: bytes written and tensors done, counted from any thread, and optionally
//! drawn as a bar on stderr (bytes, tensors, rate, ETA).
//!
//! [`Progress::new`] receives the totals and whether to draw; the bar is drawn only when asked
//! **and** stderr is a terminal, so pipes, logs and tests never see control characters. Counting
//! works either way (tests read [`Progress::bytes`] and [`Progress::tensors`]). A
//! [`ProgressObserver`] given with [`Progress::with_observer`] is told every change (the Web UI
//! forwards them to the page as server-sent events).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where a run stands: bytes written and tensors done, out of the totals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProgressUpdate {
    pub bytes: u64,
    pub total_bytes: u64,
    pub tensors: u64,
    pub total_tensors: u64,
}

/// Called (from any worker thread) with each change of a run's progress; it must be cheap.
#[derive(Clone)]
pub struct ProgressObserver(Arc<dyn Fn(ProgressUpdate) + Send + Sync>);

impl ProgressObserver {
    pub fn new(observe: impl Fn(ProgressUpdate) + Send + Sync + 'static) -> ProgressObserver {
        ProgressObserver(Arc::new(observe))
    }
}

impl std::fmt::Debug for ProgressObserver {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ProgressObserver")
    }
}

#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    bytes: AtomicU64,
    tensors: AtomicU64,
    total_bytes: u64,
    total_tensors: u64,
    observer: Option<ProgressObserver>,
}

impl Progress {
    pub fn new(total_bytes: u64, total_tensors: u64, draw: bool) -> Progress {
        let visible = draw && std::io::stderr().is_terminal();
        let bar = if visible {
            let bar =
                ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
            let template = "{bar:30} {binary_bytes}/{binary_total_bytes} {msg} \
                            {binary_bytes_per_sec} ETA {eta}";
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        } else {
            ProgressBar::hidden()
        };
        let progress = Progress {
            bar,
            bytes: AtomicU64::new(0),
            tensors: AtomicU64::new(0),
            total_bytes,
            total_tensors,
            observer: None,
        };
        progress.show_tensors(0);
        progress
    }

    /// Tells `observer` every change from now on, starting with the totals.
    pub fn with_observer(mut self, observer: Option<ProgressObserver>) -> Progress {
        self.observer = observer;
        self.notify();
        self
    }

    pub fn add_bytes(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.bar.inc(bytes);
        self.notify();
    }

    pub fn tensor_done(&self) {
        let done = self.tensors.fetch_add(1, Ordering::Relaxed) + 1;
        self.show_tensors(done);
        self.notify();
    }

    fn notify(&self) {
        if let Some(ProgressObserver(observe)) = &self.observer {
            observe(ProgressUpdate {
                bytes: self.bytes(),
                total_bytes: self.total_bytes,
                tensors: self.tensors(),
                total_tensors: self.total_tensors,
            });
        }
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn tensors(&self) -> u64 {
        self.tensors.load(Ordering::Relaxed)
    }

    /// Removes the bar from the terminal.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    fn show_tensors(&self, done: u64) {
        if !self.bar.is_hidden() {
            self.bar
                .set_message(format!("{done}/{} tensors", self.total_tensors));
        }
    }
}

#[cfg(test)]
mod observer_tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn the_observer_sees_the_totals_and_every_change() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let observer = ProgressObserver::new(move |update| {
            sink.lock().expect("lock").push(update);
        });
        let progress = Progress::new(10, 2, false).with_observer(Some(observer));
        progress.add_bytes(4);
        progress.tensor_done();
        let seen = seen.lock().expect("lock").clone();
        let update = |bytes, tensors| ProgressUpdate {
            bytes,
            total_bytes: 10,
            tensors,
            total_tensors: 2,
        };
        assert_eq!(seen, vec![update(0, 0), update(4, 0), update(4, 1)]);
    }
}
