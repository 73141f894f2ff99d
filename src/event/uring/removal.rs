//! "Deregister before close": making the kernel let go of a deregistered
//! file before `deregister` returns, whichever thread calls it (see
//! `UringSelector`). A poll request holds its own reference to the file,
//! and on a single-issuer ring only the owner thread may cancel it and run
//! the completion that drops that reference.

use std::os::fd::RawFd;

use super::{this_thread, Shared, UringSelector, Waiter, IDLE, OWNER_GRACE};
use crate::error::Result;
use crate::event::lock;
use crate::sys::uring::Setup;

impl UringSelector {
    /// After `deregister` of `fds`: returns once the kernel no longer holds
    /// their files (their poll requests are cancelled and completed), so
    /// that a socket the caller closes next is closed.
    ///
    /// A request can only be cancelled, and its completion run, by a thread
    /// allowed to enter the ring — on a single-issuer ring its owner. So:
    /// - no wait running, and this thread may enter (a plain ring, or this
    ///   thread owns it): it submits the cancels and runs the kernel's
    ///   deferred work itself;
    /// - a wait running: the waiter is woken, carries the cancels out in
    ///   its next round (or as it ends) and says so; this thread waits for
    ///   that;
    /// - no wait running, and another thread owns the ring: its next wait
    ///   does the same, for up to [`OWNER_GRACE`]; then (the owner may be
    ///   gone, or waiting for this very thread) the ring is replaced by a
    ///   new one, unowned until the next wait, and the old one closed —
    ///   the kernel then cancels its requests as it tears it down.
    pub(super) fn let_go(&self, fds: &[RawFd]) -> Result<()> {
        if !self.origin.is_current() {
            // A forked child: the parent's ring is not ours to touch.
            return Ok(());
        }
        let give_up = std::time::Instant::now() + OWNER_GRACE;
        // Bounded: each turn waits a slice of the grace, or ends.
        for _ in 0..1000 {
            if let Ok(mut w) = self.waiter.try_lock() {
                let in_flight = fds.iter().any(|&fd| {
                    usize::try_from(fd).is_ok_and(|i| w.kernel.get(i).is_some_and(|&k| k != IDLE))
                });
                if !in_flight {
                    // Nothing the kernel holds (an unowned single-issuer
                    // ring has never been entered, so has none).
                    return Ok(());
                }
                if self.may_enter(&w) {
                    let mut shared = lock(&self.shared);
                    return self.flush(&mut w, &mut shared);
                }
                if std::time::Instant::now() >= give_up {
                    let mut shared = lock(&self.shared);
                    let sq = w.ring.entries().0;
                    return self.replace_ring(&mut w, &mut shared, sq, false);
                }
            }
            let mut shared = lock(&self.shared);
            shared.flush_asked += 1;
            let ticket = shared.flush_asked;
            self.wake_if(shared.blocked)?;
            let step = OWNER_GRACE / 10;
            let (shared, _) = self
                .flushed
                .wait_timeout_while(shared, step, |s| s.flushed < ticket)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if shared.flushed >= ticket {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Whether this thread may enter the ring now: any thread a plain one,
    /// only the owner a single-issuer one (an unowned one is entered by
    /// `prepare` first, which makes the caller its owner).
    pub(super) fn may_enter(&self, w: &Waiter) -> bool {
        match w.ring.setup() {
            Setup::Plain => true,
            Setup::SingleIssuer => w.owner == Some(this_thread()),
        }
    }

    /// Submits what is queued (removals among it) and runs the kernel's
    /// deferred work until none is left, so that every cancelled request
    /// has completed and dropped its file; then answers the `deregister`s
    /// waiting for that. The caller may enter the ring.
    pub(super) fn flush(&self, w: &mut Waiter, shared: &mut Shared) -> Result<()> {
        let asked = shared.flush_asked;
        self.sync(w, shared)?;
        let complete = shared.dirty.is_empty();
        // Bounded: each enter runs a batch of the deferred work.
        for _ in 0..1024 {
            match w.ring.run_deferred(1) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
                other => other?,
            }
            if !w.ring.has_deferred_work() {
                break;
            }
        }
        if complete {
            self.answer_flushes(shared, asked);
        }
        Ok(())
    }

    /// Tells the `deregister`s that asked (up to `asked`) that their
    /// removals are carried out. A notification only when one waits.
    pub(super) fn answer_flushes(&self, shared: &mut Shared, asked: u64) {
        if shared.flushed < asked {
            shared.flushed = asked;
            self.flushed.notify_all();
        }
    }

    /// Runs the kernel's deferred work until none is left (bounded), its
    /// completions left in the queue for the next harvest.
    pub(super) fn settle(&self, w: &mut Waiter) -> Result<()> {
        for _ in 0..1024 {
            if !w.ring.has_deferred_work() {
                break;
            }
            match w.ring.run_deferred(1) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::EBUSY)) => {}
                other => other?,
            }
        }
        Ok(())
    }
}
