//! The `epoll(7)` backend.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::registry::{token_not_found, Registry};
use super::{
    flags, lock, shared_selector_methods, wait_with_deadline, Backend, Event, Events, Interest,
    LoopMeter, Mode, Notifier, OnSignal, Selector, Token,
};
use crate::error::{Error, Result};
use crate::sys::epoll as sys;

/// Readiness with [`epoll(7)`](https://man7.org/linux/man-pages/man7/epoll.7.html).
///
/// `register`/`reregister`/`deregister` are
/// [`epoll_ctl(2)`](https://man7.org/linux/man-pages/man2/epoll_ctl.2.html)
/// calls; `wait` is
/// [`epoll_wait(2)`](https://man7.org/linux/man-pages/man2/epoll_wait.2.html)
/// with `maxevents` = [`Events::capacity`] (fewer while the buffers have
/// not grown that far: see [`Events::with_capacity`]), and costs O(ready
/// fds). All three
/// modes: [`Mode::Level`], [`Mode::Edge`] (`EPOLLET`) and [`Mode::Oneshot`]
/// (`EPOLLONESHOT`). The wait is `epoll_pwait2(2)` where the kernel has it
/// (Linux 5.11+): timeouts exact to the nanosecond; elsewhere `epoll_wait`
/// with timeouts rounded up to whole milliseconds (probed once per process;
/// [`timeout_resolution`](Selector::timeout_resolution) says which).
///
/// A registry beside the kernel's interest list makes the errors and tokens
/// the same as on the other backends, and tags each kernel registration
/// with (fd, generation) so stale events are recognised.
///
/// # Closed fds and `dup`
///
/// epoll watches open files, keyed by (file, fd number). When a registered
/// fd is closed and no `dup` keeps its file open, the kernel drops the
/// registration silently — no event, no [`is_invalid`](Event::is_invalid).
/// The number stays in the registry until it is deregistered (with the
/// file now at it, [`deregister_raw`](Selector::deregister_raw) or
/// [`deregister_token`](Selector::deregister_token)) or registered for
/// another file: the file that got the number next is never reported under
/// the old registration, since the kernel never watched it.
///
/// If a `dup` keeps the file open, the kernel keeps watching it under the
/// old number, and `EPOLL_CTL_DEL` cannot reach it any more: it needs that
/// file at that number, and the number is closed or names another file.
/// Until the number is deregistered or re-registered, or registered for the
/// file now at it, the old file's events are still delivered with its
/// token. Each of those calls on such a number (`register` only when the
/// file there is not the registered one: see [Closing, dup and
/// fork](Selector#closing-dup-and-fork)) asks the kernel whether it still
/// holds a registration there
/// (`kcmp(KCMP_EPOLL_TFD)`, or `/proc/self/fdinfo`; O(registered fds), only
/// on this path) and if so replace the epoll instance with a new one
/// holding every other registration — the only way to make the kernel let
/// go. If that cannot be done (no fd for a new instance), they fail with
/// [`Error::StillWatched`](crate::error::Error::StillWatched) and change nothing.
/// Should an unknown registration fire anyway, `wait` does the same rather
/// than spin on events it must drop.
///
/// A replaced instance carries every registration over as it was, with
/// two differences: an edge-triggered fd that is ready is reported once
/// more (a spurious event, which readiness allows), and a registration
/// whose file is no longer at its number is left out (the kernel had
/// dropped it, or kept it only through a dup); its number stays registered
/// until dropped, as above. A oneshot that fired in the old instance while
/// a wait was collecting it is delivered once: that wait takes it out of
/// the new instance again, and [`reregister`](Selector::reregister)
/// re-arms it as usual.
///
/// # Threads
///
/// Registration calls are `epoll_ctl` calls made under the registry's lock,
/// so they take effect in a wait blocked in another thread at once (the
/// kernel wakes it). The waiting thread holds a second lock, its event
/// buffer, for the whole wait. [`notify`](Selector::notify) writes to an
/// eventfd kept in the epoll set. Replacing the instance (above) while
/// another thread waits swaps the new instance in under the same fd number
/// (`dup3`) and wakes the waiter, which goes on waiting on the new one.
#[doc(alias = "epoll")]
#[derive(Debug)]
pub struct EpollSelector {
    ep: OwnedFd,
    reg: Mutex<Registry>,
    /// Bumped by every registration change: an unknown tag in a batch
    /// collected while it moved may be a change in flight, not a file the
    /// kernel kept against our will.
    changes: AtomicU64,
    /// Bumped by every replacement of the instance (`rebuild`): a batch
    /// collected from the old instance is not delivered.
    rebuilds: AtomicU64,
    /// The waiting thread's buffer; its lock is the one-waiter-at-a-time
    /// rule.
    buf: Mutex<Vec<libc::epoll_event>>,
    notifier: Notifier,
    /// [`Selector::metrics`].
    meter: LoopMeter,
}

/// The `data` of the notifier's registration: no (fd, generation) tag is
/// all ones, since a registered fd is never -1.
const NOTIFY_TAG: u64 = u64::MAX;

fn bits(interest: Interest, mode: Mode) -> u32 {
    let mut b = 0;
    if interest.is_readable() {
        b |= libc::EPOLLIN as u32;
        // The kernel takes EPOLLEXCLUSIVE with EPOLLIN, EPOLLOUT and
        // EPOLLET only (EINVAL otherwise): an exclusive registration learns
        // of a peer's shutdown through EPOLLIN/EPOLLHUP alone.
        if !interest.is_exclusive() {
            b |= libc::EPOLLRDHUP as u32;
        }
    }
    if interest.is_writable() {
        b |= libc::EPOLLOUT as u32;
    }
    if interest.is_priority() {
        b |= libc::EPOLLPRI as u32;
    }
    if interest.is_exclusive() {
        b |= libc::EPOLLEXCLUSIVE as u32;
    }
    if interest.is_none() {
        // epoll reports hang-ups and errors unasked; oneshot makes the
        // kernel disable the entry after the first, which NONE drops, so a
        // level-triggered hang-up cannot spin the wait.
        b |= libc::EPOLLONESHOT as u32;
    }
    if mode.is_edge() {
        b |= libc::EPOLLET as u32;
    }
    if mode.is_oneshot() {
        b |= libc::EPOLLONESHOT as u32;
    }
    b
}

/// The kernel's `data`: fd in the low half, the low 32 bits of the
/// generation in the high half. An event is read against the registry as
/// soon as `epoll_wait` returns it, so a stale one could pass for current
/// only if a multiple of 2³² registration changes were made in that
/// moment.
fn data(fd: RawFd, generation: u64) -> u64 {
    u64::from(fd as u32) | (generation << 32)
}

fn to_flags(ev: u32, interest: Interest) -> u8 {
    let has = |b: libc::c_int| ev & (b as u32) != 0;
    let mut f = 0;
    if interest.is_none() {
        return 0;
    }
    if interest.is_priority() && has(libc::EPOLLPRI) {
        f |= flags::PRIORITY;
    }
    if interest.is_readable()
        && (has(libc::EPOLLIN)
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
        let ep = sys::epoll_create1()?;
        let notifier = Notifier::new()?;
        add_notifier(ep.as_fd(), &notifier)?;
        Ok(EpollSelector {
            ep,
            reg: Mutex::new(Registry::default()),
            changes: AtomicU64::new(0),
            rebuilds: AtomicU64::new(0),
            buf: Mutex::new(Vec::with_capacity(64)),
            notifier,
            meter: LoopMeter::new(),
        })
    }
}

fn add_notifier(ep: BorrowedFd<'_>, notifier: &Notifier) -> Result<()> {
    sys::epoll_ctl(
        ep,
        libc::EPOLL_CTL_ADD,
        notifier.fd(),
        libc::EPOLLIN as u32,
        NOTIFY_TAG,
    )
}

/// How `reregister` changes the kernel's entry: `EPOLL_CTL_MOD`, or (for an
/// exclusive entry, which the kernel will not modify) `EPOLL_CTL_ADD` after
/// a `DEL` that removed it, or found it gone already.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReAdd {
    Modify,
    Deleted,
    WasGone,
}

/// `EPOLL_CTL_MOD`/`DEL` found no registration for the file at that number
/// (`ENOENT`) or no file at all (`EBADF`).
fn forgotten(e: &Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EBADF))
}

/// Replaces `ep` with a new epoll instance holding this selector's
/// registrations, all but `except`: closing the old one is the only way to
/// make the kernel drop a registration whose file is no longer at its
/// number (see [`EpollSelector`]). On error `ep` is left as it was.
///
/// A registration is carried over if the old instance holds it for the file
/// now at its number — probed with `EPOLL_CTL_MOD` to the same settings,
/// harmless on an instance about to be closed. One whose file was closed
/// is left out (the kernel had dropped it already), and so is a oneshot
/// that fired (the kernel kept it disarmed; `reregister` adds it back). An
/// `EPOLLEXCLUSIVE` registration refuses the `MOD` probe; it is carried
/// over when the file at its number has the registered identity.
///
/// A wait collecting a batch from the old instance meanwhile must not
/// deliver it: the fresh instance holds every registration carried over
/// armed, so a oneshot that fired in the old one would fire again. The
/// `rebuilds` counter tells the waiter (see `EpollSelector::wait`).
fn rebuild(
    ep: &OwnedFd,
    reg: &Registry,
    notifier: &Notifier,
    rebuilds: &AtomicU64,
    except: Option<RawFd>,
) -> Result<()> {
    let fresh = sys::epoll_create1()?;
    add_notifier(fresh.as_fd(), notifier)?;
    for &fd in reg.dense() {
        let Some(e) = reg.get(fd) else { continue };
        if Some(fd) == except || !e.armed {
            continue;
        }
        let (ev, tag) = (bits(e.interest, e.mode), data(fd, e.generation));
        if e.interest.is_exclusive() {
            // The kernel refuses EPOLL_CTL_MOD of an exclusive entry, so it
            // cannot be probed: carried over when the file at the number is
            // still the registered one (a closed number fails the ADD with
            // EBADF; a reused one holds another file, never to be watched
            // under this registration's token).
            if e.file.is_none() || crate::sys::fd::identity_of_number(fd) != e.file {
                continue;
            }
            match sys::epoll_ctl_raw(fresh.as_fd(), libc::EPOLL_CTL_ADD, fd, ev, tag) {
                Err(e) if !forgotten(&e) => return Err(e),
                _ => continue,
            }
        }
        match sys::epoll_ctl_raw(ep.as_fd(), libc::EPOLL_CTL_MOD, fd, ev, tag) {
            Ok(()) => sys::epoll_ctl_raw(fresh.as_fd(), libc::EPOLL_CTL_ADD, fd, ev, tag)?,
            Err(e) if forgotten(&e) => {}
            Err(e) => return Err(e),
        }
    }
    // The same number, the new instance: a wait blocked on the old one (in
    // another thread) is woken and goes round onto the new one, dropping
    // what it collected from the old one (the counter, bumped under the
    // registry's lock, tells it).
    crate::sys::fd::replace(ep, fresh)?;
    rebuilds.fetch_add(1, Ordering::Release);
    notifier.wake()
}

impl EpollSelector {
    /// After `EPOLL_CTL_DEL`/`MOD` of `fd` found nothing: if the kernel
    /// still watches another file under that number (closed there, alive in
    /// a dup), replaces the instance without it. `call` names the method
    /// for the error.
    fn drop_lingering(&self, reg: &Registry, call: &'static str, fd: RawFd) -> Result<()> {
        // Unknown (no kcmp, no /proc): replace anyway, which is always right.
        if sys::watches_number(self.ep.as_fd(), fd) == Some(false) {
            return Ok(());
        }
        rebuild(&self.ep, reg, &self.notifier, &self.rebuilds, Some(fd)).map_err(|source| {
            Error::StillWatched {
                call,
                fd,
                source: Box::new(source),
            }
        })
    }

    fn changed(&self) {
        self.changes.fetch_add(1, Ordering::Release);
    }

    /// The rest of `deregister`/`deregister_raw` of number `fd`, after
    /// `EPOLL_CTL_DEL` of it answered `del`: if the kernel had no
    /// registration for the file at that number, one for a closed file may
    /// linger (a `dup` keeps it open) and is dropped; then the number
    /// leaves the registry. On error nothing is removed.
    fn finish_deregister(
        &self,
        reg: &mut Registry,
        call: &'static str,
        fd: RawFd,
        del: Result<()>,
    ) -> Result<()> {
        match del {
            Ok(()) => {}
            Err(e) if forgotten(&e) => self.drop_lingering(reg, call, fd)?,
            Err(e) => return Err(e),
        }
        reg.remove(call, fd)?;
        self.changed();
        Ok(())
    }
}

/// The counters a wait reads before its `epoll_wait`, to learn afterwards
/// what changed while it was in the kernel.
#[derive(Debug, Clone, Copy)]
struct Before {
    changes: u64,
    rebuilds: u64,
}

impl EpollSelector {
    fn snapshot(&self) -> Before {
        Before {
            changes: self.changes.load(Ordering::Acquire),
            rebuilds: self.rebuilds.load(Ordering::Acquire),
        }
    }

    /// One batch of `epoll_wait` (in `buf`) into `events`: what `wait`'s
    /// rounds do after the system call. `Ok(None)` when there is nothing
    /// for the caller (see `wait_with_deadline`).
    fn collect(
        &self,
        buf: &[libc::epoll_event],
        events: &mut Events,
        before: Before,
    ) -> Result<Option<usize>> {
        let mut reg = lock(&self.reg);
        // The instance was replaced while this batch was collected (or just
        // before): every registration was carried over armed as the registry
        // had it, so a oneshot that fired here may be armed in the new
        // instance too. Such an event is delivered, and its registration is
        // taken out of the new instance (the registry says disarmed;
        // `reregister` adds it back), so that it cannot fire twice.
        let straddled = self.rebuilds.load(Ordering::Acquire) != before.rebuilds;
        let mut unknown = None;
        let mut notified = false;
        for kev in buf {
            let (ev, tag) = (kev.events, kev.u64);
            if tag == NOTIFY_TAG {
                notified |= self.notifier.take()?;
                continue;
            }
            let fd = (tag & 0xffff_ffff) as u32 as RawFd;
            let current = reg
                .get_mut(fd)
                .filter(|e| (e.generation & 0xffff_ffff) == (tag >> 32));
            let Some(e) = current else {
                unknown = Some(fd);
                continue;
            };
            if e.mode.is_oneshot() {
                // The kernel disarmed it; remembered for `rebuild`.
                if straddled && e.armed {
                    let _ = sys::epoll_ctl_del_raw(self.ep.as_fd(), fd);
                }
                e.armed = false;
            }
            let f = to_flags(ev, e.interest);
            if f != 0 {
                events.push(Event::new(e.token, f, fd, e.generation));
            }
        }
        // With no change made since this call began, the kernel holds
        // exactly what register/reregister/deregister left it, so a tag
        // that is not a current registration's comes from one it kept
        // against our will: a file closed under its number while a dup
        // kept it open. (A change in flight can explain an unknown tag;
        // the next round, with no change, decides.)
        if let Some(fd) = unknown.filter(|_| self.changes.load(Ordering::Acquire) == before.changes)
        {
            // Left alone, a level-triggered one fires on every call, and
            // this loop would spin dropping it: replace the instance.
            if let Err(source) = rebuild(&self.ep, &reg, &self.notifier, &self.rebuilds, None) {
                if events.is_empty() && !notified {
                    return Err(Error::StillWatched {
                        call: "wait",
                        fd,
                        source: Box::new(source),
                    });
                }
                // Deliver what came; the next wait tries again.
            }
        }
        Ok((notified || !events.is_empty()).then_some(events.len()))
    }
}

impl EpollSelector {
    /// [`Selector::wait`] and [`Selector::wait_interruptible`]: they
    /// differ only in what a signal does (`on_signal`).
    fn wait_as(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        on_signal: OnSignal,
    ) -> Result<usize> {
        let mut buf = lock(&self.buf);
        // At most one event per kernel registration: as many as this
        // selector's registry holds, and the notifier.
        let max = events.prepare(lock(&self.reg).dense().len() + 1);
        wait_with_deadline(&self.meter, timeout, on_signal, |remaining| {
            let before = self.snapshot();
            sys::epoll_pwait2(self.ep.as_fd(), &mut buf, max, remaining)?;
            self.collect(&buf, events, before)
        })
    }
}

impl Backend for EpollSelector {
    type Extra = ();
    const NAME: &'static str = "epoll";
    const EDGE: bool = true;
    const EXCLUSIVE: bool = true;

    fn with_registry<R>(&self, f: impl FnOnce(&Registry<()>) -> R) -> R {
        f(&lock(&self.reg))
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    fn meter(&self) -> &LoopMeter {
        &self.meter
    }
}

impl AsFd for EpollSelector {
    /// The epoll instance, which turns readable when this selector has
    /// events — for nesting it in another event loop (another selector,
    /// `poll(2)`, a runtime's reactor): register it for readability there,
    /// and call [`wait`](Selector::wait) (with a zero timeout, say) when
    /// it is reported. Like any epoll fd it stays readable while a
    /// level-triggered registration is ready.
    ///
    /// Only register it and wait on this selector: an `epoll_wait` or
    /// `epoll_ctl` made on it directly would take events from this
    /// selector, or change its registrations behind its registry (the
    /// borrow forbids closing it).
    ///
    /// The number is the same for the selector's life. When the selector
    /// replaces its instance — only after a registered fd was closed while
    /// a `dup` kept its file open (see [`EpollSelector`]) — the number
    /// names the new instance: an outer `poll`/`select` follows it, but an
    /// outer epoll instance's registration of it goes with the old
    /// instance, and must be made again. `deregister` before `close` and it
    /// never happens.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.ep.as_fd()
    }
}

impl Selector for EpollSelector {
    #[doc(alias = "epoll_ctl")]
    fn register(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check_mode("register", mode, interest)?;
        let file = crate::sys::fd::identity(fd).ok();
        let raw = fd.as_raw_fd();
        let mut reg = lock(&self.reg);
        if reg.is_stale(raw, file) {
            // Registered for a file that was closed there, the number now
            // `fd`'s: the registration is replaced. The kernel dropped the
            // closed file when it was closed, unless a dup keeps it open;
            // then it is dropped now (or nothing changes, StillWatched).
            self.drop_lingering(&reg, "register", raw)?;
        }
        let generation = reg
            .insert("register", fd, file, token, interest, mode, ())?
            .generation;
        let res = sys::epoll_ctl(
            self.ep.as_fd(),
            libc::EPOLL_CTL_ADD,
            fd,
            bits(interest, mode),
            data(raw, generation),
        );
        if res.is_err() {
            // Undo: the fd was not registered after all (a stale
            // registration it replaced stays gone).
            let _ = reg.remove("register", raw);
        }
        self.changed();
        res
    }

    /// Changes the registration. If the registered file is no longer at
    /// this number (closed; the number reused), registers the file that is
    /// there now, first dropping the old file's registration if a `dup`
    /// keeps the kernel watching it (see [`EpollSelector`]).
    ///
    /// # Errors
    ///
    /// As [`Selector::reregister`];
    /// [`Error::StillWatched`](crate::error::Error::StillWatched) if the old
    /// file's registration could not be dropped (nothing changed then).
    #[doc(alias = "epoll_ctl")]
    fn reregister(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check_mode("reregister", mode, interest)?;
        let raw = fd.as_raw_fd();
        let mut reg = lock(&self.reg);
        // A MOD that succeeds proves the registered file is still the one
        // at the number (the kernel keys registrations by file), so its
        // identity is kept without an fstat; only a file that took the
        // number over is looked at.
        let old = *reg.require("reregister", raw)?;
        let mut file = old.file;
        let generation = reg.peek_generation();
        let (ev, tag) = (bits(interest, mode), data(raw, generation));
        let op = if old.interest.is_exclusive() || interest.is_exclusive() {
            // The kernel refuses to modify an exclusive entry: delete it,
            // then add the new one (ENOENT below if it was already gone).
            match sys::epoll_ctl_del(self.ep.as_fd(), fd) {
                Err(e) if !forgotten(&e) => return Err(e),
                Ok(()) => ReAdd::Deleted,
                // The registered file was closed: a dup may keep the kernel
                // watching it under the number, which only a new instance
                // ends (see EpollSelector).
                Err(_) => {
                    self.drop_lingering(&reg, "reregister", raw)?;
                    ReAdd::WasGone
                }
            }
        } else {
            ReAdd::Modify
        };
        let res = match op {
            ReAdd::Modify => sys::epoll_ctl(self.ep.as_fd(), libc::EPOLL_CTL_MOD, fd, ev, tag),
            _ => sys::epoll_ctl(self.ep.as_fd(), libc::EPOLL_CTL_ADD, fd, ev, tag),
        };
        match res {
            // The kernel has no registration of this file under this number:
            // the registered one was closed. Register the file there now, as
            // poll and select would watch it.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && op == ReAdd::Modify => {
                self.drop_lingering(&reg, "reregister", raw)?;
                sys::epoll_ctl(self.ep.as_fd(), libc::EPOLL_CTL_ADD, fd, ev, tag)?;
                file = crate::sys::fd::identity(fd).ok();
            }
            // An exclusive entry was deleted and added: the add does not
            // prove the file unchanged, so look at it.
            Ok(()) if op != ReAdd::Modify => file = crate::sys::fd::identity(fd).ok(),
            Ok(()) => {}
            // The new settings were refused after the old entry was
            // deleted: put it back as it was, so that a failed reregister
            // changes nothing. Should that fail too, the fd is no longer
            // registered, and the error says so.
            Err(e) if op == ReAdd::Deleted => {
                let restored = sys::epoll_ctl(
                    self.ep.as_fd(),
                    libc::EPOLL_CTL_ADD,
                    fd,
                    bits(old.interest, old.mode),
                    data(raw, old.generation),
                );
                if restored.is_err() {
                    reg.remove("reregister", raw)?;
                    self.changed();
                    return Err(Error::Deregistered {
                        call: "reregister",
                        fd: raw,
                        source: Box::new(e),
                    });
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        reg.update("reregister", fd, file, token, interest, mode, ())?;
        self.changed();
        Ok(())
    }

    /// Stops watching `fd`. Succeeds for any registered number, even one
    /// whose file was closed (and the number perhaps reused); if a `dup`
    /// keeps that file open, the kernel's registration of it is dropped too
    /// (see [`EpollSelector`]).
    ///
    /// # Errors
    ///
    /// As [`Selector::deregister`];
    /// [`Error::StillWatched`](crate::error::Error::StillWatched) if the old
    /// file's registration could not be dropped (nothing changed then).
    #[doc(alias = "epoll_ctl")]
    fn deregister(&self, fd: BorrowedFd<'_>) -> Result<()> {
        let raw = fd.as_raw_fd();
        let mut reg = lock(&self.reg);
        reg.require("deregister", raw)?;
        let del = sys::epoll_ctl_del(self.ep.as_fd(), fd);
        self.finish_deregister(&mut reg, "deregister", raw, del)
    }

    /// Stops watching number `fd`: `EPOLL_CTL_DEL` of the number, which
    /// removes only this instance's registration of whatever file is there
    /// (none, if the registered one was closed); a closed file that a `dup`
    /// keeps watched is dropped as for [`deregister`](Selector::deregister).
    ///
    /// # Errors
    ///
    /// As [`Selector::deregister_raw`].
    #[doc(alias = "epoll_ctl")]
    fn deregister_raw(&self, fd: RawFd) -> Result<()> {
        let mut reg = lock(&self.reg);
        reg.require("deregister_raw", fd)?;
        let del = sys::epoll_ctl_del_raw(self.ep.as_fd(), fd);
        self.finish_deregister(&mut reg, "deregister_raw", fd, del)
    }

    /// Stops watching every registration with `token`, each as
    /// [`deregister_raw`](Selector::deregister_raw) of its number; closed
    /// files that `dup`s keep watched are all dropped with one replacement
    /// of the instance.
    ///
    /// # Errors
    ///
    /// As [`Selector::deregister_token`].
    #[doc(alias = "epoll_ctl")]
    fn deregister_token(&self, token: Token) -> Result<usize> {
        const CALL: &str = "deregister_token";
        let mut reg = lock(&self.reg);
        let (mut dropped, mut lingering) = (0, None);
        let mut below = reg.dense().len();
        while let Some((slot, fd)) = reg.find_token_below(below, token) {
            below = slot;
            match sys::epoll_ctl_del_raw(self.ep.as_fd(), fd) {
                Ok(()) => {}
                // Gone from the kernel with its file, or kept by a dup: the
                // second waits for the one replacement below.
                Err(e) if forgotten(&e) => {
                    if sys::watches_number(self.ep.as_fd(), fd) != Some(false) {
                        lingering.get_or_insert(fd);
                        continue;
                    }
                }
                Err(e) => {
                    self.changed();
                    return Err(e);
                }
            }
            reg.remove(CALL, fd)?;
            dropped += 1;
        }
        if let Some(fd) = lingering {
            // The replacement carries over only registrations whose file is
            // still at their number, so it leaves out every lingering one.
            if let Err(source) = rebuild(&self.ep, &reg, &self.notifier, &self.rebuilds, None) {
                self.changed();
                return Err(Error::StillWatched {
                    call: CALL,
                    fd,
                    source: Box::new(source),
                });
            }
            dropped += reg.remove_token(CALL, token)?;
        }
        self.changed();
        match dropped {
            0 => Err(token_not_found(CALL, token)),
            n => Ok(n),
        }
    }

    /// One or more `epoll_wait` calls, as [`Selector::wait`] says. The first
    /// sight of an event from a registration this selector does not know
    /// (see [`EpollSelector`]) replaces the epoll instance, so it cannot
    /// fire again.
    ///
    /// # Errors
    ///
    /// As [`Selector::wait`];
    /// [`Error::StillWatched`](crate::error::Error::StillWatched) if a
    /// registration this selector does not know kept firing and the epoll
    /// instance could not be replaced to stop it.
    #[doc(alias = "epoll_wait")]
    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        self.wait_as(events, timeout, OnSignal::Restart)
    }

    fn wait_interruptible(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        self.wait_as(events, timeout, OnSignal::Return)
    }

    shared_selector_methods!();

    fn fd_limit(&self) -> Option<usize> {
        None
    }

    /// 1 ns where the kernel has `epoll_pwait2` (Linux 5.11+), else 1 ms
    /// (`epoll_wait`, timeouts rounded up); probed once per process.
    fn timeout_resolution(&self) -> Duration {
        if sys::epoll_pwait2_available() {
            Duration::from_nanos(1)
        } else {
            Duration::from_millis(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;
    use std::sync::Arc;
    use std::time::Instant;

    use nix::sys::resource::{getrusage, UsageWho};
    use nix::sys::time::TimeValLike;

    use super::*;

    /// Where the kernel has no `epoll_pwait2` (forced here, for this thread
    /// only), the selector still waits, never less than asked: `epoll_wait`
    /// with the timeout rounded up to whole milliseconds.
    #[test]
    fn without_epoll_pwait2_waits_are_rounded_up_never_early() {
        crate::sys::epoll::force_epoll_wait_fallback(true);
        let sel = EpollSelector::new().unwrap();
        let (a, _b) = UnixStream::pair().unwrap();
        sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
            .unwrap();
        let mut events = Events::with_capacity(4);
        for want in [Duration::from_micros(100), Duration::from_micros(1500)] {
            let t = Instant::now();
            assert_eq!(sel.wait(&mut events, Some(want)).unwrap(), 0);
            let took = t.elapsed();
            assert!(
                took >= want.max(Duration::from_millis(1)),
                "{want:?}: {took:?}"
            );
        }
        crate::sys::epoll::force_epoll_wait_fallback(false);
    }
    use crate::event::Waker;

    fn thread_cpu() -> Duration {
        let u = getrusage(UsageWho::RUSAGE_THREAD).unwrap();
        let us = u.user_time().num_microseconds() + u.system_time().num_microseconds();
        Duration::from_micros(u64::try_from(us).unwrap_or(0))
    }

    /// A oneshot fires and its event is in a waiter's buffer (returned by
    /// `epoll_wait`, not yet recorded under the registry's lock) when
    /// another thread replaces the instance. The replacement carried the
    /// registration over armed; the event must still be delivered once
    /// only. The race is staged by hand: the waiter's halves (the system
    /// call, then `collect`) with a rebuild between them.
    #[test]
    fn a_oneshot_collected_across_a_rebuild_is_delivered_once() {
        let sel = EpollSelector::new().unwrap();
        let (a, _peer) = UnixStream::pair().unwrap();
        sel.register(a.as_fd(), Token(1), Interest::WRITABLE, Mode::Oneshot)
            .unwrap();
        let mut buf = Vec::with_capacity(8);
        let before = sel.snapshot();
        sys::epoll_pwait2(sel.ep.as_fd(), &mut buf, 8, Some(Duration::ZERO)).unwrap();
        assert_eq!(buf.len(), 1, "the oneshot fired");
        rebuild(&sel.ep, &lock(&sel.reg), &sel.notifier, &sel.rebuilds, None).unwrap();
        let mut events = Events::with_capacity(8);
        events.prepare(2);
        assert_eq!(sel.collect(&buf, &mut events, before).unwrap(), Some(1));
        assert_eq!(
            sel.next_event(&mut events).map(|e| e.token()),
            Some(Token(1))
        );
        // Not again: the replacement must not have it armed.
        let quiet = Some(Duration::from_millis(50));
        assert_eq!(sel.wait(&mut events, quiet).unwrap(), 0, "{events:?}");
        // reregister re-arms it as usual.
        sel.reregister(a.as_fd(), Token(2), Interest::WRITABLE, Mode::Oneshot)
            .unwrap();
        assert_eq!(
            sel.wait(&mut events, Some(Duration::from_secs(5))).unwrap(),
            1
        );
        assert_eq!(
            sel.next_event(&mut events).map(|e| e.token()),
            Some(Token(2))
        );
        assert_eq!(sel.wait(&mut events, quiet).unwrap(), 0, "{events:?}");
    }

    /// A kernel registration the selector does not know, that keeps firing
    /// (what a registered fd closed while a dup keeps its file open leaves
    /// behind), put there directly. `wait(None)` must neither return
    /// `Ok(0)` for it nor spin dropping it at every `epoll_wait`: the first
    /// sight of it replaces the instance, and the wait idles until the
    /// waker fires.
    #[test]
    fn unknown_registration_neither_ends_nor_spins_a_wait() {
        let sel = EpollSelector::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        b.write_all(b"x").unwrap();
        // Tagged with a generation the registry never gave out.
        let tag = data(a.as_raw_fd(), 0xdead);
        let ev = libc::EPOLLIN as u32;
        sys::epoll_ctl(sel.ep.as_fd(), libc::EPOLL_CTL_ADD, a.as_fd(), ev, tag).unwrap();
        let waker = Arc::new(Waker::new().unwrap());
        sel.register(waker.as_fd(), Token(9), Interest::READABLE, Mode::Level)
            .unwrap();
        let mut events = Events::with_capacity(8);

        let (start, cpu) = (Instant::now(), thread_cpu());
        let remote = Arc::clone(&waker);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            remote.wake()
        });
        let n = sel.wait(&mut events, None).unwrap();
        let (took, burnt) = (start.elapsed(), thread_cpu() - cpu);
        thread.join().unwrap().unwrap();
        assert_eq!(n, 1, "{events:?}");
        assert_eq!(
            sel.next_event(&mut events).map(|e| e.token()),
            Some(Token(9))
        );
        assert!(took >= Duration::from_millis(150), "{took:?}");
        assert!(
            burnt < Duration::from_millis(75),
            "burnt {burnt:?} in {took:?}"
        );
        // The kernel let go of it; the waker's registration carried over.
        let raw = a.as_raw_fd();
        assert_eq!(sys::watches_number(sel.ep.as_fd(), raw), Some(false));
        waker.reset().unwrap();
        let start = Instant::now();
        let n = sel
            .wait(&mut events, Some(Duration::from_millis(50)))
            .unwrap();
        assert_eq!(n, 0);
        assert!(start.elapsed() >= Duration::from_millis(50));
        waker.wake().unwrap();
        assert_eq!(
            sel.wait(&mut events, Some(Duration::from_secs(5))).unwrap(),
            1
        );
    }
}
