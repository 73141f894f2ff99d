//! How the loop stops: a [`Stopper`] from another thread, or SIGINT/SIGTERM
//! through a self-pipe the loop watches (`Options::stop_on_signals`). A
//! signal stops it the way a `Stopper` does.

use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sockpoll::event::{Interest, Mode, Selector, Waker};

use super::{Server, SIGNALS};

/// Stops a running server from another thread.
#[derive(Debug, Clone)]
pub struct Stopper {
    flag: Arc<AtomicBool>,
    waker: Arc<Waker>,
}

impl Stopper {
    pub(super) fn new() -> sockpoll::Result<Stopper> {
        Ok(Stopper {
            flag: Arc::new(AtomicBool::new(false)),
            waker: Arc::new(Waker::new()?),
        })
    }

    /// Asks the loop to return; it does within one wake-up.
    pub fn stop(&self) {
        self.flag.store(true, Ordering::Release);
        // A full waker is already a pending wake-up.
        let _ = self.waker.wake();
    }

    pub(super) fn is_stopped(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// What the loop registers to be woken.
    pub(super) fn waker_fd(&self) -> BorrowedFd<'_> {
        self.waker.as_fd()
    }

    /// The loop was woken: the flag says why.
    pub(super) fn clear_wake(&self) {
        let _ = self.waker.reset();
    }
}

/// SIGINT and SIGTERM write a byte to a socket pair; the returned end reads
/// it (`echo_multi`'s main thread blocks on it; a loop watches it through
/// [`watch_signals`]).
pub(crate) fn signal_pipe() -> io::Result<UnixStream> {
    let (read, write) = UnixStream::pair()?;
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::low_level::pipe::register(signal, write.try_clone()?)?;
    }
    Ok(read)
}

/// SIGINT and SIGTERM stop the loop: `selector` watches the end of
/// [`signal_pipe`].
pub(super) fn watch_signals<S: Selector>(selector: &S) -> io::Result<UnixStream> {
    let read = signal_pipe()?;
    read.set_nonblocking(true)
        .map_err(sockpoll::Error::from)
        .and_then(|()| selector.register(read.as_fd(), SIGNALS, Interest::READABLE, Mode::Level))
        .map_err(io::Error::from)?;
    Ok(read)
}

impl<S: Selector> Server<S> {
    pub(super) fn signal_received(&mut self) {
        if let Some(signals) = &mut self.signals {
            let mut buf = [0u8; 64];
            while matches!(signals.read(&mut buf), Ok(n) if n > 0) {}
        }
        self.log
            .line(format_args!("signal received, shutting down"));
        self.stopper.stop();
    }
}
