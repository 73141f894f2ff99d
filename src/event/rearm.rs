//! [`ExclusiveAccept`]: a listener shared by several loops with
//! [`Interest::EXCLUSIVE`], re-added every K accepts so that the kernel's
//! wake-ups go round the loops (nginx's `EPOLLEXCLUSIVE` pattern).

use std::num::NonZeroU32;
use std::os::fd::BorrowedFd;

use super::{Interest, Mode, Selector, Token};
use crate::error::Result;

/// A listening socket registered with [`Interest::EXCLUSIVE`] in one of
/// several loops' selectors (one listener, N loops, each with its own
/// selector), re-added to its selector after every `every` accepts.
///
/// **Why.** With `EPOLLEXCLUSIVE` a new connection wakes one loop, not all
/// — but always the same one while it is idle: the kernel walks the
/// listener's wait queue from the front, each selector's entry sits where
/// it was added, and the wake goes to the first whose loop is blocked in
/// its wait. The loop registered first takes every connection that arrives
/// while it is idle; the others get only what comes while it is busy. Under
/// light and moderate load that is nearly everything (nginx and Cloudflare
/// measured one worker taking most of the connections). Removing and
/// re-adding the registration moves this loop's entry to the back of the
/// queue, so the next connections go to the loops in front of it. nginx
/// does this every 16 accepts; `every` is the same knob (1: strict turns,
/// at one `epoll_ctl` pair per connection; larger: less cost, coarser
/// turns).
///
/// On `epoll` the re-add is `EPOLL_CTL_DEL` plus `EPOLL_CTL_ADD` (the
/// kernel refuses to modify an exclusive entry); on `uring` the poll
/// request is cancelled and a new one submitted, which queues likewise.
/// (On `uring` an entry joins the queue when the loop's next wait submits
/// it, not at `register`: "first" is the first loop to wait.)
/// Backends without `EXCLUSIVE` refuse [`register`](ExclusiveAccept::register)
/// with [`Error::Unsupported`](crate::Error::Unsupported): share the load
/// with `SO_REUSEPORT` there instead (one listener per loop).
///
/// ```no_run
/// # use std::num::NonZeroU32;
/// # use std::os::fd::AsFd;
/// # use sockpoll::event::{Events, ExclusiveAccept, Mode, Selector, Token};
/// # fn run(selector: &dyn Selector, listener: &sockpoll::TcpListener) -> sockpoll::Result<()> {
/// const LISTENER: Token = Token(0);
/// let every = NonZeroU32::new(16).unwrap_or(NonZeroU32::MIN);
/// let mut accept = ExclusiveAccept::new(LISTENER, Mode::Level, every);
/// accept.register(selector, listener.as_fd())?;
/// let mut events = Events::with_capacity(256);
/// loop {
///     selector.wait(&mut events, None)?;
///     while let Some(event) = selector.next_event(&mut events) {
///         if event.token() == LISTENER {
///             let mut accepted = 0;
///             while let Ok((conn, _peer)) = listener.accept() {
///                 accepted += 1; // register `conn` with this selector
/// #               drop(conn);
///             }
///             accept.accepted(selector, listener.as_fd(), accepted)?;
///         }
///     }
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ExclusiveAccept {
    token: Token,
    mode: Mode,
    every: NonZeroU32,
    since: u32,
    rearms: u64,
}

impl ExclusiveAccept {
    /// The listener will be reported with `token` in `mode`
    /// ([`Mode::Level`] or [`Mode::Edge`]; the kernel refuses exclusive
    /// oneshot), and re-added after every `every` accepts.
    #[must_use]
    pub fn new(token: Token, mode: Mode, every: NonZeroU32) -> ExclusiveAccept {
        ExclusiveAccept {
            token,
            mode,
            every,
            since: 0,
            rearms: 0,
        }
    }

    /// The interest it registers: `READABLE | EXCLUSIVE`.
    pub const INTEREST: Interest = Interest::READABLE.add(Interest::EXCLUSIVE);

    /// Registers `listener` with `selector`, exclusively.
    ///
    /// # Errors
    ///
    /// As [`Selector::register`]; on a backend without
    /// [`Interest::EXCLUSIVE`] (or for a oneshot mode),
    /// [`Error::Unsupported`](crate::Error::Unsupported).
    pub fn register<S: Selector + ?Sized>(
        &mut self,
        selector: &S,
        listener: BorrowedFd<'_>,
    ) -> Result<()> {
        selector.register(listener, self.token, Self::INTEREST, self.mode)?;
        self.since = 0;
        Ok(())
    }

    /// Counts `n` connections accepted from `listener` and, once `every`
    /// have been counted since the last re-add, re-adds its registration
    /// ([`Selector::reregister`] with the same token, interest and mode).
    /// Returns whether it re-added.
    ///
    /// # Errors
    ///
    /// As [`Selector::reregister`]; a failed re-add leaves the old
    /// registration in force (the trait's rule), and the next call tries
    /// again.
    pub fn accepted<S: Selector + ?Sized>(
        &mut self,
        selector: &S,
        listener: BorrowedFd<'_>,
        n: usize,
    ) -> Result<bool> {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.since = self.since.saturating_add(n);
        if self.since < self.every.get() {
            return Ok(false);
        }
        selector.reregister(listener, self.token, Self::INTEREST, self.mode)?;
        self.since = 0;
        self.rearms += 1;
        Ok(true)
    }

    /// How many times it has re-added the registration.
    pub fn rearms(&self) -> u64 {
        self.rearms
    }
}
