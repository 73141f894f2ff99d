//! Helpers shared by the test files, one subject a module: `net` (socket
//! pairs, addresses), `bytes` (test data), `stream` (reading to EOF);
//! here, the readiness helpers: tolerant event collection with bounded
//! deadlines, pipes, fd-limit raising. Each test binary pulls this in with
//! `mod util;` and uses a different subset.
#![allow(dead_code)]

pub mod bytes;
pub mod net;
pub mod stream;

use std::fs::File;
use std::os::fd::AsFd;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sockpoll::event::{Event, Events, Selector, Token};

/// Generous bound for things that should happen "at once".
pub const SOON: Duration = Duration::from_secs(5);
/// How long to watch for an event that must not come.
pub const QUIET: Duration = Duration::from_millis(60);

/// Waits (bounded by `within`) until an event for `token` satisfying `pred`
/// arrives; other events are ignored (readiness may be spurious).
pub fn expect_event<S: Selector + ?Sized>(
    sel: &S,
    events: &mut Events,
    token: Token,
    pred: impl Fn(&Event) -> bool,
    within: Duration,
) -> Event {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    // Bounded by time and by count.
    for _ in 0..10_000 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        sel.wait(events, Some(left)).expect("wait");
        while let Some(ev) = sel.next_event(events) {
            if ev.token() == token && pred(&ev) {
                return ev;
            }
            seen.push(ev);
        }
    }
    panic!(
        "{}: no matching event for {token:?} within {within:?}; saw {seen:?}",
        sel.name()
    );
}

/// Every event delivered through `next_event` during `window`.
pub fn collect<S: Selector + ?Sized>(sel: &S, events: &mut Events, window: Duration) -> Vec<Event> {
    let deadline = Instant::now() + window;
    let mut all = Vec::new();
    for _ in 0..10_000 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        sel.wait(events, Some(left)).expect("wait");
        while let Some(ev) = sel.next_event(events) {
            all.push(ev);
        }
        if all.len() > 1000 {
            break;
        }
    }
    all
}

/// Asserts no event for `token` arrives within [`QUIET`].
pub fn expect_no_event<S: Selector + ?Sized>(sel: &S, events: &mut Events, token: Token) {
    let got: Vec<Event> = collect(sel, events, QUIET)
        .into_iter()
        .filter(|e| e.token() == token)
        .collect();
    assert!(got.is_empty(), "{}: unexpected events {got:?}", sel.name());
}

/// A non-blocking pipe: (read end, write end).
pub fn pipe() -> (File, File) {
    let (r, w) = nix::unistd::pipe().expect("pipe");
    for fd in [&r, &w] {
        let flags = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_GETFL).expect("getfl");
        let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_SETFL(flags)).expect("setfl");
    }
    (File::from(r), File::from(w))
}

#[path = "../../examples/support/fdlimit.rs"]
mod fdlimit;

/// Raises the soft RLIMIT_NOFILE to at least `want` (capped at the hard
/// limit); returns the new soft limit. Written once, for the examples and
/// benches too, in `examples/support/fdlimit.rs`.
pub fn raise_fd_limit(want: u64) -> u64 {
    fdlimit::raise_fd_limit(want)
}

/// Serialises the tests that open thousands of fds, so parallel tests do
/// not exhaust the process limit together.
pub fn big_fd_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
