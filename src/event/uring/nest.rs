//! Nesting: the descriptor [`UringSelector::as_fd`] hands out, an eventfd
//! registered with every ring the selector makes, so that another event
//! loop can wait for this one.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use super::super::Waker;
use super::UringSelector;
use crate::error::Result;
use crate::sys::uring::Ring;

/// The descriptor that turns readable when this selector has something
/// for a `wait` ([`UringSelector::as_fd`]): an eventfd registered with
/// every ring (`IORING_REGISTER_EVENTFD`), which the kernel adds to when
/// the ring gets work, and which the selector writes itself for what the
/// kernel does not know (registration changes queued for the next wait,
/// `notify`, level registrations the next wait's probe will look at).
/// Until `as_fd` is first called its kernel signals are off and nothing
/// writes it: no cost.
#[derive(Debug)]
pub(super) struct Nest {
    pub(super) fd: Waker,
    on: AtomicBool,
}

impl Nest {
    pub(super) fn new() -> Result<Nest> {
        Ok(Nest {
            fd: Waker::new()?,
            on: AtomicBool::new(false),
        })
    }

    /// Whether `as_fd` has been called.
    pub(super) fn on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    /// Hands the descriptor out, turning it on the first time.
    fn turn_on(&self) -> BorrowedFd<'_> {
        if !self.on.swap(true, Ordering::AcqRel) {
            // The next `wait` turns the kernel's signals on: have an outer
            // loop call it.
            let _ = self.fd.wake();
        }
        self.fd.as_fd()
    }

    /// Makes it readable, if anyone looks at it.
    pub(super) fn poke(&self) -> Result<()> {
        if self.on() {
            self.fd.wake()?;
        }
        Ok(())
    }

    /// A ring of `entries` with the nesting eventfd registered, its signals
    /// off (the waiter turns them on once `as_fd` has been called).
    pub(super) fn new_ring(&self, entries: u32) -> Result<Ring> {
        let mut ring = Ring::new(entries)?;
        // Before the ring is enabled: any thread may register then.
        ring.register_eventfd(self.fd.as_fd())?;
        ring.eventfd_signals(false);
        Ok(ring)
    }
}

impl AsFd for UringSelector {
    /// A descriptor that turns readable when this selector has something
    /// for a `wait` — for nesting it in another event loop (another
    /// selector, `poll(2)`, a runtime's reactor): register it for
    /// readability there, and call [`wait`](crate::event::Selector::wait) (with a zero
    /// timeout, say) when it is reported.
    ///
    /// It is not the ring's own descriptor: on a `DEFER_TASKRUN` ring the
    /// kernel posts completions only when the ring's thread enters it, so
    /// the ring is not reported readable when a registered file becomes
    /// ready. It is an eventfd registered with the ring
    /// (`IORING_REGISTER_EVENTFD`), which the kernel signals when the ring
    /// gets work, and which the selector also makes readable for what only
    /// a `wait` would submit or find: registration changes made while no
    /// thread waits, [`notify`](crate::event::Selector::notify), completions left when
    /// `Events` was full, and level registrations still to be probed (so,
    /// like a level-triggered epoll fd, it may be readable once more after
    /// the data was read: a `wait` then reports nothing). Each `wait`
    /// clears it as it ends, unless something is left for the next one.
    /// The number stays the same for the selector's life, across ring
    /// replacements.
    ///
    /// Only register it and wait: do not read, write or close it (the
    /// borrow forbids closing). The first call turns the kernel's signals
    /// on; until then they cost nothing.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.nest.turn_on()
    }
}
