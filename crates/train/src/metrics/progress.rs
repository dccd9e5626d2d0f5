//! Progress on the terminal: a bar with loss, steps/s and ETA on a terminal, plain lines
//! otherwise (logs, CI), nothing when quiet.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::MetricsLine;

/// The progress display of a run.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: bool,
    total: u64,
}

impl Progress {
    /// A display for a run of `total` steps starting at `start`. `quiet` shows nothing; off a
    /// terminal each metrics line is printed as one plain line.
    pub fn new(start: u64, total: u64, quiet: bool) -> Self {
        let terminal = std::io::stdout().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} steps  {per_sec}  ETA {eta}  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_position(start);
            bar.enable_steady_tick(Duration::from_millis(250));
            bar
        });
        Self {
            bar,
            plain: !quiet && !terminal,
            total,
        }
    }

    /// One step done.
    pub fn step(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// A metrics line: shown in the bar, or printed.
    pub fn metrics(&self, line: &MetricsLine) {
        let text = format!(
            "loss {:.4}  lr {:.2e}  |g| {:.3}  {:.0} samples/s",
            line.loss, line.lr, line.grad_norm, line.samples_per_sec
        );
        if let Some(bar) = &self.bar {
            bar.set_message(text);
        } else if self.plain {
            println!("step {}/{}  {text}", line.step, self.total);
        }
    }

    /// A message (checkpoint written, warning) above the bar or as a line.
    pub fn note(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.println(message);
        } else if self.plain {
            println!("{message}");
        }
    }

    /// Ends the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
