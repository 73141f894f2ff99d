//! The helpers the cases use, public so that a backend's own tests can use
//! them too (sockpoll's `tests/util` re-exports them): tolerant event
//! collection with bounded deadlines, non-blocking socket pairs and pipes,
//! an fd number reused atomically, the fd-limit raise and the lock that
//! serialises the tests opening thousands of fds, thread CPU time.
//!
//! Like the cases, they panic with a message on any failure: this is a
//! test library.

pub mod net;

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nix::sys::pthread::{pthread_kill, pthread_self, Pthread};
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::signal::Signal;
use sockpoll::event::{Event, Events, Selector, Token};
use sockpoll::Error;

/// Generous bound for things that should happen "at once".
pub const SOON: Duration = Duration::from_secs(5);
/// How long to watch for an event that must not come.
pub const QUIET: Duration = Duration::from_millis(60);

/// Waits (bounded by `within`) until an event for `token` satisfying `pred`
/// arrives; other events are ignored (readiness may be spurious).
///
/// # Panics
///
/// When no such event came within `within` (the message lists the events
/// seen instead), or when `wait` fails.
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

/// Every event delivered through `next_event` during `window` (at most
/// about a thousand).
///
/// # Panics
///
/// When `wait` fails.
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
///
/// # Panics
///
/// When one does, or when `wait` fails.
pub fn expect_no_event<S: Selector + ?Sized>(sel: &S, events: &mut Events, token: Token) {
    let got: Vec<Event> = collect(sel, events, QUIET)
        .into_iter()
        .filter(|e| e.token() == token)
        .collect();
    assert!(got.is_empty(), "{}: unexpected events {got:?}", sel.name());
}

/// A non-blocking pipe: (read end, write end).
///
/// # Panics
///
/// When `pipe(2)` or `fcntl(2)` fails.
pub fn pipe() -> (File, File) {
    let (r, w) = nix::unistd::pipe().expect("pipe");
    for fd in [&r, &w] {
        let flags = nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_GETFL).expect("getfl");
        let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(fd.as_fd(), nix::fcntl::FcntlArg::F_SETFL(flags)).expect("setfl");
    }
    (File::from(r), File::from(w))
}

/// A connected, non-blocking Unix stream pair.
///
/// # Panics
///
/// When `socketpair(2)` fails (out of fds).
pub fn uds_pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().expect("socketpair");
    a.set_nonblocking(true).expect("nonblocking");
    b.set_nonblocking(true).expect("nonblocking");
    (a, b)
}

/// Reads until `WouldBlock` or end of file (bounded); a reset is read past.
///
/// # Panics
///
/// On any other read error.
pub fn drain(r: &mut impl Read) {
    let mut buf = [0u8; 4096];
    for _ in 0..10_000 {
        match r.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Closes the socket at `old`'s number and puts a new one there in the same
/// step (`dup2`): what a new connection that gets the number of a socket
/// closed without `deregister` looks like, made atomic so that no test
/// running in parallel can take the number in between. Returns the new
/// socket (on the old number) and its peer.
///
/// # Panics
///
/// When `socketpair(2)` or `dup2(2)` fails.
pub fn reuse_number(old: UnixStream) -> (UnixStream, UnixStream) {
    let (new, peer) = uds_pair();
    let mut slot = OwnedFd::from(old);
    nix::unistd::dup2(&new, &mut slot).expect("dup2");
    // The new socket now lives on the old number only.
    drop(new);
    (UnixStream::from(slot), peer)
}

/// Raises the soft `RLIMIT_NOFILE` to `want`, capped at the hard limit and
/// never lowered; returns the soft limit now in force. `u64::MAX` asks for
/// the hard limit. sockpoll's own tests, benches and echo examples raise
/// theirs with it too.
///
/// Never fails: if raising is refused the old limit stays and is returned;
/// if the limits cannot be read at all (they always can on Linux), 1024,
/// the usual default soft limit, is assumed.
pub fn raise_fd_limit(want: u64) -> u64 {
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    let (soft64, hard64) = (widen(soft), widen(hard));
    let target = want.min(hard64).max(soft64);
    if target > soft64 && setrlimit(Resource::RLIMIT_NOFILE, narrow(target, hard), hard).is_err() {
        return soft64;
    }
    target
}

/// An `rlim_t` (u64 on 64-bit Linux, u32 on 32-bit glibc, i64 on the BSDs)
/// as a u64; infinity stays the largest value.
fn widen<T: TryInto<u64>>(v: T) -> u64 {
    v.try_into().unwrap_or(u64::MAX)
}

/// A u64 as an `rlim_t`, or `or` if it does not fit.
fn narrow<T: TryFrom<u64>>(v: u64, or: T) -> T {
    T::try_from(v).unwrap_or(or)
}

/// Serialises the cases that open thousands of fds, so that parallel tests
/// of one process do not exhaust its limit together. One lock per process.
pub fn big_fd_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// CPU time (user + system) of the calling thread
/// (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`), or `None` on illumos and
/// Solaris, where nix and libc do not name that clock.
///
/// # Panics
///
/// When `clock_gettime(2)` fails.
pub fn thread_cpu() -> Option<Duration> {
    #[cfg(not(any(target_os = "illumos", target_os = "solaris")))]
    return Some(Duration::from(
        nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
            .expect("clock_gettime"),
    ));
    #[cfg(any(target_os = "illumos", target_os = "solaris"))]
    return None;
}

/// A thread that another thread can send a signal to (`pthread_kill`):
/// `pthread_t` itself is not `Send` where it is a pointer (musl), so the
/// handle keeps its bits as an integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadHandle(usize);

impl ThreadHandle {
    /// The calling thread (`pthread_self`).
    pub fn current() -> ThreadHandle {
        // An integer on glibc and the BSDs, a pointer on musl and Apple:
        // either way its bits fit a usize and come back unchanged.
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
        ThreadHandle(pthread_self() as usize)
    }

    /// Sends `signal` to the thread (`pthread_kill`).
    ///
    /// # Errors
    ///
    /// The errno of `pthread_kill(3)` (`ESRCH` once the thread has ended
    /// and been joined).
    pub fn signal(self, signal: Signal) -> nix::Result<()> {
        #[allow(clippy::unnecessary_cast)]
        pthread_kill(self.0 as Pthread, signal)
    }
}

/// Asserts that `res` is a clean refusal: [`Error::Unsupported`] (kind
/// [`Unsupported`](ErrorKind::Unsupported)) from `call` whose message
/// names `what`. `backend` names the selector in the panic message.
///
/// # Panics
///
/// When `res` is `Ok` or another error.
pub fn assert_unsupported<T: std::fmt::Debug>(
    res: sockpoll::Result<T>,
    backend: &str,
    call: &str,
    what: &str,
) {
    let err = match res {
        Ok(v) => {
            panic!("{backend}: {call} with {what} must be refused, never faked; got Ok({v:?})")
        }
        Err(e) => e,
    };
    assert!(
        matches!(err, Error::Unsupported { .. }),
        "{backend}: {call} with {what}: not Error::Unsupported: {err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{backend}: {err}");
    assert_eq!(err.call(), call, "{backend}: {err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("{call}: ")) && msg.contains(what),
        "{backend}: {msg}"
    );
}
