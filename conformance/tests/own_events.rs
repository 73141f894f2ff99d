//! A `Selector` outside sockpoll that fills `Events` itself, through the
//! public API alone, and passes the whole harness.
//!
//! `Retagged<S>` uses its inner selector only as the kernel wait: it
//! registers each fd there under a token of its own (the fd number), keeps
//! its own registry (fd number → caller's token, generation), builds every
//! event it delivers with `Event::for_registration` and `Events::push`, and
//! filters stale ones in `next_event` with `Events::next_current` against
//! its own generations. That is what a backend written from scratch does
//! (a kqueue or io_uring one outside this crate), less the system calls.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use sockpoll::event::{
    Event, Events, Interest, LoopMeter, LoopMetrics, Mode, PollSelector, Selector, Token,
};
use sockpoll::Subject;
use sockpoll::{Error, Result};
use sockpoll_conformance::{conformance_tests, Capabilities};

/// The registration of an fd number: the caller's token and its generation.
type Registry = HashMap<RawFd, (Token, u64)>;

#[derive(Debug)]
struct Retagged<S> {
    inner: S,
    /// Held across each registration change, so that `wait` never tags an
    /// event of the inner selector with a registration made after it.
    reg: Mutex<(Registry, u64)>,
    /// The inner selector's batch (one waiter at a time).
    scratch: Mutex<Events>,
    /// Its own metrics: one wait of its own may be several of the inner's.
    meter: LoopMeter,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The inner token of fd number `fd`.
fn inner_token(fd: RawFd) -> Token {
    Token(usize::try_from(fd).unwrap_or(usize::MAX))
}

impl<S: Selector> Retagged<S> {
    fn new(inner: S) -> Retagged<S> {
        Retagged {
            inner,
            reg: Mutex::new((HashMap::new(), 0)),
            scratch: Mutex::new(Events::with_capacity(64)),
            meter: LoopMeter::new(),
        }
    }

    /// Records `token` for `fd` under a fresh generation.
    fn record(reg: &mut (Registry, u64), fd: RawFd, token: Token) {
        reg.1 += 1;
        reg.0.insert(fd, (token, reg.1));
    }

    /// The event the caller sees for the inner event `ev`, if its fd is
    /// registered here.
    fn retag(reg: &Registry, ev: &Event) -> Option<Event> {
        let fd = RawFd::try_from(ev.token().0).ok()?;
        let &(token, generation) = reg.get(&fd)?;
        let mut out = Event::for_registration(token, fd, generation);
        let flags = [
            (ev.is_readable(), Event::with_readable as fn(Event) -> Event),
            (ev.is_writable(), Event::with_writable),
            (ev.is_error(), Event::with_error),
            (ev.is_read_closed(), Event::with_read_closed),
            (ev.is_write_closed(), Event::with_write_closed),
            (ev.is_priority(), Event::with_priority),
            (ev.is_invalid(), Event::with_invalid),
        ];
        for (set, with) in flags {
            if set {
                out = with(out);
            }
        }
        Some(out)
    }

    /// The wait itself, without the counting.
    fn wait_retagged(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        let mut scratch = lock(&self.scratch);
        if scratch.capacity() != events.capacity() {
            *scratch = Events::with_capacity(events.capacity());
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut remaining = timeout;
        loop {
            // Not under the registry lock: registration goes on meanwhile.
            let n = self
                .meter
                .blocked(remaining, || self.inner.wait(&mut scratch, remaining))?;
            let reg = lock(&self.reg);
            events.prepare(reg.0.len());
            // The inner next_event filters what the inner selector knows
            // to be stale; the registry lock keeps the tags current.
            while let Some(ev) = self.inner.next_event(&mut scratch) {
                if let Some(out) = Self::retag(&reg.0, &ev) {
                    if !events.push(out) {
                        break;
                    }
                }
            }
            drop(reg);
            // Timed out or notified (0), or something delivered: done.
            if n == 0 || !events.is_empty() {
                return Ok(events.len());
            }
            // Everything was for registrations gone since: wait on.
            if let Some(deadline) = deadline {
                let now = Instant::now();
                if now >= deadline {
                    return Ok(0);
                }
                remaining = Some(deadline - now);
            }
        }
    }
}

impl<S: Selector> Selector for Retagged<S> {
    fn register(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        let mut reg = lock(&self.reg);
        let raw = fd.as_raw_fd();
        self.inner.register(fd, inner_token(raw), interest, mode)?;
        Self::record(&mut reg, raw, token);
        Ok(())
    }

    fn reregister(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        let mut reg = lock(&self.reg);
        let raw = fd.as_raw_fd();
        self.inner
            .reregister(fd, inner_token(raw), interest, mode)?;
        Self::record(&mut reg, raw, token);
        Ok(())
    }

    fn deregister(&self, fd: BorrowedFd<'_>) -> Result<()> {
        let mut reg = lock(&self.reg);
        self.inner.deregister(fd)?;
        reg.0.remove(&fd.as_raw_fd());
        Ok(())
    }

    fn deregister_raw(&self, fd: RawFd) -> Result<()> {
        let mut reg = lock(&self.reg);
        self.inner.deregister_raw(fd)?;
        reg.0.remove(&fd);
        Ok(())
    }

    fn deregister_token(&self, token: Token) -> Result<usize> {
        let mut reg = lock(&self.reg);
        let fds: Vec<RawFd> = reg
            .0
            .iter()
            .filter(|(_, &(t, _))| t == token)
            .map(|(&fd, _)| fd)
            .collect();
        if fds.is_empty() {
            return Err(Error::Os {
                call: "deregister_token",
                subject: Subject::Token(token.0),
                source: io::Error::from(io::ErrorKind::NotFound),
            });
        }
        for &fd in &fds {
            self.inner.deregister_raw(fd)?;
            reg.0.remove(&fd);
        }
        Ok(fds.len())
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        let result = self.wait_retagged(events, timeout);
        self.meter.record(*result.as_ref().unwrap_or(&0));
        result
    }

    fn next_event(&self, events: &mut Events) -> Option<Event> {
        let reg = lock(&self.reg);
        events.next_current(|fd, generation| reg.0.get(&fd).is_some_and(|&(_, g)| g == generation))
    }

    fn notify(&self) -> Result<()> {
        self.inner.notify()
    }

    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn metrics(&self) -> LoopMetrics {
        self.meter.read()
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

fn retagged_poll() -> Result<Retagged<PollSelector>> {
    Ok(Retagged::new(PollSelector::new()?))
}

// It keeps the trait's default `wait_interruptible` (Unsupported), as a
// backend written outside sockpoll may: declared, and checked as a refusal.
conformance_tests!(
    retagged,
    retagged_poll,
    Capabilities::level_only().name("poll").interruptible(false)
);
