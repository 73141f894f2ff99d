//! Interrupting a blocking call with real signals.

use std::sync::atomic::AtomicBool;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use sockpoll_conformance::support::ThreadHandle;

/// Runs `call` on a thread of its own and sends that thread `SIGUSR2` (a
/// handler that only sets a flag is installed first) every `every` until
/// `call` returns, for at most `bound`. Returns what `call` returned and
/// how long it took, or `None` if it was still running after `bound` (its
/// thread is left behind, blocked).
pub fn interrupted_every<T: Send + 'static>(
    every: Duration,
    bound: Duration,
    call: impl FnOnce() -> T + Send + 'static,
) -> Option<(T, Duration)> {
    signal_hook::flag::register(
        signal_hook::consts::SIGUSR2,
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        tid_tx.send(ThreadHandle::current()).unwrap();
        let start = Instant::now();
        let out = call();
        let _ = done_tx.send((out, start.elapsed()));
    });
    let tid = tid_rx.recv().unwrap();
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        match done_rx.recv_timeout(every) {
            Ok(done) => return Some(done),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // The thread may have just finished: a signal to a thread
                // that is gone is ESRCH, which does not matter.
                let _ = tid.signal(Signal::SIGUSR2);
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the call panicked"),
        }
    }
    None
}
