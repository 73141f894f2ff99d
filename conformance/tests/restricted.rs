//! The capability paths no sockpoll backend takes: a backend that lacks
//! `Interest::PRIORITY`, `notify` and `wait_interruptible` (it keeps the
//! trait's default), watches only fds below 512, and declares no live
//! registration. `Restricted` wraps `PollSelector` and
//! refuses those with typed errors; the cases that need them must pass it
//! by checking the refusals. The tests of this binary take turns (`SERIAL`),
//! so that none holds thousands of fds while another registers below the
//! limit.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use sockpoll::event::{Event, Events, Interest, Mode, PollSelector, Selector, Token};
use sockpoll::{Error, Result};
use sockpoll_conformance::{cases, Capabilities};

/// The first fd number `Restricted` cannot watch.
const LIMIT: usize = 512;

#[derive(Debug)]
struct Restricted(PollSelector);

impl Restricted {
    fn check(&self, call: &'static str, fd: BorrowedFd<'_>, interest: Interest) -> Result<()> {
        if interest.is_priority() {
            return Err(Error::Unsupported {
                call,
                backend: self.name(),
                what: "Interest::PRIORITY",
            });
        }
        let raw = fd.as_raw_fd();
        if usize::try_from(raw).map_or(true, |n| n >= LIMIT) {
            return Err(Error::FdLimit {
                call,
                backend: self.name(),
                fd: raw,
                limit: LIMIT,
            });
        }
        Ok(())
    }
}

impl Selector for Restricted {
    fn register(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check("register", fd, interest)?;
        self.0.register(fd, token, interest, mode)
    }
    fn reregister(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check("reregister", fd, interest)?;
        self.0.reregister(fd, token, interest, mode)
    }
    fn deregister(&self, fd: BorrowedFd<'_>) -> Result<()> {
        self.0.deregister(fd)
    }
    fn deregister_raw(&self, fd: RawFd) -> Result<()> {
        self.0.deregister_raw(fd)
    }
    fn deregister_token(&self, token: Token) -> Result<usize> {
        self.0.deregister_token(token)
    }
    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        self.0.wait(events, timeout)
    }
    fn next_event(&self, events: &mut Events) -> Option<Event> {
        self.0.next_event(events)
    }
    fn notify(&self) -> Result<()> {
        Err(Error::Unsupported {
            call: "notify",
            backend: self.name(),
            what: "notify",
        })
    }
    fn name(&self) -> &'static str {
        "restricted"
    }
    fn metrics(&self) -> sockpoll::event::LoopMetrics {
        self.0.metrics()
    }
    fn supports(&self, mode: Mode) -> bool {
        self.0.supports(mode)
    }
    fn fd_limit(&self) -> Option<usize> {
        Some(LIMIT)
    }
    fn timeout_resolution(&self) -> Duration {
        self.0.timeout_resolution()
    }
}

fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

fn restricted() -> Result<Restricted> {
    Ok(Restricted(PollSelector::new()?))
}

#[test]
fn lacking_priority_notify_live_registration_and_fds_is_checked_not_failed() {
    let _turn = serial();
    let caps = Capabilities::level_only()
        .name("restricted")
        .priority(false)
        .notify(false)
        .interruptible(false)
        .live_registration(false)
        .fd_limit(Some(LIMIT));
    cases::declared_capabilities_match(restricted, caps);
    cases::priority_from_out_of_band_data(restricted, caps);
    cases::notify_wakes_without_a_waker(restricted, caps);
    cases::signals_end_an_interruptible_wait(restricted, caps);
    cases::register_wakes_a_blocked_wait(restricted, caps);
    cases::reregister_wakes_a_blocked_wait(restricted, caps);
    cases::ten_thousand_fds(restricted, caps);
}

/// A backend that declares an fd limit must refuse what is above it: one
/// that accepts everything (poll) fails the fd-limit case.
#[test]
#[should_panic(expected = "at or above the declared limit must be refused")]
fn accepting_fds_above_the_declared_limit_fails() {
    let _turn = serial();
    let caps = Capabilities::level_only().fd_limit(Some(LIMIT));
    cases::ten_thousand_fds(PollSelector::new, caps);
}
