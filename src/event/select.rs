//! The `select(2)` backend.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;

use super::kit::same_file;
use super::registry::Registry;
use super::{
    flags, lock, shared_selector_methods, wait_with_deadline, Backend, Event, Events, Interest,
    LoopMeter, Mode, Notifier, OnSignal, Selector, Token,
};
use crate::error::{Error, Result};
use crate::sys::fd::FileId;
use crate::sys::select::{self as sys, WORD_BITS};

/// Readiness with [`select(2)`](https://man7.org/linux/man-pages/man2/select.2.html).
///
/// The read and write sets are bit arrays this selector allocates itself,
/// sized to the highest registered fd and rebuilt from its registry before
/// every call (`select` overwrites them, and the `timeval` too). `FD_SET` is
/// never used. On Linux the kernel takes sets of any size, so there is no
/// `FD_SETSIZE` limit ([`fd_limit`](Selector::fd_limit) is `None`);
/// elsewhere an fd at or above `FD_SETSIZE` is refused at `register` with
/// [`Error::FdLimit`](crate::error::Error::FdLimit). Cost per `wait` grows with the
/// highest registered fd number. The wait is `pselect(2)`: timeouts exact
/// to the nanosecond.
///
/// Modes: [`Mode::Level`] and [`Mode::Oneshot`] (emulated: the fd is left
/// out of the sets after one event until `reregister`). [`Mode::Edge`] is
/// [`Unsupported`](crate::error::Error::Unsupported).
///
/// # What `select` can and cannot report
///
/// `select` only says "a read (write) would not block". From that:
/// - [`is_read_closed`](Event::is_read_closed): for stream sockets and pipes
///   that are readable with nothing queued (`ioctl(FIONREAD)` = 0), which
///   means end of file or a pending error (a reset connection looks like
///   this too);
/// - [`is_error`](Event::is_error) and [`is_write_closed`](Event::is_write_closed)
///   are never set: learning about an error would consume it (`SO_ERROR`).
///   A reset connection is therefore readable and read-closed, without the
///   error flag `poll` and `epoll` add;
/// - [`is_invalid`](Event::is_invalid): a registered fd that was closed
///   makes `select` fail with `EBADF`; the selector then finds the closed
///   fds (`fcntl(F_GETFD)`), reports each once as invalid, leaves them out
///   of the sets (the number stays registered until it is deregistered or
///   registered for another file) and waits again for the remaining time.
///   `select` knows only the number: a number closed and reused before a
///   `wait` saw it closed is watched, under the old registration, as
///   whatever file now holds it, until then (see [Closing, dup and
///   fork](Selector#closing-dup-and-fork)).
///
/// # Threads
///
/// The sets belong to the waiting thread (its lock is the
/// one-waiter-at-a-time rule) and are rebuilt from the registry, which has
/// a lock of its own, before every `select` call. A change made while a
/// thread is blocked in `select` wakes it through an eventfd (a pipe
/// elsewhere) kept in the read set; it rebuilds and selects again for the
/// remaining time. [`notify`](Selector::notify) writes to the same eventfd.
#[doc(alias = "select")]
#[derive(Debug)]
pub struct SelectSelector {
    shared: Mutex<Shared>,
    waiter: Mutex<Waiter>,
    notifier: Notifier,
    /// [`Selector::metrics`].
    meter: LoopMeter,
}

/// What registration calls and the waiter share, under one lock.
#[derive(Debug, Default)]
struct Shared {
    reg: Registry<Extra>,
    /// A thread is in (or about to enter) `select` with sets built before
    /// the latest change: a change must wake it.
    blocked: bool,
}

/// The waiting thread's own state.
#[derive(Debug, Default)]
struct Waiter {
    read: Vec<libc::c_ulong>,
    write: Vec<libc::c_ulong>,
    /// The exception set: [`Interest::PRIORITY`].
    except: Vec<libc::c_ulong>,
    /// Where the next scan starts, so every ready fd gets its turn.
    start: usize,
}

/// What `select` keeps per registration, beside the shared fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Extra {
    /// A stream socket or pipe: "readable with 0 bytes queued" means end of
    /// file.
    stream_like: bool,
}

impl Extra {
    /// Looks at the file now at `fd` (the number may name another file
    /// than at the last `register`: closed and reused), with the one
    /// `fstat` that also gives the file's identity for the registry.
    fn of(fd: BorrowedFd<'_>) -> (Extra, Option<FileId>) {
        let st = crate::sys::fd::fstat(fd).ok();
        let stream_like =
            st.is_some_and(|st| sys::fd_kind(fd, st.format) == sys::FdKind::StreamLike);
        (Extra { stream_like }, st.map(|st| st.id))
    }
}

fn set_bit(set: &mut [libc::c_ulong], fd: usize) {
    if let Some(w) = set.get_mut(fd / WORD_BITS) {
        *w |= 1 << (fd % WORD_BITS);
    }
}

fn has_bit(set: &[libc::c_ulong], fd: usize) -> bool {
    set.get(fd / WORD_BITS)
        .is_some_and(|w| w & (1 << (fd % WORD_BITS)) != 0)
}

impl SelectSelector {
    /// Creates an empty selector, with the eventfd (a pipe elsewhere) that
    /// wakes its waiter.
    ///
    /// # Errors
    ///
    /// The kernel's error from `eventfd`/`pipe`, e.g. `EMFILE`.
    pub fn new() -> Result<SelectSelector> {
        Ok(SelectSelector {
            shared: Mutex::new(Shared::default()),
            waiter: Mutex::new(Waiter::default()),
            notifier: Notifier::new()?,
            meter: LoopMeter::new(),
        })
    }

    /// `deregister` and `deregister_raw`: only the registry knows the
    /// number, so whatever file is there now (or none) does not matter.
    fn deregister_raw_as(&self, call: &'static str, fd: RawFd) -> Result<()> {
        let mut shared = lock(&self.shared);
        shared.reg.remove(call, fd)?;
        self.notifier.wake_if(shared.blocked)
    }
}

/// Fills the sets from the registry, the notifier in the read set; returns
/// `nfds`.
fn build_sets(reg: &Registry<Extra>, notifier: RawFd, w: &mut Waiter) -> usize {
    let mut nfds = usize::try_from(notifier).map_or(0, |i| i + 1);
    for &fd in reg.dense() {
        if let (Some(e), Ok(i)) = (reg.get(fd), usize::try_from(fd)) {
            if e.armed {
                nfds = nfds.max(i + 1);
            }
        }
    }
    let words = sys::words_for(nfds);
    w.read.clear();
    w.read.resize(words, 0);
    w.write.clear();
    w.write.resize(words, 0);
    w.except.clear();
    w.except.resize(words, 0);
    if let Ok(i) = usize::try_from(notifier) {
        set_bit(&mut w.read, i);
    }
    for &fd in reg.dense() {
        if let (Some(e), Ok(i)) = (reg.get(fd), usize::try_from(fd)) {
            if e.armed && e.interest.is_readable() {
                set_bit(&mut w.read, i);
            }
            if e.armed && e.interest.is_writable() {
                set_bit(&mut w.write, i);
            }
            if e.armed && e.interest.is_priority() {
                set_bit(&mut w.except, i);
            }
        }
    }
    nfds
}

/// After `EBADF`: reports every armed fd that is closed as invalid once
/// and disarms it. Returns how many were found.
fn collect_closed(reg: &mut Registry<Extra>, events: &mut Events) -> usize {
    let mut found = 0;
    for slot in 0..reg.dense().len() {
        let fd = reg.dense()[slot];
        let Some(e) = reg.get_mut(fd) else {
            continue;
        };
        if !e.armed || sys::fd_is_open(fd) {
            continue;
        }
        if !events.push(Event::new(e.token, flags::INVALID, fd, e.generation)) {
            break;
        }
        e.armed = false;
        found += 1;
    }
    found
}

fn collect_ready(reg: &mut Registry<Extra>, w: &mut Waiter, events: &mut Events) -> usize {
    let len = reg.dense().len();
    let first = if w.start < len { w.start } else { 0 };
    for k in 0..len {
        let slot = (first + k) % len;
        let fd = reg.dense()[slot];
        let Ok(i) = usize::try_from(fd) else { continue };
        let (r, wr, x) = (
            has_bit(&w.read, i),
            has_bit(&w.write, i),
            has_bit(&w.except, i),
        );
        let Some(e) = reg.get_mut(fd) else {
            continue;
        };
        if !e.armed || !(r || wr || x) {
            continue;
        }
        let mut f = 0;
        if r && e.interest.is_readable() {
            f |= flags::READABLE;
            if e.extra.stream_like && sys::bytes_readable(fd) == Some(0) {
                f |= flags::READ_CLOSED;
            }
        }
        if wr && e.interest.is_writable() {
            f |= flags::WRITABLE;
        }
        if x && e.interest.is_priority() {
            f |= flags::PRIORITY;
        }
        if f == 0 {
            continue;
        }
        if !same_file(fd, e.file) {
            // Closed and reused before any wait saw it closed: another
            // file's readiness. Never the old token for it; stop watching
            // the number until it is registered again.
            e.armed = false;
            continue;
        }
        if !events.push(Event::new(e.token, f, fd, e.generation)) {
            break;
        }
        if e.mode.is_oneshot() {
            e.armed = false;
        }
        w.start = slot + 1;
    }
    events.len()
}

impl SelectSelector {
    /// [`Selector::wait`] and [`Selector::wait_interruptible`]: they
    /// differ only in what a signal does (`on_signal`).
    fn wait_as(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        on_signal: OnSignal,
    ) -> Result<usize> {
        let mut waiter = lock(&self.waiter);
        let notifier = self.notifier.fd().as_raw_fd();
        // At most one event per registered fd.
        events.prepare(lock(&self.shared).reg.dense().len());
        wait_with_deadline(&self.meter, timeout, on_signal, |remaining| {
            let nfds = {
                let mut shared = lock(&self.shared);
                shared.blocked = true;
                build_sets(&shared.reg, notifier, &mut waiter)
            };
            let Waiter {
                read,
                write,
                except,
                ..
            } = &mut *waiter;
            let selected = sys::pselect(nfds, read, write, except, remaining);
            let mut shared = lock(&self.shared);
            shared.blocked = false;
            let notified = match selected {
                Ok(0) => return Ok(None),
                Ok(_) if usize::try_from(notifier).is_ok_and(|i| has_bit(read, i)) => {
                    self.notifier.take()?
                }
                Ok(_) => false,
                Err(e) if e.raw_os_error() == Some(libc::EBADF) => {
                    // Nothing closed found: not our doing; do not loop on it.
                    return match collect_closed(&mut shared.reg, events) {
                        0 => Err(e),
                        n => Ok(Some(n)),
                    };
                }
                Err(e) => return Err(e),
            };
            let n = collect_ready(&mut shared.reg, &mut waiter, events);
            Ok((notified || n > 0).then_some(n))
        })
    }
}

impl Backend for SelectSelector {
    type Extra = Extra;
    const NAME: &'static str = "select";
    const EDGE: bool = false;
    const EXCLUSIVE: bool = false;

    fn with_registry<R>(&self, f: impl FnOnce(&Registry<Extra>) -> R) -> R {
        f(&lock(&self.shared).reg)
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    fn meter(&self) -> &LoopMeter {
        &self.meter
    }
}

impl Selector for SelectSelector {
    fn register(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check_mode("register", mode, interest)?;
        if let Some(limit) = self.fd_limit() {
            let raw = fd.as_raw_fd();
            if usize::try_from(raw).map_or(true, |i| i >= limit) {
                return Err(Error::FdLimit {
                    call: "register",
                    backend: self.name(),
                    fd: raw,
                    limit,
                });
            }
        }
        let (extra, file) = Extra::of(fd);
        let mut shared = lock(&self.shared);
        // A stale registration of the number (its file closed, the number
        // now `fd`'s) is replaced; the sets are rebuilt every call anyway.
        shared
            .reg
            .insert("register", fd, file, token, interest, mode, extra)?;
        self.notifier.wake_if(shared.blocked)
    }

    fn reregister(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check_mode("reregister", mode, interest)?;
        let (extra, file) = Extra::of(fd);
        let mut shared = lock(&self.shared);
        shared
            .reg
            .update("reregister", fd, file, token, interest, mode, extra)?;
        self.notifier.wake_if(shared.blocked)
    }

    fn deregister(&self, fd: BorrowedFd<'_>) -> Result<()> {
        self.deregister_raw_as("deregister", fd.as_raw_fd())
    }

    fn deregister_raw(&self, fd: RawFd) -> Result<()> {
        self.deregister_raw_as("deregister_raw", fd)
    }

    fn deregister_token(&self, token: Token) -> Result<usize> {
        let mut shared = lock(&self.shared);
        let n = shared.reg.remove_token("deregister_token", token)?;
        self.notifier.wake_if(shared.blocked)?;
        Ok(n)
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        self.wait_as(events, timeout, OnSignal::Restart)
    }

    fn wait_interruptible(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        self.wait_as(events, timeout, OnSignal::Return)
    }

    shared_selector_methods!();

    fn fd_limit(&self) -> Option<usize> {
        if cfg!(linux_like) {
            None
        } else {
            // FD_SETSIZE is usize on some targets, c_int on others.
            #[allow(clippy::useless_conversion)]
            usize::try_from(libc::FD_SETSIZE).ok()
        }
    }

    fn timeout_resolution(&self) -> Duration {
        // pselect takes a timespec.
        Duration::from_nanos(1)
    }
}
