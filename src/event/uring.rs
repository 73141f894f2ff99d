//! The io_uring backend: readiness from `POLL_ADD` requests. This file
//! holds the selector, its ring's setup, submission and harvest;
//! `src/event/uring/probe.rs` level mode's probe, `src/event/uring/removal.rs` what makes
//! `deregister` let go of the file ("Deregister before close"),
//! `src/event/uring/nest.rs` the descriptor `as_fd` hands out for nesting, and
//! `src/event/uring/tests.rs` the unit tests.

use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::Mutex;
use std::thread::ThreadId;
use std::time::Duration;

use super::kit::{same_file, to_flags};
use super::registry::Registry;
use super::{
    flags, lock, LoopMeter, LoopMetrics, wait_with_deadline, Backend, Event, Events, Interest, Mode, Notifier, OnSignal,
    Selector, Token,
};
use crate::error::{Error, Result, UnavailableReason};
use crate::sys::uring::{Origin, Ring, Setup};

mod nest;
mod probe;
mod removal;

use nest::Nest;

/// Readiness with [`io_uring(7)`](https://man7.org/linux/man-pages/man7/io_uring.7.html)
/// `IORING_OP_POLL_ADD` requests (Linux 5.13+), on the `io-uring` crate's
/// ring.
///
/// # How each mode is made
///
/// - [`Mode::Level`]: a **multishot** `POLL_ADD`, re-armed when the
///   kernel ends it, **plus a probe**. A multishot poll posts a completion
///   per *wake-up* of the file (it is `EPOLLET` inside the kernel, and the
///   kernel refuses `IORING_POLL_ADD_LEVEL` on `POLL_ADD`: `EINVAL` on
///   6.18), never again for data that sits unread. So each `wait` first
///   asks `poll(2)`, with a zero timeout and in one call, about the level
///   registrations it delivered last time: those still ready are reported
///   again (after the completions, so that a small [`Events`] is shared
///   round-robin, as epoll's ready list is), the others leave the list
///   until their poll reports a change. An unread byte is thus reported on
///   every `wait`, as on the other backends, without a new request per
///   event: one `poll(2)` per `wait` instead of a re-arm per event (the
///   re-arm's cost is measured in `BENCHMARKS.md`).
/// - [`Mode::Oneshot`] and [`Mode::EdgeOneshot`]: one single-shot
///   `POLL_ADD`; [`reregister`](Selector::reregister) submits the next.
///   (epoll's `EPOLLET | EPOLLONESHOT` also reports a ready fd once at
///   arming, so the two are the same here.)
/// - [`Mode::Edge`]: a **multishot** `POLL_ADD`
///   (`IORING_POLL_ADD_MULTI`), one completion per wake-up like `EPOLLET`;
///   when the kernel ends it (a completion without `IORING_CQE_F_MORE`,
///   e.g. after a completion-queue overflow) it is re-armed, which reports
///   a still-ready fd once more (a spurious event, which readiness allows).
/// - [`Interest::NONE`]: no request at all. [`Interest::PRIORITY`]:
///   `POLLPRI`. [`Interest::EXCLUSIVE`]: `EPOLLEXCLUSIVE` in the request's
///   mask, which the kernel honours for io_uring polls as for epoll (one
///   connection to a listener watched by three selectors wakes one of
///   their waiters, in level and edge mode); refused with the oneshot
///   modes and with `PRIORITY`, as on epoll. Unlike epoll's, such a
///   registration still reports a peer's half-close (`POLLRDHUP` is
///   allowed with it here).
///
/// # Registrations are queued; the waiter submits
///
/// `register`, `reregister` and `deregister` change the registry (so
/// `AlreadyExists`/`NotFound` and the stale-event rule take effect when
/// they return) and queue the fd; the thread in [`wait`](Selector::wait)
/// turns the queue into `POLL_ADD`/`ASYNC_CANCEL` entries at the start of
/// each round, so they go to the kernel in the same `io_uring_enter` as the
/// wait. A change made while a thread is blocked wakes it through an
/// eventfd (a multishot poll in the same ring), and it goes on waiting with
/// the remaining time — Java NIO's `EPollSelectorImpl` queues interest
/// changes the same way.
///
/// # Deregister before close
///
/// A poll request holds its own reference to the file, so the kernel lets
/// go of a registered socket only when the request is cancelled and its
/// completion has run — and on a single-issuer ring only the owner thread
/// can do either. `deregister` (and `deregister_raw`, `deregister_token`)
/// returns only once that is done, so the socket you close next really
/// closes:
/// - called with no `wait` running by a thread that may enter the ring
///   (its owner, or any thread on a plain ring), it cancels and completes
///   the request itself;
/// - called while another thread waits, it wakes that thread, which does
///   it in its next round (or as its `wait` ends), and returns when it has;
/// - called while the owner is not waiting, it waits up to 50 ms for the
///   owner's next `wait` to do it; then (the owner may be gone, or waiting
///   for the caller) it replaces the ring with a new one, unowned until the
///   next `wait`, rebuilt from the registry, and closes the old ring: the
///   kernel then cancels the old ring's requests as it tears it down, a
///   moment later.
///
/// Close a registered socket *without* `deregister` and the request keeps
/// it open — no FIN for its peer — until the number is deregistered
/// (`deregister_raw`, `deregister_token`), registered for the file that
/// gets it next, reported closed by the level probe, or the selector is
/// dropped. (epoll drops a closed file at once, unless a `dup` keeps it.)
///
/// # The ring: setup, threads, size
///
/// Where the kernel has them (6.1+) the ring is set up with
/// `IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN` (measured in
/// the issue: the difference between costing more CPU per message than
/// epoll and less), else plain; [`ring_setup`](UringSelector::ring_setup)
/// says which. Such a ring accepts submissions from one thread only, so it
/// is created disabled (`IORING_SETUP_R_DISABLED`) and enabled by the
/// first thread that waits, which owns it from then on. A `wait` from
/// **another thread** later replaces the ring with a new one owned by that
/// thread, rebuilt from the registry (O(registered fds), like epoll's
/// rebuild: an edge-triggered fd that is ready is reported once more; a
/// fired oneshot stays disarmed). So waiting from one thread costs
/// nothing; alternating waiters pay a rebuild each time — for that, use
/// [`EpollSelector`](super::EpollSelector).
///
/// The ring starts with [`DEFAULT_ENTRIES`](UringSelector::DEFAULT_ENTRIES)
/// submission entries (or [`with_entries`](UringSelector::with_entries))
/// and twice as many completions. A full submission queue is submitted
/// and filled again. Completions that do not fit the completion queue are
/// kept by the kernel (`IORING_FEAT_NODROP`, required) and moved in as the
/// queue is drained, so no readiness is lost; the first overflow makes the
/// selector grow the ring to fit its registrations (rebuilt as above). If
/// the kernel ever reports completions dropped (`EBADR`), the ring is
/// rebuilt at once, which re-arms everything: level and oneshot
/// readiness is then reported again, never lost. `EBUSY` from a submit
/// means "drain first": the completions are harvested and the rest is
/// submitted in the next round.
///
/// # Stale completions and closed fds
///
/// Each request's `user_data` is the fd number and the low 32 bits of the
/// registration's generation; the waiter knows which generation's request
/// is in flight for each number (all 64 bits: a changed registration
/// always gets a new request), and a completion for any other (a removed
/// or replaced registration, a cancel's own answer, a request cancelled
/// with a replaced ring) is dropped — unless a multiple of 2³² changes
/// separate the two while the stale one is still in flight. A cancel names
/// the original `user_data`.
///
/// A request holds its own reference to the file, so closing a registered
/// fd does not end it, and a re-arm or the level probe looks the number up
/// again. So, as the `poll` backend does, every delivered event first
/// compares the file at the number with the registered one (`fstat`'s
/// device and inode, one `fstat(2)` per event): a closed number is
/// reported once as [`is_invalid`](Event::is_invalid) (when a re-arm or the
/// probe finds it closed) or dropped, a number reused by another file is
/// never reported under the old token, and either way the number is no
/// longer watched until it is registered again. See
/// [Closing, dup and fork](Selector#closing-dup-and-fork).
///
/// # Fork
///
/// The ring's memory is mapped `MADV_DONTFORK`, and a child process may do
/// nothing with a parent's ring: `wait` in a forked child fails with
/// [`Error::Unavailable`] ([`UnavailableReason::Forked`]) at once, before
/// it touches the ring or takes a lock (a parent thread blocked in `wait`
/// at the fork left the child's copy of the lock held). Make a new
/// selector in the child. Dropping the parent's selector there closes the
/// child's copies of its descriptors and nothing more: the parent's ring
/// is not unmapped (those addresses may hold the child's own ring by then)
/// and stays as it is in the parent. The child is
/// recognised without a system call per `wait`: a `pthread_atfork(3)`
/// handler counts forks, so a child made by libc's `fork` (Rust's
/// `Command`, `nix::unistd::fork`) is caught; one made by a raw `clone(2)`
/// system call, which runs no fork handlers, is not.
///
/// # Timeouts and `EINTR`
///
/// A wait is one `io_uring_enter(IORING_ENTER_GETEVENTS |
/// IORING_ENTER_EXT_ARG)` with the timeout as a relative
/// `__kernel_timespec` (exact to the nanosecond; no timeout entry in the
/// ring). `ETIME` is a timeout; `EINTR` is retried with the remaining
/// time, as on every backend.
#[doc(alias = "io_uring")]
#[derive(Debug)]
pub struct UringSelector {
    shared: Mutex<Shared>,
    /// Boxed: the ring's state and the waiter's buffers are some 700
    /// bytes, which would make every `AnySelector` that large.
    waiter: Mutex<Box<Waiter>>,
    notifier: Notifier,
    /// [`Selector::metrics`].
    meter: LoopMeter,
    /// The process that made the ring: any other is a fork.
    origin: Origin,
    /// How the current ring is set up and sized, for `ring_setup` and
    /// `ring_entries` to answer without the waiter's lock (which a `wait`
    /// holds throughout).
    ring_info: RingInfo,
    /// Signalled (with `shared`) when the waiter has carried out removals
    /// a `deregister` asked for.
    flushed: std::sync::Condvar,
    /// What `as_fd` hands out, for nesting this
    /// selector in another loop.
    nest: Nest,
}

/// How long a `deregister` from a thread that does not own a single-issuer
/// ring waits for the owner's next `wait` to submit the removal, before it
/// replaces the ring instead (see [`UringSelector`]).
const OWNER_GRACE: Duration = Duration::from_millis(50);

/// The current ring's setup and sizes, kept beside the ring (which only
/// the waiter may touch) whenever it is made or replaced.
#[derive(Debug)]
struct RingInfo {
    single_issuer: std::sync::atomic::AtomicBool,
    /// Submission entries in the high half, completions in the low.
    entries: std::sync::atomic::AtomicU64,
}

impl RingInfo {
    fn of(ring: &Ring) -> RingInfo {
        let info = RingInfo {
            single_issuer: std::sync::atomic::AtomicBool::new(false),
            entries: std::sync::atomic::AtomicU64::new(0),
        };
        info.set(ring);
        info
    }

    fn set(&self, ring: &Ring) {
        use std::sync::atomic::Ordering::Relaxed;
        let (sq, cq) = ring.entries();
        self.single_issuer
            .store(ring.setup() == Setup::SingleIssuer, Relaxed);
        self.entries
            .store((u64::from(sq) << 32) | u64::from(cq), Relaxed);
    }
}

/// What registration calls and the waiter share, under one lock.
#[derive(Debug, Default)]
struct Shared {
    reg: Registry,
    /// Numbers whose kernel request may not match the registry.
    dirty: Vec<RawFd>,
    /// `queued[fd]`: `fd` is in `dirty` (each number once).
    queued: Vec<bool>,
    /// A thread is in (or about to enter) its `io_uring_enter` with the
    /// queue as it was: a change must wake it.
    blocked: bool,
    /// Removals whose submission a `deregister` waits for: requests made,
    /// and the last one the waiter has carried out (see
    /// [`UringSelector::let_go`]).
    flush_asked: u64,
    flushed: u64,
}

impl Shared {
    /// Queues `fd` for the waiter; returns whether to wake a blocked one.
    fn mark(&mut self, fd: RawFd) -> bool {
        if let Ok(i) = usize::try_from(fd) {
            if self.queued.len() <= i {
                self.queued.resize(i + 1, false);
            }
            if !self.queued[i] {
                self.queued[i] = true;
                self.dirty.push(fd);
            }
        }
        self.blocked
    }
}

/// The waiting thread's state: the ring, and what is in flight in it.
#[derive(Debug)]
struct Waiter {
    ring: Ring,
    /// The thread a single-issuer ring was enabled for; `None` until the
    /// first wait.
    owner: Option<ThreadId>,
    /// Per fd number: the generation of the registration its poll request
    /// in the ring was made for (all of it: the request's `user_data`
    /// carries only 32 bits), or `IDLE`.
    kernel: Vec<u64>,
    /// Whether the notifier's multishot poll is in the ring.
    notify_armed: bool,
    /// An overflow (or drop) was seen: grow the ring at the next round.
    grow: bool,
    /// The current ring's signals to the nesting eventfd are on.
    nest_signals: bool,
    /// Level-mode registrations (fd, generation) delivered by the last
    /// `wait`: a multishot poll does not report data left unread, so the
    /// next `wait` asks `poll(2)` about these (see [`UringSelector`]).
    probe: Vec<(RawFd, u64)>,
    /// Those delivered by this `wait`: the next `probe`.
    probe_next: Vec<(RawFd, u64)>,
    /// Probed registrations still ready that did not fit in `events`:
    /// first in the next probe.
    probe_carry: Vec<(RawFd, u64)>,
    /// The probe's `pollfd`s, index for index with `probe`.
    probe_fds: Vec<libc::pollfd>,
    /// Per fd number: the `builds` stamp of the probe list it is in
    /// (each number once in the list).
    listed: Vec<u64>,
    builds: u64,
    /// Per fd number: the `wait` it last had an event in (one event per
    /// registration per `wait`, whether from the probe or a completion).
    seen: Vec<u64>,
    /// `wait` calls so far (from 1: `seen` is 0 for never).
    waits: u64,
}

/// No request in flight for this number (no generation is this large).
const IDLE: u64 = u64::MAX;
/// The notifier's poll. A poll request's tag has bit 31 clear (its low
/// half is a non-negative fd), these two have it set.
const NOTIFY_TAG: u64 = u64::MAX - 1;
/// A cancel's own completion.
const REMOVE_TAG: u64 = u64::MAX - 2;
/// The largest submission queue the kernel makes (`IORING_MAX_ENTRIES`).
const MAX_ENTRIES: u32 = 32_768;
/// The deferred work items one `io_uring_enter` runs at most when it asks
/// for fewer completions than this (`IO_LOCAL_TW_DEFAULT_MAX`, Linux 6.13+;
/// earlier kernels run them all).
const KERNEL_TASKRUN_BATCH: usize = 20;

/// A poll request's `user_data`: the fd number in the low half, the low 32
/// bits of the registration's generation in the high half. Which request
/// the ring should hold is decided on the whole generation (see
/// `Waiter::kernel`); a completion is matched on its tag, so a stale one
/// passes for current only when a multiple of 2³² registration changes
/// separate the two while it is still in flight.
fn tag(fd: RawFd, generation: u64) -> u64 {
    u64::from(fd as u32) | (generation << 32)
}

fn poll_mask(interest: Interest) -> u32 {
    let mut m = 0;
    if interest.is_readable() {
        m |= (libc::POLLIN | libc::POLLRDHUP) as u32;
    }
    if interest.is_writable() {
        m |= libc::POLLOUT as u32;
    }
    if interest.is_exclusive() {
        m |= libc::EPOLLEXCLUSIVE as u32;
    }
    if interest.is_priority() {
        // The kernel's poll wake-up filter leaves EPOLLPRI out (io_uring
        // keeps it for its internal polls: IO_ASYNC_POLL_COMMON), so a
        // request for POLLPRI alone is never woken. POLLRDBAND rides in
        // every readable wake-up of a socket and lets it through; sockets
        // do not report it themselves, so a PRIORITY-only request is not
        // completed by ordinary data.
        m |= (libc::POLLPRI | libc::POLLRDBAND) as u32;
    }
    m
}

/// `stamps[i]`, the vector grown to hold it (per-fd-number stamps: which
/// `wait` a number was reported in, which probe list it is in).
fn seen_slot(stamps: &mut Vec<u64>, i: usize) -> &mut u64 {
    if stamps.len() <= i {
        stamps.resize(i + 1, 0);
    }
    &mut stamps[i]
}

/// The calling thread's id, from a thread-local (`thread::current()` would
/// clone the thread's handle, two atomic operations, at every round).
fn this_thread() -> ThreadId {
    thread_local! {
        static ID: ThreadId = std::thread::current().id();
    }
    ID.with(|id| *id)
}

fn forked(call: &'static str) -> Error {
    Error::Unavailable {
        call,
        backend: "uring",
        reason: UnavailableReason::Forked,
        source: None,
    }
}

/// How a ring was set up ([`UringSelector::ring_setup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RingSetup {
    /// `IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN` (Linux
    /// 6.1+): one submitting thread, completions processed in its wait.
    SingleIssuerDeferTaskrun,
    /// A plain ring (older kernels): any thread may submit.
    Plain,
}

impl UringSelector {
    /// After a change queued for the waiter: wakes the thread blocked in
    /// `wait` (`blocked`), or else makes the nesting eventfd readable, so
    /// that an outer loop calls `wait`, which submits the change.
    fn wake_if(&self, blocked: bool) -> Result<()> {
        if blocked {
            self.notifier.wake()
        } else {
            self.nest.poke()
        }
    }
}

impl UringSelector {
    /// Submission entries of a new ring (completions: twice as many).
    pub const DEFAULT_ENTRIES: u32 = 256;

    /// Creates an io_uring instance of
    /// [`DEFAULT_ENTRIES`](UringSelector::DEFAULT_ENTRIES) entries
    /// ([`io_uring_setup(2)`](https://man7.org/linux/man-pages/man2/io_uring_setup.2.html)),
    /// with the eventfd that wakes its waiter.
    ///
    /// # Errors
    ///
    /// [`Error::Unavailable`] (kind
    /// [`Unsupported`](std::io::ErrorKind::Unsupported)) with the typed
    /// [`UnavailableReason`]: `Denied` (`ENOSYS`: seccomp, or not built
    /// in), `Disabled` (`EPERM`: `kernel.io_uring_disabled`), `TooOld`
    /// naming the missing feature or opcode (`EINVAL`, or
    /// `IORING_REGISTER_PROBE` does not list it). Otherwise the kernel's
    /// error (`EMFILE`, `ENOMEM`: e.g. the locked-memory limit on kernels
    /// before 5.12).
    #[doc(alias = "io_uring_setup")]
    pub fn new() -> Result<UringSelector> {
        UringSelector::with_entries(UringSelector::DEFAULT_ENTRIES)
    }

    /// As [`new`](UringSelector::new), with a ring of `entries`
    /// submission entries (at least 2 — a poll request and the cancel of
    /// the one it replaces go in together —, rounded up to a power of two,
    /// clamped to the kernel's maximum) and twice as many completions. It
    /// still grows when completions overflow it. Every size works: a full
    /// submission queue is submitted and filled again.
    ///
    /// # Errors
    ///
    /// As [`new`](UringSelector::new).
    #[doc(alias = "io_uring_setup")]
    pub fn with_entries(entries: u32) -> Result<UringSelector> {
        let nest = Nest::new()?;
        let ring = nest.new_ring(entries)?;
        let ring_info = RingInfo::of(&ring);
        Ok(UringSelector {
            shared: Mutex::new(Shared::default()),
            waiter: Mutex::new(Box::new(Waiter {
                ring,
                owner: None,
                kernel: Vec::new(),
                notify_armed: false,
                grow: false,
                nest_signals: false,
                probe: Vec::new(),
                probe_next: Vec::new(),
                probe_carry: Vec::new(),
                probe_fds: Vec::new(),
                listed: Vec::new(),
                builds: 0,
                seen: Vec::new(),
                waits: 1,
            })),
            notifier: Notifier::new()?,
            meter: LoopMeter::new(),
            origin: Origin::here(),
            ring_info,
            flushed: std::sync::Condvar::new(),
            nest,
        })
    }

    /// How the ring is set up: with `SINGLE_ISSUER | DEFER_TASKRUN`, or
    /// plain (kernels before 6.1). Answers at once, also while another
    /// thread waits.
    pub fn ring_setup(&self) -> RingSetup {
        use std::sync::atomic::Ordering::Relaxed;
        if self.ring_info.single_issuer.load(Relaxed) {
            RingSetup::SingleIssuerDeferTaskrun
        } else {
            RingSetup::Plain
        }
    }

    /// The ring's (submission, completion) queue sizes now; they grow
    /// after an overflow. Answers at once, also while another thread
    /// waits.
    pub fn ring_entries(&self) -> (u32, u32) {
        let both = self
            .ring_info
            .entries
            .load(std::sync::atomic::Ordering::Relaxed);
        ((both >> 32) as u32, both as u32)
    }

    fn check_fork(&self, call: &'static str) -> Result<()> {
        if self.origin.is_current() {
            Ok(())
        } else {
            Err(forked(call))
        }
    }

    fn deregister_raw_as(&self, call: &'static str, fd: RawFd) -> Result<()> {
        {
            let mut shared = lock(&self.shared);
            shared.reg.remove(call, fd)?;
            self.wake_if(shared.mark(fd))?;
        }
        self.let_go(&[fd])
    }

    /// Replaces the ring with a new one of `entries`, owned by this
    /// thread, and queues every registration to be armed in it.
    fn rebuild(&self, w: &mut Waiter, shared: &mut Shared, entries: u32) -> Result<()> {
        self.replace_ring(w, shared, entries, true)
    }

    /// As [`rebuild`](UringSelector::rebuild); the new ring is owned by
    /// this thread if `own`, else by the next thread that waits.
    fn replace_ring(
        &self,
        w: &mut Waiter,
        shared: &mut Shared,
        entries: u32,
        own: bool,
    ) -> Result<()> {
        let ring = self.nest.new_ring(entries)?;
        if own {
            ring.enable()?;
        }
        // The old ring goes: the kernel cancels its requests and drops
        // their files; completions not yet read go with it (each is
        // re-armed below, so none is lost).
        self.ring_info.set(&ring);
        w.ring = ring;
        w.owner = own.then(this_thread);
        w.kernel.iter_mut().for_each(|k| *k = IDLE);
        w.notify_armed = false;
        w.grow = false;
        w.nest_signals = false;
        let fds: Vec<RawFd> = shared.reg.dense().to_vec();
        for fd in fds {
            shared.mark(fd);
        }
        Ok(())
    }

    /// At the start of a round: the ring is this thread's and big enough.
    fn prepare(&self, w: &mut Waiter, shared: &mut Shared) -> Result<()> {
        let me = this_thread();
        let (sq, _) = w.ring.entries();
        if w.grow {
            w.grow = false;
            let want = u32::try_from(shared.reg.dense().len() + 1)
                .unwrap_or(u32::MAX)
                .max(sq.saturating_mul(2))
                .checked_next_power_of_two()
                .unwrap_or(MAX_ENTRIES)
                .min(MAX_ENTRIES);
            // At the kernel's largest ring, overflow is left to NODROP.
            // Growing is an optimisation: if no new ring can be had
            // (EMFILE, ENOMEM), the old one stays, unchanged — and then,
            // as for any ring, only its owner may submit (below).
            if want > sq && self.rebuild(w, shared, want).is_ok() {
                return Ok(());
            }
        }
        if w.ring.setup() == Setup::SingleIssuer && w.owner != Some(me) {
            if w.owner.is_none() {
                w.ring.enable()?;
                w.owner = Some(me);
            } else {
                // Another thread owns the ring: only it may submit.
                return self.rebuild(w, shared, sq);
            }
        }
        Ok(())
    }

    /// Turns the queue into entries: for each queued number, the request
    /// the registry wants (none, or a poll tagged with its generation)
    /// replaces the one in flight, if they differ. A full submission queue
    /// is submitted and filled again; on `EBUSY` the rest waits for the
    /// next round.
    fn sync(&self, w: &mut Waiter, shared: &mut Shared) -> Result<()> {
        if !w.notify_armed {
            let fd = self.notifier.fd().as_raw_fd();
            let mask = libc::POLLIN as u32;
            if !w.ring.make_room(1)? || !w.ring.push_poll(fd, mask, true, NOTIFY_TAG) {
                return Ok(());
            }
            w.notify_armed = true;
        }
        let mut list = std::mem::take(&mut shared.dirty);
        let mut done = 0;
        for &fd in &list {
            let Ok(i) = usize::try_from(fd) else {
                done += 1;
                continue;
            };
            let want = shared
                .reg
                .get(fd)
                .filter(|e| e.armed && !e.interest.is_none())
                .map(|e| {
                    let multi = matches!(e.mode, Mode::Edge | Mode::Level);
                    (e.generation, poll_mask(e.interest), multi)
                });
            if w.kernel.len() <= i {
                w.kernel.resize(i + 1, IDLE);
            }
            let cur = w.kernel[i];
            if want.map(|x| x.0) != Some(cur) {
                // Two entries at most; make room for both first.
                if !w.ring.make_room(2)? {
                    break;
                }
                if cur != IDLE {
                    w.ring.push_remove(tag(fd, cur), REMOVE_TAG);
                    w.kernel[i] = IDLE;
                }
                if let Some((generation, mask, multi)) = want {
                    w.ring.push_poll(fd, mask, multi, tag(fd, generation));
                    w.kernel[i] = generation;
                }
            }
            if let Some(q) = shared.queued.get_mut(i) {
                *q = false;
            }
            done += 1;
        }
        // What was not done stays queued, in order, before anything queued
        // since (nothing: the lock is held), keeping the buffer's memory.
        list.drain(..done);
        shared.dirty = list;
        Ok(())
    }

    /// Moves completions into `events` until it is full or none is left,
    /// asking the kernel for overflowed ones as the queue empties, and for
    /// the completions of deferred wake-ups it has not posted yet (one
    /// `io_uring_enter` runs only a few of them: a burst of wake-ups would
    /// otherwise be reported over several waits). Returns whether `notify`
    /// was among them.
    fn harvest(&self, w: &mut Waiter, shared: &mut Shared, events: &mut Events) -> Result<bool> {
        let mut notified = false;
        // The most deferred work items the enter that posted these could
        // run (the round's enter asks for one completion).
        let mut cap = KERNEL_TASKRUN_BATCH;
        // Bounded: each round moves at least one overflowed batch, or a
        // batch of deferred work, in.
        for _ in 0..1024 {
            let mut popped = 0;
            while !events.is_full() {
                let Some((ud, res, more)) = w.ring.pop() else {
                    break;
                };
                popped += 1;
                match ud {
                    NOTIFY_TAG => {
                        notified |= self.notifier.take()?;
                        if !more {
                            w.notify_armed = false;
                        }
                    }
                    REMOVE_TAG => {}
                    _ => self.deliver(w, shared, events, ud, res, more),
                }
            }
            if events.is_full() {
                break;
            }
            let overflowed = w.ring.cq_overflowed();
            // Deferred work left because the enter ran as many items as it
            // may (about one completion each): the rest of a burst that was
            // there when it ran. Work queued only since — a wake-up during
            // this harvest — is the next wait's, as for epoll a file that
            // turns ready after `epoll_wait` returned; entering for it here
            // would cost a system call a round under steady load.
            let capped = popped >= cap && w.ring.has_deferred_work();
            if !overflowed && !capped {
                break;
            }
            if overflowed {
                w.grow = true;
            }
            let room = events.room().saturating_sub(events.len());
            // The kernel stops at the completion queue's size too.
            let cq = usize::try_from(w.ring.entries().1).unwrap_or(usize::MAX);
            cap = room.min(cq).max(KERNEL_TASKRUN_BATCH);
            match w.ring.run_deferred(room) {
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) if e.raw_os_error() == Some(libc::EBADR) => {
                    // Completions were dropped: re-arm everything.
                    self.rebuild(w, shared, w.ring.entries().0.saturating_mul(2))?;
                    break;
                }
                other => other?,
            }
        }
        Ok(notified)
    }

    /// One poll completion: the in-flight bookkeeping, then an event if it
    /// belongs to the current registration and the file is still the
    /// registered one.
    fn deliver(
        &self,
        w: &mut Waiter,
        shared: &mut Shared,
        events: &mut Events,
        ud: u64,
        res: i32,
        more: bool,
    ) {
        let fd = (ud & 0xffff_ffff) as u32 as RawFd;
        let Some(slot) = usize::try_from(fd).ok().and_then(|i| w.kernel.get_mut(i)) else {
            return;
        };
        let generation = *slot;
        if generation == IDLE || tag(fd, generation) != ud {
            // A removed or replaced request's last word.
            return;
        }
        if !more {
            // The request is over: queue the number, so the next round
            // re-arms it if the registration still wants it (an ended
            // multishot).
            *slot = IDLE;
            shared.mark(fd);
        }
        let Some(e) = shared
            .reg
            .get_mut(fd)
            .filter(|e| e.generation == generation)
        else {
            return;
        };
        let f = match res {
            r if r >= 0 => to_flags((r & 0xffff) as u16 as libc::c_short, e.interest),
            r if r == -libc::EBADF => flags::INVALID,
            r if r == -libc::ECANCELED => 0,
            _ => flags::ERROR,
        };
        if f == 0 {
            return;
        }
        if e.file.is_none() {
            // Its identity could not be read at `register`: the file at
            // the number now is taken for the one the caller named.
            e.file = crate::sys::fd::identity_of_number(fd);
        } else if f & flags::INVALID == 0 && !same_file(fd, e.file) {
            // Closed, and the number perhaps reused: never the old token
            // for another file. Stop watching until registered again.
            e.armed = false;
            shared.mark(fd);
            return;
        }
        let waits = w.waits;
        // Non-negative: it indexed `kernel` above.
        let seen = seen_slot(&mut w.seen, fd as usize);
        if *seen == waits {
            // Reported in this `wait` already (by the probe, or a round
            // before).
            return;
        }
        if !events.push(Event::new(e.token, f, fd, e.generation)) {
            return;
        }
        *seen = waits;
        if e.mode.is_oneshot() || res < 0 {
            e.armed = false;
            if more {
                shared.mark(fd);
            }
        } else if e.mode == Mode::Level {
            w.probe_next.push((fd, e.generation));
        }
    }

    /// One wait round: prepare and sync under the lock, then one
    /// `io_uring_enter`, then the harvest.
    fn round(
        &self,
        w: &mut Waiter,
        events: &mut Events,
        remaining: Option<Duration>,
    ) -> Result<Option<usize>> {
        // The removals asked for until now go to the kernel in this round.
        let asked;
        {
            let mut shared = lock(&self.shared);
            self.prepare(w, &mut shared)?;
            if !w.nest_signals && self.nest.on() {
                // Nested (`as_fd`): the kernel tells the eventfd from now on.
                w.ring.eventfd_signals(true);
                w.nest_signals = true;
            }
            self.sync(w, &mut shared)?;
            asked = shared.dirty.is_empty().then_some(shared.flush_asked);
            Self::probe_fill(w, &shared);
            // From here a change must wake us: the probe's `poll` and the
            // ring wait both see the queue as it is now.
            shared.blocked = true;
        }
        // Still-ready level registrations: harvest what else is there
        // without blocking, then report them (`probe_deliver`).
        let probed = if w.probe_fds.is_empty() {
            Ok(0)
        } else {
            crate::sys::poll::poll(&mut w.probe_fds, 0)
        };
        let remaining = match probed {
            Ok(0) => remaining,
            Ok(_) => Some(Duration::ZERO),
            Err(e) => {
                lock(&self.shared).blocked = false;
                return Err(e);
            }
        };
        let waited = w.ring.wait(remaining);
        let mut shared = lock(&self.shared);
        shared.blocked = false;
        match waited {
            Ok(()) => {}
            // Completions the kernel could not post: drain them first.
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => w.grow = true,
            Err(e) if e.raw_os_error() == Some(libc::EBADR) => {
                let sq = w.ring.entries().0.saturating_mul(2);
                self.rebuild(w, &mut shared, sq)?;
                return Ok(None);
            }
            Err(e) => return Err(e),
        }
        let notified = self.harvest(w, &mut shared, events)?;
        self.probe_deliver(w, &mut shared, events);
        Self::probe_rebuild(w);
        if let Some(asked) = asked.filter(|&a| a > shared.flushed) {
            // A deregister waits: its cancel went in with this round's
            // enter; the completion (which drops the file) may still be
            // deferred work if the harvest stopped at a full `events`.
            self.settle(w)?;
            self.answer_flushes(&mut shared, asked);
        }
        Ok((notified || !events.is_empty()).then_some(events.len()))
    }
}

impl UringSelector {
    /// [`Selector::wait`] and [`Selector::wait_interruptible`]: they
    /// differ only in what a signal does (`on_signal`).
    fn wait_as(
        &self,
        events: &mut Events,
        timeout: Option<Duration>,
        on_signal: OnSignal,
    ) -> Result<usize> {
        // Before the lock: a thread that was in `wait` when the process
        // forked left the child's copy of the lock held for good.
        self.check_fork("wait")?;
        let mut w = lock(&self.waiter);
        w.waits += 1;
        // At most one event per registration.
        events.prepare(lock(&self.shared).reg.dense().len() + 1);
        let result = wait_with_deadline(&self.meter, timeout, on_signal, |remaining| {
            self.round(&mut w, events, remaining)
        });
        // A deregister that asked after the last round's submission would
        // otherwise wait for the next `wait`. (An error here leaves it to
        // the deregister's own way out; see `let_go`.)
        let mut shared = lock(&self.shared);
        if shared.flush_asked > shared.flushed && self.may_enter(&w) {
            let _ = self.flush(&mut w, &mut shared);
        }
        if self.nest.on() {
            // Nested: the eventfd says whether the next wait has anything.
            // The kernel signalled it for what this wait harvested too, so
            // it is cleared, and set again for what is left: the ring's
            // flags are read after the clearing, and the kernel sets them
            // before it signals, so a signal the clearing took is seen.
            self.nest.fd.reset()?;
            if self.left_for_the_next_wait(&mut w, &shared) {
                self.nest.poke()?;
            }
        }
        result
    }

    /// Whether the next `wait` has something to look at that no kernel
    /// signal will announce: completions not harvested (`events` was
    /// full), deferred work not run, changes not submitted, level
    /// registrations its probe will ask about.
    fn left_for_the_next_wait(&self, w: &mut Waiter, shared: &Shared) -> bool {
        !shared.dirty.is_empty()
            || !w.probe.is_empty()
            || (self.may_enter(w) && (w.ring.has_completions() || w.ring.has_deferred_work()))
    }
}

impl Backend for UringSelector {
    type Extra = ();
    const NAME: &'static str = "uring";
    const EDGE: bool = true;
    const EXCLUSIVE: bool = true;

    fn with_registry<R>(&self, f: impl FnOnce(&Registry<()>) -> R) -> R {
        f(&lock(&self.shared).reg)
    }

    fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    fn meter(&self) -> &LoopMeter {
        &self.meter
    }
}

impl Selector for UringSelector {
    /// Registers `fd` and queues its `POLL_ADD` for the waiter (see
    /// [`UringSelector`]); one `fstat(2)`, no io_uring call.
    ///
    /// # Errors
    ///
    /// As [`Selector::register`]
    /// ([`Unsupported`](std::io::ErrorKind::Unsupported) for
    /// [`Interest::EXCLUSIVE`] with a oneshot mode or with `PRIORITY`).
    fn register(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check_mode("register", mode, interest)?;
        let file = crate::sys::fd::identity(fd).ok();
        let mut shared = lock(&self.shared);
        // A stale registration of the number is replaced; its request (if
        // any) is removed by the waiter's sync.
        shared
            .reg
            .insert("register", fd, file, token, interest, mode, ())?;
        let wake = shared.mark(fd.as_raw_fd());
        self.wake_if(wake)
    }

    /// Changes the registration and queues the new request (which re-arms
    /// a fired oneshot). No system call unless a waiter must be woken.
    ///
    /// # Errors
    ///
    /// As [`Selector::reregister`].
    fn reregister(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        self.check_mode("reregister", mode, interest)?;
        let raw = fd.as_raw_fd();
        let mut shared = lock(&self.shared);
        // No fstat (oneshot's re-arm is hot): the recorded identity is
        // kept and checked at the next event, as on `poll`.
        let file = shared.reg.require("reregister", raw)?.file;
        shared
            .reg
            .update("reregister", fd, file, token, interest, mode, ())?;
        let wake = shared.mark(raw);
        self.wake_if(wake)
    }

    fn deregister(&self, fd: BorrowedFd<'_>) -> Result<()> {
        self.deregister_raw_as("deregister", fd.as_raw_fd())
    }

    fn deregister_raw(&self, fd: RawFd) -> Result<()> {
        self.deregister_raw_as("deregister_raw", fd)
    }

    fn deregister_token(&self, token: Token) -> Result<usize> {
        let n = {
            let mut shared = lock(&self.shared);
            let fds: Vec<RawFd> = shared
                .reg
                .dense()
                .iter()
                .copied()
                .filter(|&fd| shared.reg.get(fd).is_some_and(|e| e.token == token))
                .collect();
            let n = shared.reg.remove_token("deregister_token", token)?;
            let mut wake = false;
            for &fd in &fds {
                wake |= shared.mark(fd);
            }
            self.wake_if(wake)?;
            (n, fds)
        };
        self.let_go(&n.1)?;
        Ok(n.0)
    }

    /// One or more `io_uring_enter` calls, as [`Selector::wait`] says; the
    /// queued registration changes go to the kernel in the same call.
    ///
    /// # Errors
    ///
    /// As [`Selector::wait`]; [`Error::Unavailable`]
    /// ([`UnavailableReason::Forked`]) in a forked child; the kernel's
    /// error from `io_uring_enter` or, when the ring is replaced (another
    /// waiting thread, growth), from `io_uring_setup`.
    #[doc(alias = "io_uring_enter")]
    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        self.wait_as(events, timeout, OnSignal::Restart)
    }

    fn wait_interruptible(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        self.wait_as(events, timeout, OnSignal::Return)
    }

    fn next_event(&self, events: &mut Events) -> Option<Event> {
        self.with_registry(|reg| {
            events.next_current(|fd, generation| reg.is_current(fd, generation))
        })
    }

    fn notify(&self) -> Result<()> {
        self.notifier.notify()?;
        self.nest.poke()
    }

    /// `"uring"`.
    fn name(&self) -> &'static str {
        <Self as Backend>::NAME
    }

    fn metrics(&self) -> LoopMetrics {
        self.meter.read()
    }

    /// Every mode: edge through multishot poll.
    fn supports(&self, _mode: Mode) -> bool {
        true
    }

    fn fd_limit(&self) -> Option<usize> {
        None
    }

    /// 1 ns: the wait's timeout is a `__kernel_timespec`.
    fn timeout_resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
}

#[cfg(test)]
mod tests;
