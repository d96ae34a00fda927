//! Progress of a run: bytes written and tensors done, counted from any thread, and optionally
//! drawn as a bar on stderr (bytes, tensors, rate, ETA).
//!
//! [`Progress::new`] receives the totals and whether to draw; the bar is drawn only when asked
//! **and** stderr is a terminal, so pipes, logs and tests never see control characters. Counting
//! works either way (tests read [`Progress::bytes`] and [`Progress::tensors`]).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    bytes: AtomicU64,
    tensors: AtomicU64,
    total_tensors: u64,
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
            total_tensors,
        };
        progress.show_tensors(0);
        progress
    }

    pub fn add_bytes(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.bar.inc(bytes);
    }

    pub fn tensor_done(&self) {
        let done = self.tensors.fetch_add(1, Ordering::Relaxed) + 1;
        self.show_tensors(done);
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
