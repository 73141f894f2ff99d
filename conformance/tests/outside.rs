//! A `Selector` written outside sockpoll, through its public API alone, run
//! through the whole harness: the proof that a third party can.
//!
//! `LoggingSelector` wraps any selector (here `PollSelector`), counts every
//! call by method and keeps the last few calls in a bounded log, forwarding
//! each to the inner selector. Two more wrappers break the contract on
//! purpose, so that the harness is seen to fail them: one fakes edge mode
//! with level mode, one declares what it does not have.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sockpoll::event::{Event, Events, Interest, Mode, PollSelector, Selector, Token};
use sockpoll::Result;
use sockpoll_conformance::{cases, conformance_tests, Capabilities};

/// How many calls of each method a `LoggingSelector` saw.
#[derive(Debug, Default)]
struct Calls {
    register: AtomicU64,
    reregister: AtomicU64,
    deregister: AtomicU64,
    wait: AtomicU64,
    next_event: AtomicU64,
    notify: AtomicU64,
}

/// The log keeps this many of the latest calls.
const LOG_LEN: usize = 64;

/// A selector that counts and logs every call, then forwards it to `S`.
#[derive(Debug)]
struct LoggingSelector<S> {
    inner: S,
    calls: Arc<Calls>,
    log: Mutex<VecDeque<String>>,
}

impl<S: Selector> LoggingSelector<S> {
    fn new(inner: S, calls: Arc<Calls>) -> LoggingSelector<S> {
        LoggingSelector {
            inner,
            calls,
            log: Mutex::new(VecDeque::with_capacity(LOG_LEN)),
        }
    }

    fn note(&self, counter: &AtomicU64, line: impl FnOnce() -> String) {
        counter.fetch_add(1, Ordering::Relaxed);
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() == LOG_LEN {
            log.pop_front();
        }
        log.push_back(line());
    }

    fn last_calls(&self) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().cloned().collect()
    }
}

impl<S: Selector> Selector for LoggingSelector<S> {
    fn register(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        let res = self.inner.register(fd, token, interest, mode);
        self.note(&self.calls.register, || {
            format!(
                "register fd {} {token:?} {interest:?} {mode:?}: {res:?}",
                fd.as_raw_fd()
            )
        });
        res
    }

    fn reregister(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        let res = self.inner.reregister(fd, token, interest, mode);
        self.note(&self.calls.reregister, || {
            format!(
                "reregister fd {} {token:?} {interest:?} {mode:?}: {res:?}",
                fd.as_raw_fd()
            )
        });
        res
    }

    fn deregister(&self, fd: BorrowedFd<'_>) -> Result<()> {
        let res = self.inner.deregister(fd);
        self.note(&self.calls.deregister, || {
            format!("deregister fd {}: {res:?}", fd.as_raw_fd())
        });
        res
    }

    fn deregister_raw(&self, fd: RawFd) -> Result<()> {
        let res = self.inner.deregister_raw(fd);
        self.note(&self.calls.deregister, || {
            format!("deregister_raw {fd}: {res:?}")
        });
        res
    }

    fn deregister_token(&self, token: Token) -> Result<usize> {
        let res = self.inner.deregister_token(token);
        self.note(&self.calls.deregister, || {
            format!("deregister_token {token:?}: {res:?}")
        });
        res
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        let res = self.inner.wait(events, timeout);
        self.note(&self.calls.wait, || format!("wait {timeout:?}: {res:?}"));
        res
    }

    fn wait_interruptible(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        let res = self.inner.wait_interruptible(events, timeout);
        self.note(&self.calls.wait, || {
            format!("wait_interruptible {timeout:?}: {res:?}")
        });
        res
    }

    fn next_event(&self, events: &mut Events) -> Option<Event> {
        let ev = self.inner.next_event(events);
        self.calls.next_event.fetch_add(1, Ordering::Relaxed);
        ev
    }

    fn notify(&self) -> Result<()> {
        let res = self.inner.notify();
        self.note(&self.calls.notify, || format!("notify: {res:?}"));
        res
    }

    /// Transparent: the inner backend's name, which its errors carry too
    /// (the harness checks that a refusal names the backend).
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn metrics(&self) -> sockpoll::event::LoopMetrics {
        self.inner.metrics()
    }

    fn supports(&self, mode: Mode) -> bool {
        self.inner.supports(mode)
    }

    fn fd_limit(&self) -> Option<usize> {
        self.inner.fd_limit()
    }

    fn timeout_resolution(&self) -> Duration {
        self.inner.timeout_resolution()
    }
}

fn logging_poll() -> Result<LoggingSelector<PollSelector>> {
    Ok(LoggingSelector::new(PollSelector::new()?, Arc::default()))
}

/// What `LoggingSelector<PollSelector>` declares: poll's set and name.
fn logging_caps() -> Capabilities {
    Capabilities::level_only().name("poll")
}

// The whole harness, one #[test] per case.
conformance_tests!(logging, logging_poll, logging_caps());

/// The cases really went through the wrapper: every kind of call was
/// counted and logged.
#[test]
fn the_wrapper_sees_every_call() {
    let calls = Arc::new(Calls::default());
    let shared = Arc::clone(&calls);
    let new = move || {
        Ok(LoggingSelector::new(
            PollSelector::new()?,
            Arc::clone(&shared),
        ))
    };
    cases::reregister_changes_token_and_interest(&new, logging_caps());
    cases::already_exists_and_not_found(&new, logging_caps());
    cases::notify_wakes_without_a_waker(&new, logging_caps());
    for (what, counter) in [
        ("register", &calls.register),
        ("reregister", &calls.reregister),
        ("deregister", &calls.deregister),
        ("wait", &calls.wait),
        ("next_event", &calls.next_event),
        ("notify", &calls.notify),
    ] {
        assert!(
            counter.load(Ordering::Relaxed) > 0,
            "no {what} call: {calls:?}"
        );
    }
    let sel = new().unwrap();
    let mut events = Events::with_capacity(4);
    sel.wait(&mut events, Some(Duration::ZERO)).unwrap();
    let log = sel.last_calls();
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].starts_with("wait Some(0ns): Ok(0)"), "{log:?}");
}

/// Breaks the contract: asked for edge mode, it registers level mode and
/// says nothing (while `supports(Mode::Edge)` is false).
#[derive(Debug)]
struct FakeEdge(PollSelector);

impl Selector for FakeEdge {
    fn register(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        let mode = if mode == Mode::Edge {
            Mode::Level
        } else {
            mode
        };
        self.0.register(fd, token, interest, mode)
    }
    fn reregister(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
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
        self.0.notify()
    }
    fn name(&self) -> &'static str {
        "fake-edge"
    }
    fn metrics(&self) -> sockpoll::event::LoopMetrics {
        self.0.metrics()
    }
    fn supports(&self, mode: Mode) -> bool {
        self.0.supports(mode)
    }
    fn fd_limit(&self) -> Option<usize> {
        self.0.fd_limit()
    }
    fn timeout_resolution(&self) -> Duration {
        self.0.timeout_resolution()
    }
}

/// A backend without edge mode that fakes it is failed, not passed.
#[test]
#[should_panic(expected = "must be refused, never faked")]
fn faking_edge_mode_fails() {
    cases::edge_once_per_edge_or_unsupported(
        || Ok(FakeEdge(PollSelector::new()?)),
        Capabilities::level_only(),
    );
}

/// A declaration the backend contradicts fails the cross-check.
#[test]
#[should_panic(expected = "supports(Mode::Edge) against the declared capabilities")]
fn declaring_edge_that_is_not_there_fails() {
    cases::declared_capabilities_match(PollSelector::new, Capabilities::full());
}
