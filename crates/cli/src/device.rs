//! Starting a burn device: the one place the command line catches a panic.
//!
//! Everything else reports failures as values (a model's error reaches the user as a
//! [`CliError`]), but burn reports a device that cannot start (no CUDA driver, no Vulkan
//! adapter) by panicking, often on its runtime's own thread, after which the calling thread
//! panics on a closed channel. [`start`] makes the device start — asking it whether it computes
//! in f32 creates its runtime client, without placing a tensor, so the float type can still be
//! configured afterwards — and turns such a panic into one line.

use burn::prelude::Device;
use burn::tensor::FloatDType;

use crate::error::CliError;

/// Starts `device`'s runtime; burn's start-up panic becomes [`CliError::DeviceStart`] with the
/// first panic's message (the one that says why).
pub fn start(device: &Device) -> Result<(), CliError> {
    catch_first_panic(|| {
        device.supports_dtype(FloatDType::F32);
    })
    .map_err(CliError::DeviceStart)
}

/// Runs `f`; if it panics (or a thread it waits on panics first), the first panic's message,
/// on one line. The panic hook is replaced only while `f` runs; with `RUST_BACKTRACE` set,
/// Rust's full report is printed as well.
fn catch_first_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    use std::sync::{Arc, Mutex};
    let first = Arc::new(Mutex::new(None::<String>));
    let verbose = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    let previous: Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync> =
        Arc::from(std::panic::take_hook());
    {
        let first = first.clone();
        let previous = previous.clone();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            if let Ok(mut first) = first.lock() {
                first.get_or_insert_with(|| one_line(&message));
            }
            if verbose {
                previous(info);
            }
        }));
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    // Back to the default report for every later panic (a bug, not a device that cannot start).
    drop(std::panic::take_hook());
    std::panic::set_hook(Box::new(move |info| previous(info)));
    result.map_err(|_| {
        let message = first
            .lock()
            .ok()
            .and_then(|m| m.clone())
            .unwrap_or_else(|| "unknown failure".into());
        format!("{message} (RUST_BACKTRACE=1 for details)")
    })
}

/// The first line of `message`, at most 200 characters (a library's message can list every file
/// it searched).
fn one_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test: the panic hook is process-wide, so the cases must not run in parallel.
    #[test]
    fn the_first_panic_of_any_thread_is_the_message() {
        let r = catch_first_panic(|| {
            // A runtime thread that fails to start, then the caller failing on its channel.
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let worker = std::thread::spawn(move || {
                let _tx = tx;
                panic!("Unable to load the driver\nsearched: a, b, c");
            });
            let _ = worker.join();
            rx.recv().expect("channel closed");
        });
        assert_eq!(
            r.unwrap_err(),
            "Unable to load the driver (RUST_BACKTRACE=1 for details)"
        );
        assert_eq!(catch_first_panic(|| 3), Ok(3));
        let long = "x".repeat(300);
        let r = catch_first_panic(|| panic!("{long}"));
        assert!(r.unwrap_err().starts_with(&format!("{}…", "x".repeat(200))));
        #[cfg(feature = "flex")]
        start(&Device::flex()).unwrap();
    }
}
