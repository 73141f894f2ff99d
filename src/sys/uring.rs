//! An io_uring instance for readiness: `io_uring_setup(2)` with the flags
//! the kernel has, `IORING_REGISTER_PROBE`, `POLL_ADD`/`ASYNC_CANCEL`
//! entries, and `io_uring_enter(2)` waits with an `IORING_ENTER_EXT_ARG`
//! timeout. The ring itself (mmap, heads and tails) is the `io-uring`
//! crate's; what is unsafe about it — pushing an entry the kernel will act
//! on later — is here, once, with the reason it is sound.
//!
//! # Ownership of what the kernel reads
//!
//! A `POLL_ADD` entry carries an fd *number*, a mask and a `user_data`
//! word; a cancel carries the `user_data` to match. No pointer, no
//! buffer: nothing in our memory must outlive the entry. The number is
//! looked up when the kernel issues the entry (during the `io_uring_enter`
//! that submits it), and from then on the request holds its own reference
//! to that *file*. So a number closed by the caller before the entry is
//! issued is `-EBADF` in its completion, a number closed after is harmless
//! (the request keeps the file alive until it completes or is removed), and
//! a reused number is at worst watched as the new file — which the event
//! layer catches by comparing the file's identity at each event. None of
//! these is memory unsafety: the kernel never touches a file through a
//! number after issue, nor our memory through the entry.
//!
//! The wait's timeout is a `__kernel_timespec` passed by pointer to
//! `io_uring_enter` (through `io_uring_getevents_arg`): it lives on the
//! stack of [`Ring::wait`] for the whole call, and the kernel copies it
//! before it returns. No `IORING_OP_TIMEOUT` entry (which would have to
//! keep its timespec alive until its completion) is used.

use std::io;
use std::mem::ManuallyDrop;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Once;
use std::time::Duration;

use io_uring::{cqueue, opcode, squeue, types, IoUring, Probe};

use super::time;
use crate::error::{Error, Result, Subject, UnavailableReason};

const BACKEND: &str = "uring";

/// The smallest submission queue a ring gets: room for a poll request and
/// the cancel of the one it replaces, which go in together.
pub(crate) const MIN_ENTRIES: u32 = 2;

/// How the ring was set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setup {
    /// `IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN` (Linux
    /// 6.1+), created `IORING_SETUP_R_DISABLED`: only the thread that
    /// [`enable`](Ring::enable)s it may submit and wait.
    SingleIssuer,
    /// No setup flags: any thread may submit.
    Plain,
}

#[cfg(test)]
thread_local! {
    /// Tests only: this thread's new rings take the path of a kernel
    /// without `SINGLE_ISSUER`/`DEFER_TASKRUN` (before 6.1).
    static FORCE_PLAIN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Tests only: makes this thread's [`Ring::new`] build a plain ring, as on
/// a kernel before 6.1 (`on = true`), or undoes that. Per thread.
#[cfg(test)]
pub(crate) fn force_plain(on: bool) {
    FORCE_PLAIN.with(|f| f.set(on));
}

fn plain_forced() -> bool {
    #[cfg(test)]
    return FORCE_PLAIN.with(std::cell::Cell::get);
    #[cfg(not(test))]
    false
}

/// One io_uring instance.
///
/// Dropped in the process that made it, it is closed and unmapped as usual.
/// Dropped in a forked child, only its descriptor is closed: the child has
/// no mapping of it (`MADV_DONTFORK`), and unmapping the parent's addresses
/// there would unmap whatever the child has mapped at them since — its own
/// new ring, say. The child's copy of the descriptor is its only share of
/// the parent's ring; closing it leaves the parent's ring as it is.
pub(crate) struct Ring {
    ring: ManuallyDrop<IoUring>,
    setup: Setup,
    origin: Origin,
}

impl Drop for Ring {
    fn drop(&mut self) {
        if self.origin.is_current() {
            // SAFETY: dropped once, here, and never used again.
            unsafe { ManuallyDrop::drop(&mut self.ring) };
        } else {
            // SAFETY: the descriptor is the IoUring's own, which is never
            // dropped in this process (so never closed twice); its memory
            // (the struct's pointers into the parent's mappings, absent
            // here) is left untouched, a small leak in the child.
            unsafe { libc::close(self.ring.as_raw_fd()) };
        }
    }
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("fd", &self.ring.as_raw_fd())
            .field("setup", &self.setup)
            .field("sq_entries", &self.ring.params().sq_entries())
            .field("cq_entries", &self.ring.params().cq_entries())
            .finish()
    }
}

fn unavailable(call: &'static str, reason: UnavailableReason, source: Option<io::Error>) -> Error {
    Error::Unavailable {
        call,
        backend: BACKEND,
        reason,
        source,
    }
}

/// `io_uring_setup`'s refusals that mean "not here", typed; anything else
/// (`EMFILE`, `ENOMEM`) is an ordinary OS error.
fn setup_error(e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::ENOSYS) => unavailable("io_uring_setup", UnavailableReason::Denied, Some(e)),
        Some(libc::EPERM) => unavailable("io_uring_setup", UnavailableReason::Disabled, Some(e)),
        Some(libc::EINVAL) => unavailable(
            "io_uring_setup",
            UnavailableReason::TooOld {
                missing: "io_uring_setup with a completion-queue size (Linux 5.5)",
            },
            Some(e),
        ),
        _ => Error::os("io_uring_setup", Subject::None, e),
    }
}

impl Ring {
    /// A ring of `entries` submission entries (at least [`MIN_ENTRIES`]; the
    /// kernel rounds up to a power of two and clamps to its maximum) and
    /// twice as many
    /// completions, with `IORING_SETUP_SINGLE_ISSUER |
    /// IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
    /// IORING_SETUP_R_DISABLED` where the kernel takes them (else without), mapped `MADV_DONTFORK` (a child
    /// process does not even see the rings). Checks what the backend needs:
    /// `IORING_FEAT_NODROP`, `IORING_FEAT_EXT_ARG`, multishot poll (its
    /// kernel, 5.13, is the first with `IORING_FEAT_RSRC_TAGS`), and the
    /// `POLL_ADD`/`ASYNC_CANCEL` opcodes by `IORING_REGISTER_PROBE`.
    pub(crate) fn new(entries: u32) -> Result<Ring> {
        let entries = entries.clamp(MIN_ENTRIES, 32_768);
        let cq = entries.saturating_mul(2);
        let fast = if plain_forced() {
            Err(io::Error::from_raw_os_error(libc::EINVAL))
        } else {
            IoUring::builder()
                .setup_single_issuer()
                .setup_defer_taskrun()
                .setup_taskrun_flag()
                .setup_r_disabled()
                .setup_cqsize(cq)
                .setup_clamp()
                .dontfork()
                .build(entries)
        };
        let (ring, setup) = match fast {
            Ok(ring) => (ring, Setup::SingleIssuer),
            // A kernel before 6.1 does not know the flags.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                let ring = IoUring::builder()
                    .setup_cqsize(cq)
                    .setup_clamp()
                    .dontfork()
                    .build(entries)
                    .map_err(setup_error)?;
                (ring, Setup::Plain)
            }
            Err(e) => return Err(setup_error(e)),
        };
        let p = ring.params();
        let too_old = |missing| {
            Err(unavailable(
                "io_uring_setup",
                UnavailableReason::TooOld { missing },
                None,
            ))
        };
        if !p.is_feature_nodrop() {
            return too_old("IORING_FEAT_NODROP (Linux 5.5)");
        }
        if !p.is_feature_ext_arg() {
            return too_old("IORING_FEAT_EXT_ARG (Linux 5.11)");
        }
        if !p.is_feature_resource_tagging() {
            return too_old("multishot IORING_OP_POLL_ADD (Linux 5.13)");
        }
        let mut probe = Probe::new();
        if let Err(e) = ring.submitter().register_probe(&mut probe) {
            return Err(match e.raw_os_error() {
                Some(libc::EINVAL) => unavailable(
                    "io_uring_register",
                    UnavailableReason::TooOld {
                        missing: "IORING_REGISTER_PROBE (Linux 5.6)",
                    },
                    Some(e),
                ),
                Some(libc::ENOSYS) => {
                    unavailable("io_uring_register", UnavailableReason::Denied, Some(e))
                }
                Some(libc::EPERM) => {
                    unavailable("io_uring_register", UnavailableReason::Disabled, Some(e))
                }
                _ => Error::os("io_uring_register", Subject::None, e),
            });
        }
        if !probe.is_supported(opcode::PollAdd::CODE) {
            return too_old("IORING_OP_POLL_ADD");
        }
        if !probe.is_supported(opcode::AsyncCancel::CODE) {
            return too_old("IORING_OP_ASYNC_CANCEL");
        }
        Ok(Ring {
            ring: ManuallyDrop::new(ring),
            setup,
            origin: Origin::here(),
        })
    }

    pub(crate) fn setup(&self) -> Setup {
        self.setup
    }

    /// (submission entries, completion entries), as the kernel sized them.
    pub(crate) fn entries(&self) -> (u32, u32) {
        let p = self.ring.params();
        (p.sq_entries(), p.cq_entries())
    }

    /// `IORING_REGISTER_ENABLE_RINGS`: a [`Setup::SingleIssuer`] ring
    /// belongs from now on to the calling thread. A no-op for a plain ring.
    pub(crate) fn enable(&self) -> Result<()> {
        if self.setup == Setup::Plain {
            return Ok(());
        }
        let fd = self.ring.as_raw_fd();
        self.ring
            .submitter()
            .register_enable_rings()
            .map_err(|e| Error::os("io_uring_register", Subject::Fd(fd), e))
    }

    /// `IORING_REGISTER_EVENTFD` (not the `_ASYNC` variant, which poll
    /// wake-ups never trigger): the kernel adds to the eventfd `fd` when
    /// the ring has work for its waiter — deferred wake-ups queued (on an
    /// empty list) or completions posted — unless [`eventfd_signals`] is
    /// off. Allowed from any thread until the ring is enabled, and on a
    /// plain ring.
    ///
    /// [`eventfd_signals`]: Ring::eventfd_signals
    pub(crate) fn register_eventfd(&self, fd: BorrowedFd<'_>) -> Result<()> {
        let ring_fd = self.ring.as_raw_fd();
        self.ring
            .submitter()
            .register_eventfd(fd.as_raw_fd())
            .map_err(|e| Error::os("io_uring_register", Subject::Fd(ring_fd), e))
    }

    /// Turns the registered eventfd's signals on or off
    /// (`IORING_CQ_EVENTFD_DISABLED`, a flag in the shared ring memory: no
    /// system call).
    pub(crate) fn eventfd_signals(&mut self, on: bool) {
        let cq = self.ring.completion();
        if on {
            cq.enable_eventfd();
        } else {
            cq.disable_eventfd();
        }
    }

    /// Whether completions wait in the queue to be popped.
    pub(crate) fn has_completions(&mut self) -> bool {
        !self.ring.completion().is_empty()
    }

    /// Queues a `POLL_ADD` of number `fd` for `mask` (`POLLIN`, …), one
    /// shot or `multi`shot, tagged `user_data`. False when the submission
    /// queue is full (submit, then push again).
    pub(crate) fn push_poll(&mut self, fd: RawFd, mask: u32, multi: bool, user_data: u64) -> bool {
        let entry = opcode::PollAdd::new(types::Fd(fd), mask)
            .multi(multi)
            .build()
            .user_data(user_data);
        self.push(&entry)
    }

    /// Queues the removal of the poll request tagged `target`, its own
    /// completion tagged `user_data`. False when the queue is full.
    ///
    /// `IORING_OP_ASYNC_CANCEL`, not `POLL_REMOVE`: a `POLL_REMOVE` of a
    /// poll whose wake-up work is pending answers `EALREADY` and leaves the
    /// request armed, holding its file. On a `DEFER_TASKRUN` ring that work
    /// waits until the ring's thread next enters the kernel, so a socket
    /// that became ready after the last wait, deregistered and closed,
    /// stayed open (its peer never saw the close). A cancel marks the poll
    /// cancelled whoever owns it, and the pending work completes it
    /// (`ECANCELED`) and drops the file. Both match the original
    /// `user_data`.
    pub(crate) fn push_remove(&mut self, target: u64, user_data: u64) -> bool {
        let entry = opcode::AsyncCancel::new(target)
            .build()
            .user_data(user_data);
        self.push(&entry)
    }

    fn push(&mut self, entry: &squeue::Entry) -> bool {
        let mut sq = self.ring.submission();
        // SAFETY: the entry is a POLL_ADD or ASYNC_CANCEL, which reference
        // no memory of ours — an fd number, a mask, user_data words — so
        // nothing must outlive it (see the module docs: the kernel takes
        // its own reference to the file when it issues the entry; a closed
        // number is EBADF in the completion, never a dangling access).
        unsafe { sq.push(entry) }.is_ok()
    }

    /// Makes room for `n` more entries: submits what is queued if fewer
    /// slots are free. False if there is still no room (the kernel took
    /// fewer, or answered `EBUSY`: drain completions first).
    pub(crate) fn make_room(&mut self, n: usize) -> Result<bool> {
        let free = |ring: &mut IoUring| {
            let sq = ring.submission();
            sq.capacity() - sq.len()
        };
        if free(&mut self.ring) >= n {
            return Ok(true);
        }
        match self.submit() {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => return Ok(false),
            Err(e) => return Err(e),
        }
        Ok(free(&mut self.ring) >= n)
    }

    /// Submits what is queued without waiting (a full queue is flushed
    /// this way). `EBUSY` (completions the kernel could not post yet) is
    /// returned for the caller to drain first.
    pub(crate) fn submit(&mut self) -> Result<usize> {
        let fd = self.ring.as_raw_fd();
        self.ring
            .submit()
            .map_err(|e| Error::os("io_uring_enter", Subject::Fd(fd), e))
    }

    /// Submits what is queued and waits for a completion, at most
    /// `timeout` (`None`: forever; `Some(0)`: runs deferred work, waits
    /// not). One `io_uring_enter(GETEVENTS | EXT_ARG)`. A timeout is
    /// `Ok`, as is a return with completions; `EINTR`, `EBUSY` and
    /// `EBADR` (completions dropped) are errors for the caller to sort.
    pub(crate) fn wait(&mut self, timeout: Option<Duration>) -> Result<()> {
        self.enter(1, timeout)
    }

    /// Runs the deferred work that is waiting ([`has_deferred_work`]),
    /// without waiting for more: up to `want` completions (the kernel runs
    /// at least 20 items of work an enter, and with `want` more keeps
    /// running them until `want` completions are posted or none is left).
    /// One `io_uring_enter(GETEVENTS | EXT_ARG)` with `min_complete` =
    /// `want` and a zero timeout. Errors as [`wait`](Ring::wait).
    ///
    /// [`has_deferred_work`]: Ring::has_deferred_work
    pub(crate) fn run_deferred(&mut self, want: usize) -> Result<()> {
        self.enter(want.max(1), Some(Duration::ZERO))
    }

    /// Whether the kernel holds deferred work for this ring
    /// (`IORING_SQ_TASKRUN`: on a `DEFER_TASKRUN` ring, poll wake-ups whose
    /// completions are not posted yet). One `io_uring_enter` runs a bounded
    /// number of them, so a burst of wake-ups needs several. Always false
    /// on a plain ring, whose completions are posted as they happen.
    pub(crate) fn has_deferred_work(&mut self) -> bool {
        self.setup == Setup::SingleIssuer && self.ring.submission().taskrun()
    }

    fn enter(&mut self, min_complete: usize, timeout: Option<Duration>) -> Result<()> {
        let fd = self.ring.as_raw_fd();
        let submitter = self.ring.submitter();
        let res = match timeout {
            None => submitter.submit_and_wait(min_complete),
            Some(t) => {
                let (secs, nanos) = time::secs_nanos(t);
                let ts = types::Timespec::new().sec(secs).nsec(nanos);
                let args = types::SubmitArgs::new().timespec(&ts);
                submitter.submit_with_args(min_complete, &args)
            }
        };
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::ETIME) => Ok(()),
            Err(e) => Err(Error::os("io_uring_enter", Subject::Fd(fd), e)),
        }
    }

    /// The next completion: (`user_data`, result, whether the request
    /// stays armed — `IORING_CQE_F_MORE`).
    pub(crate) fn pop(&mut self) -> Option<(u64, i32, bool)> {
        let cqe = self.ring.completion().next()?;
        Some((cqe.user_data(), cqe.result(), cqueue::more(cqe.flags())))
    }

    /// Whether the kernel holds completions that did not fit in the queue
    /// (`IORING_SQ_CQ_OVERFLOW`); the next `wait` moves them in.
    pub(crate) fn cq_overflowed(&mut self) -> bool {
        self.ring.submission().cq_overflow()
    }
}

/// Forks seen from this process's point of view: a forked child's copy is
/// one more than its parent's (bumped by [`forked_child`], the `child`
/// handler of `pthread_atfork(3)`, which libc's `fork` runs in the child
/// before `fork` returns there).
static FORKS: AtomicU64 = AtomicU64::new(0);
/// Whether the handler is registered; if `pthread_atfork` failed
/// (`ENOMEM`), [`Origin`] compares process ids instead.
static ATFORK: AtomicBool = AtomicBool::new(false);

extern "C" fn forked_child() {
    // Async-signal-safe: one atomic add, in the child's only thread.
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// The process a ring was made in, told apart from a forked child without
/// a system call per check (a `getpid(2)` per `wait` cost one more system
/// call per round).
///
/// A child made by libc's `fork` (what Rust's `Command` and `nix::unistd::fork`
/// use) is recognised by the `pthread_atfork` counter. A process made by a
/// raw `clone(2)` system call without libc is not; nor does it run any
/// other library's fork handlers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin {
    forks: u64,
    pid: u32,
}

impl Origin {
    /// The calling process.
    pub(crate) fn here() -> Origin {
        static REGISTER: Once = Once::new();
        REGISTER.call_once(|| {
            // SAFETY: pthread_atfork stores three function pointers (two
            // None); `forked_child` is a plain `extern "C" fn()` that lives
            // for the whole program (no library unload: it is in this
            // binary) and does only an atomic add, which is sound in a
            // child of a multi-threaded fork.
            let ret = unsafe { libc::pthread_atfork(None, None, Some(forked_child)) };
            ATFORK.store(ret == 0, Ordering::Relaxed);
        });
        Origin {
            forks: FORKS.load(Ordering::Relaxed),
            pid: std::process::id(),
        }
    }

    /// Whether this is still the process of [`here`](Origin::here): one
    /// relaxed load (the counter changes only in a new child, before any of
    /// its code runs).
    pub(crate) fn is_current(&self) -> bool {
        if ATFORK.load(Ordering::Relaxed) {
            FORKS.load(Ordering::Relaxed) == self.forks
        } else {
            std::process::id() == self.pid
        }
    }
}
