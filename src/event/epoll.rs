//! The `epoll(7)` backend.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use super::registry::Registry;
use super::{
    flags, timeout_ms, wait_with_deadline, Event, Events, Interest, Mode, Selector, Token,
};
use crate::error::Result;
use crate::sys::epoll as sys;

/// Readiness with [`epoll(7)`](https://man7.org/linux/man-pages/man7/epoll.7.html).
///
/// `register`/`reregister`/`deregister` are
/// [`epoll_ctl(2)`](https://man7.org/linux/man-pages/man2/epoll_ctl.2.html)
/// calls; `wait` is
/// [`epoll_wait(2)`](https://man7.org/linux/man-pages/man2/epoll_wait.2.html)
/// with `maxevents` = [`Events::capacity`], and costs O(ready fds). All three
/// modes: [`Mode::Level`], [`Mode::Edge`] (`EPOLLET`) and [`Mode::Oneshot`]
/// (`EPOLLONESHOT`). Timeouts have millisecond resolution, rounded up.
///
/// A registry beside the kernel's interest list makes the errors and tokens
/// the same as on the other backends, and tags each kernel registration
/// with (fd, generation) so stale events are recognised.
///
/// epoll watches open file descriptions: when a registered fd is closed (and
/// not `dup`ed), the kernel drops it silently — no event, no
/// [`is_invalid`](Event::is_invalid). The number stays in the registry
/// until `deregister`, which then succeeds (the kernel's `ENOENT`/`EBADF`
/// for the forgotten fd is expected and ignored). If a `dup` keeps the
/// description open, the kernel keeps reporting it and nothing can remove
/// it: deregister before close.
#[doc(alias = "epoll")]
#[derive(Debug)]
pub struct EpollSelector {
    ep: OwnedFd,
    reg: Registry,
    buf: Vec<libc::epoll_event>,
}

fn bits(interest: Interest, mode: Mode) -> u32 {
    let mut b = 0;
    if interest.is_readable() {
        b |= (libc::EPOLLIN | libc::EPOLLRDHUP) as u32;
    }
    if interest.is_writable() {
        b |= libc::EPOLLOUT as u32;
    }
    match mode {
        Mode::Level => {}
        Mode::Edge => b |= libc::EPOLLET as u32,
        Mode::Oneshot => b |= libc::EPOLLONESHOT as u32,
    }
    b
}

/// The kernel's `data`: fd in the low half, the low 32 bits of the
/// generation in the high half.
fn data(fd: RawFd, generation: u64) -> u64 {
    u64::from(fd as u32) | (generation << 32)
}

fn to_flags(ev: u32, interest: Interest) -> u8 {
    let has = |b: libc::c_int| ev & (b as u32) != 0;
    let mut f = 0;
    if interest.is_readable()
        && (has(libc::EPOLLIN)
            || has(libc::EPOLLPRI)
            || has(libc::EPOLLHUP)
            || has(libc::EPOLLERR)
            || has(libc::EPOLLRDHUP))
    {
        f |= flags::READABLE;
    }
    if interest.is_writable() && (has(libc::EPOLLOUT) || has(libc::EPOLLERR) || has(libc::EPOLLHUP))
    {
        f |= flags::WRITABLE;
    }
    if has(libc::EPOLLERR) {
        f |= flags::ERROR;
    }
    if has(libc::EPOLLHUP) || has(libc::EPOLLRDHUP) {
        f |= flags::READ_CLOSED;
    }
    if has(libc::EPOLLHUP) {
        f |= flags::WRITE_CLOSED;
    }
    f
}

impl EpollSelector {
    /// Creates an epoll instance with `epoll_create1(EPOLL_CLOEXEC)`.
    ///
    /// # Errors
    ///
    /// The kernel's error: `EMFILE`/`ENFILE` when out of descriptors,
    /// `ENOMEM`.
    #[doc(alias = "epoll_create1")]
    pub fn new() -> Result<EpollSelector> {
        Ok(EpollSelector {
            ep: sys::epoll_create1()?,
            reg: Registry::default(),
            buf: Vec::with_capacity(64),
        })
    }
}

fn forgotten(e: &crate::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EBADF))
}

impl Selector for EpollSelector {
    #[doc(alias = "epoll_ctl")]
    fn register(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        let generation = self
            .reg
            .insert("register", fd, token, interest, mode)?
            .generation;
        let raw = fd.as_raw_fd();
        let res = sys::epoll_ctl(
            self.ep.as_fd(),
            libc::EPOLL_CTL_ADD,
            fd,
            bits(interest, mode),
            data(raw, generation),
        );
        if res.is_err() {
            // Undo: the fd was not registered after all.
            let _ = self.reg.remove("register", fd);
        }
        res
    }

    #[doc(alias = "epoll_ctl")]
    fn reregister(
        &mut self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.reg.require("reregister", fd)?;
        let generation = self.reg.peek_generation();
        let (ev, tag) = (bits(interest, mode), data(fd.as_raw_fd(), generation));
        let ep = self.ep.as_fd();
        match sys::epoll_ctl(ep, libc::EPOLL_CTL_MOD, fd, ev, tag) {
            // The kernel forgot a closed fd whose number now names another
            // file: register that file, as poll and select would watch it.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                sys::epoll_ctl(ep, libc::EPOLL_CTL_ADD, fd, ev, tag)?
            }
            res => res?,
        }
        self.reg.update("reregister", fd, token, interest, mode)?;
        Ok(())
    }

    #[doc(alias = "epoll_ctl")]
    fn deregister(&mut self, fd: BorrowedFd<'_>) -> Result<()> {
        self.reg.require("deregister", fd)?;
        match sys::epoll_ctl_del(self.ep.as_fd(), fd) {
            Err(e) if !forgotten(&e) => return Err(e),
            _ => {}
        }
        self.reg.remove("deregister", fd).map(drop)
    }

    #[doc(alias = "epoll_wait")]
    fn wait(&mut self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        // At most one event per kernel registration: as many as this
        // selector's registry holds.
        let max = events.prepare(self.reg.dense().len());
        let Self { ep, reg, buf } = self;
        wait_with_deadline(timeout, |remaining| {
            sys::epoll_wait(ep.as_fd(), buf, max, timeout_ms(remaining))?;
            for kev in buf.iter() {
                let (ev, tag) = (kev.events, kev.u64);
                let fd = (tag & 0xffff_ffff) as u32 as RawFd;
                let Some(e) = reg.get(fd) else { continue };
                // A registration this selector no longer knows (its fd was
                // closed while a dup kept it alive): not the current one.
                if (e.generation & 0xffff_ffff) != (tag >> 32) {
                    continue;
                }
                let f = to_flags(ev, e.interest);
                if f != 0 {
                    events.push(Event::new(e.token, f, fd, e.generation));
                }
            }
            Ok(events.len())
        })
    }

    fn next_event(&mut self, events: &mut Events) -> Option<Event> {
        events.next_current(|fd, generation| self.reg.is_current(fd, generation))
    }

    fn name(&self) -> &'static str {
        "epoll"
    }

    fn supports(&self, _mode: Mode) -> bool {
        true
    }

    fn fd_limit(&self) -> Option<usize> {
        None
    }

    fn timeout_resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
}
