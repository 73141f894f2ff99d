//! [`Waker`]: wakes a blocked `wait` from another thread or a signal
//! handler, on any backend.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

#[cfg(doc)]
use super::{Interest, Selector};
use crate::error::Result;

/// Wakes a blocked [`Selector::wait`] from another thread or a signal
/// handler.
///
/// An [`eventfd(2)`](https://man7.org/linux/man-pages/man2/eventfd.2.html)
/// (`EFD_CLOEXEC | EFD_NONBLOCK`) on Linux, a
/// [`pipe2(2)`](https://man7.org/linux/man-pages/man2/pipe2.2.html)
/// (`O_CLOEXEC | O_NONBLOCK`) elsewhere. Register it like any fd — it
/// implements [`AsFd`] — with [`Interest::READABLE`] on any backend; when
/// its token comes back, call [`reset`](Waker::reset). Wakes coalesce: any
/// number of [`wake`](Waker::wake) calls before a `reset` give one
/// readiness.
///
/// ```
/// use std::os::fd::AsFd;
/// use std::sync::Arc;
/// use sockpoll::event::{DefaultSelector, Events, Interest, Mode, Selector, Token, Waker};
///
/// # fn main() -> sockpoll::Result<()> {
/// let mut selector = DefaultSelector::new()?;
/// let waker = Arc::new(Waker::new()?);
/// selector.register(waker.as_fd(), Token(99), Interest::READABLE, Mode::Level)?;
///
/// let remote = Arc::clone(&waker);
/// let thread = std::thread::spawn(move || remote.wake());
///
/// let mut events = Events::with_capacity(8);
/// selector.wait(&mut events, None)?; // ends when the thread wakes it
/// assert_eq!(selector.next_event(&mut events).map(|e| e.token()), Some(Token(99)));
/// waker.reset()?;
/// # if let Ok(woken) = thread.join() { woken?; }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Waker {
    read: OwnedFd,
    write: Option<OwnedFd>,
}

impl Waker {
    /// Creates a waker (`eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)` on Linux,
    /// `pipe2(O_CLOEXEC | O_NONBLOCK)` elsewhere).
    ///
    /// # Errors
    ///
    /// The kernel's error, e.g. `EMFILE`/`ENFILE` when out of descriptors
    /// (the kind is whatever std maps that errno to).
    #[doc(alias = "eventfd")]
    #[doc(alias = "pipe2")]
    pub fn new() -> Result<Waker> {
        let (read, write) = crate::sys::waker::new()?;
        Ok(Waker { read, write })
    }

    /// Makes the waker readable: one `write(2)`, no allocation, no lock, so
    /// it is async-signal-safe and may be called from any thread.
    ///
    /// A full counter or pipe (`EAGAIN`) means a wake is already pending,
    /// which is success.
    ///
    /// # Errors
    ///
    /// Only an unexpected error of `write(2)` (none is expected).
    #[doc(alias = "write")]
    pub fn wake(&self) -> Result<()> {
        match &self.write {
            Some(w) => crate::sys::waker::wake(w.as_fd(), false),
            None => crate::sys::waker::wake(self.read.as_fd(), true),
        }
    }

    /// Drains pending wakes with `read(2)`, so a level-triggered
    /// registration stops reporting it.
    ///
    /// # Errors
    ///
    /// Only an unexpected error of `read(2)` (none is expected).
    #[doc(alias = "read")]
    pub fn reset(&self) -> Result<()> {
        crate::sys::waker::reset(self.read.as_fd())
    }
}

impl AsFd for Waker {
    /// The readable side, to register.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}
