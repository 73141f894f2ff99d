//! The `poll(2)` backend.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

use super::registry::{Entry, Registry};
use super::{
    flags, shared_selector_methods, timeout_ms, wait_with_deadline, Backend, Event, Events,
    Interest, Mode, Selector, Token,
};
use crate::error::Result;

#[cfg(any(target_os = "linux", target_os = "android"))]
const POLLRDHUP: libc::c_short = libc::POLLRDHUP;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const POLLRDHUP: libc::c_short = 0;

/// Readiness with [`poll(2)`](https://man7.org/linux/man-pages/man2/poll.2.html).
///
/// Keeps one `pollfd` array, rebuilt only when fds are added or removed, and
/// passes all of it on every `wait`: cost grows with the number of
/// registered fds. No fd-number limit. Modes: [`Mode::Level`] and
/// [`Mode::Oneshot`] (emulated: after one event the fd's slot is set to
/// `-1`, which `poll` skips, until `reregister`). [`Mode::Edge`] is
/// [`Unsupported`](crate::error::Error::Unsupported). Timeouts have millisecond
/// resolution, rounded up.
///
/// A registered fd that gets closed is reported once with
/// [`is_invalid`](Event::is_invalid) (`POLLNVAL`) and then left out of the
/// array; the number stays registered until `deregister`.
#[doc(alias = "poll")]
#[derive(Debug)]
pub struct PollSelector {
    reg: Registry,
    fds: Vec<libc::pollfd>,
    /// Set when fds were added or removed: `fds` needs a rebuild.
    dirty: bool,
    /// Where the next scan of the array starts, so that with more ready fds
    /// than room in `Events` every fd gets its turn.
    start: usize,
}

fn pollfd(fd: libc::c_int, e: &Entry) -> libc::pollfd {
    let mut events = 0;
    if e.interest.is_readable() {
        events |= libc::POLLIN | POLLRDHUP;
    }
    if e.interest.is_writable() {
        events |= libc::POLLOUT;
    }
    libc::pollfd {
        fd: if e.armed { fd } else { -1 },
        events,
        revents: 0,
    }
}

fn to_flags(revents: libc::c_short, interest: Interest) -> u8 {
    let has = |bits: libc::c_short| revents & bits != 0;
    let mut f = 0;
    if interest.is_readable()
        && has(libc::POLLIN | libc::POLLPRI | libc::POLLHUP | libc::POLLERR | POLLRDHUP)
    {
        f |= flags::READABLE;
    }
    if interest.is_writable() && has(libc::POLLOUT | libc::POLLERR | libc::POLLHUP) {
        f |= flags::WRITABLE;
    }
    if has(libc::POLLERR) {
        f |= flags::ERROR;
    }
    if has(libc::POLLHUP | POLLRDHUP) {
        f |= flags::READ_CLOSED;
    }
    if has(libc::POLLHUP) {
        f |= flags::WRITE_CLOSED;
    }
    if has(libc::POLLNVAL) {
        f |= flags::INVALID;
    }
    f
}

impl PollSelector {
    /// Creates an empty selector. Makes no system call.
    ///
    /// # Errors
    ///
    /// None today; the `Result` keeps the signature the same as the other
    /// backends'.
    pub fn new() -> Result<PollSelector> {
        Ok(PollSelector {
            reg: Registry::default(),
            fds: Vec::new(),
            dirty: false,
            start: 0,
        })
    }

    fn sync_slot(&mut self, fd: BorrowedFd<'_>) {
        if self.dirty {
            return;
        }
        let raw = fd.as_raw_fd();
        if let Some(e) = self.reg.get(raw) {
            if let Some(p) = self.fds.get_mut(e.slot) {
                *p = pollfd(raw, e);
            }
        }
    }
}

impl Backend for PollSelector {
    type Extra = ();
    const NAME: &'static str = "poll";
    const EDGE: bool = false;

    fn registry(&self) -> &Registry<()> {
        &self.reg
    }
}

impl Selector for PollSelector {
    fn register(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check_mode("register", mode)?;
        self.reg.insert("register", fd, token, interest, mode, ())?;
        self.dirty = true;
        Ok(())
    }

    fn reregister(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check_mode("reregister", mode)?;
        self.reg
            .update("reregister", fd, token, interest, mode, ())?;
        self.sync_slot(fd);
        Ok(())
    }

    fn deregister(&mut self, fd: BorrowedFd<'_>) -> Result<()> {
        self.reg.remove("deregister", fd)?;
        self.dirty = true;
        Ok(())
    }

    fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        // At most one event per registered fd.
        events.prepare(self.reg.dense().len());
        if self.dirty {
            self.fds.clear();
            for &fd in self.reg.dense() {
                if let Some(e) = self.reg.get(fd) {
                    self.fds.push(pollfd(fd, e));
                }
            }
            self.dirty = false;
        }
        let Self {
            reg, fds, start, ..
        } = self;
        wait_with_deadline(timeout, |remaining| {
            let ready = crate::sys::poll::poll(fds, timeout_ms(remaining))?;
            if ready == 0 {
                return Ok(0);
            }
            let len = fds.len();
            let first = if *start < len { *start } else { 0 };
            // poll counted the entries with revents set: stop once they are
            // all seen instead of scanning the whole array.
            let mut unseen = ready;
            for i in (first..len).chain(0..first) {
                if unseen == 0 {
                    break;
                }
                let p = &mut fds[i];
                if p.revents == 0 {
                    continue;
                }
                unseen -= 1;
                if p.fd < 0 {
                    continue;
                }
                let Some(e) = reg.get_mut(p.fd) else { continue };
                let f = to_flags(p.revents, e.interest);
                p.revents = 0;
                if f == 0 {
                    continue;
                }
                if !events.push(Event::new(e.token, f, p.fd, e.generation)) {
                    break;
                }
                if e.mode == Mode::Oneshot || f & flags::INVALID != 0 {
                    e.armed = false;
                    p.fd = -1;
                }
                *start = i + 1;
            }
            Ok(events.len())
        })
    }

    shared_selector_methods!();

    fn fd_limit(&self) -> Option<usize> {
        None
    }

    fn timeout_resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
}
