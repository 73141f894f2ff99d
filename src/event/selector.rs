//! The [`Selector`] trait and its contract, the same on every backend.

use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

#[cfg(doc)]
use super::Waker;
use super::{Event, Events, Interest, LoopMetrics, Mode, Token};
use crate::error::{Error, Result};

/// A readiness backend: register fds, then `wait` for events.
///
/// Object safe: `Box<dyn Selector>`, `Arc<dyn Selector>` and `&dyn Selector`
/// work, and `Box<S>`, `Arc<S>` and `&S` are themselves `Selector`s.
///
/// # One selector, many threads
///
/// Every method takes `&self` and every backend is `Send + Sync`: share a
/// selector with an `Arc` (polling's shape). While one thread is blocked in
/// [`wait`](Selector::wait), others may `register`, `reregister` and
/// `deregister`, and each change takes effect in that blocked wait at once:
/// a newly registered fd that is ready wakes it (epoll learns of it from
/// the kernel; poll and select wake their waiter through an internal
/// eventfd, rebuild their sets and wait on for the remaining time), and a
/// deregistered fd is never reported after `deregister` returns.
/// [`notify`](Selector::notify) ends a blocked wait from any thread without
/// a hand-registered [`Waker`].
///
/// One thread waits at a time: a `wait` called while another is blocked
/// waits for it to return first (it is queued on a lock), then runs as
/// usual. `next_event` may be called from any thread.
///
/// Why `&self` everywhere rather than mio's `&mut self` selector plus a
/// cloneable registry handle: one object to share, no second type per
/// backend, and `Arc<dyn Selector>` stays object safe. The price is a lock
/// on the hot path (uncontended: the waiter's lock and two short holds of
/// the registry lock per `wait`, one registry lock per `next_event`),
/// measured in BENCHMARKS.md.
///
/// # Stale events
///
/// Each registration gets a fresh generation number (every `register` and
/// `reregister`), and each collected [`Event`] remembers the fd number and
/// generation it came from. [`next_event`](Selector::next_event) hands out
/// only events whose registration is still the current one, so this loop is
/// safe even when handling one event deregisters, closes or re-registers
/// another fd of the same batch, and even if a new fd gets the same number:
///
/// ```
/// # use sockpoll::event::{Events, Selector};
/// # fn run(selector: &dyn Selector, events: &mut Events) -> sockpoll::Result<()> {
/// selector.wait(events, None)?;
/// while let Some(event) = selector.next_event(events) {
///     // handle `event`; may deregister other fds of this batch
/// #   let _ = event;
/// }
/// # Ok(())
/// # }
/// ```
///
/// [`Events::iter`] is the raw view, without that check.
///
/// # One contract on every backend
///
/// - Registering a file that is already registered under its fd number
///   fails with [`AlreadyExists`](std::io::ErrorKind::AlreadyExists)
///   (`EEXIST`); `reregister`/`deregister` of a number that is not
///   registered fail with [`NotFound`](std::io::ErrorKind::NotFound)
///   (`ENOENT`). Every backend keeps its own fd-indexed registry, which is
///   the single source of truth. A number registered for a file that has
///   been closed since is no obstacle: see [Closing, dup and
///   fork](Selector#closing-dup-and-fork).
/// - [`Mode::Level`] and [`Mode::Oneshot`] work everywhere (oneshot is
///   emulated on `poll` and `select` by disarming the fd after one event;
///   [`reregister`](Selector::reregister) re-arms it). [`Mode::Edge`] exists only on
///   `epoll` and `uring` (multishot poll); elsewhere `register` fails with
///   [`Error::Unsupported`] rather than faking it.
/// - A peer that closes (or shuts down its write side) makes a stream socket
///   [readable](Event::is_readable) and [read-closed](Event::is_read_closed).
///   A reset connection is readable and read-closed; `epoll` and `poll` also
///   set [error](Event::is_error) (see [`SelectSelector`](super::SelectSelector) for what `select`
///   cannot see).
/// - Events of a registration that was deregistered or re-registered after
///   the `wait` that collected them are never handed out by
///   [`next_event`](Selector::next_event) — not even to a new registration that reuses
///   the same fd number. See [`Selector`].
///
///
/// # Timeouts and `EINTR`
///
/// `wait(.., None)` blocks until an event is delivered; `Some(Duration::ZERO)`
/// polls and returns at once. Any other timeout is passed to the kernel to
/// the nanosecond (`ppoll`, `pselect`, `epoll_pwait2`), or rounded *up* to
/// whole milliseconds where the kernel lacks the precise call (a 100 µs
/// timeout never becomes a busy 0), and clamped (huge durations never
/// overflow). A `wait` that delivers no event
/// never returns before its timeout has elapsed — also when the kernel did
/// report something, but only for registrations that are gone (such a batch
/// is filtered, and the wait goes on with the remaining time; the same rule
/// on every backend).
///
/// **EINTR policy:** a signal that interrupts the system call inside `wait`
/// does not end the wait: the call is repeated with the *remaining* time
/// (the deadline is fixed when `wait` starts). To end a wait early — from
/// another thread or from a signal handler — use [`notify`](Selector::notify) or a
/// [`Waker`](super::Waker): its wake is an ordinary readiness event. A program whose
/// signal handlers only set a flag waits with
/// [`wait_interruptible`](Selector::wait_interruptible) instead: a signal then ends the wait
/// with [`Interrupted`](std::io::ErrorKind::Interrupted), on every backend.
///
///
/// # Spurious readiness and draining
///
/// An event is a hint, not a promise: the fd may turn out not to be ready
/// (another thread read first, a datagram with a bad checksum was dropped…).
/// Always use non-blocking fds and treat
/// [`WouldBlock`](std::io::ErrorKind::WouldBlock) as "wait again".
///
/// With [`Mode::Edge`] an fd is reported once per change, so read (or write)
/// until `WouldBlock`, or the fd may never be reported again. To keep one
/// busy peer from starving the others, drain with a budget (say 16 reads);
/// when the budget runs out before `WouldBlock`, remember the fd and come
/// back to it after serving the other events (or switch it to
/// [`Mode::Level`] with `reregister`).
///
///
/// # Closing, dup and fork
///
/// **Deregister before close.** `epoll` watches open file descriptions, not
/// fd numbers: a closed fd whose description lives on in a `dup` keeps being
/// reported (with its token), and `EPOLL_CTL_DEL` can no longer reach it —
/// it needs that file at that number. If an fd is closed while registered
/// anyway:
/// - `poll` and `select` report one event with
///   [`is_invalid`](Event::is_invalid) set (if a `wait` runs while the
///   number is closed), then stop watching the number;
/// - `epoll` silently forgets the closed description and reports nothing —
///   unless a `dup` keeps it open: then it is reported until the number is
///   deregistered, re-registered or registered afresh, and the epoll
///   backend then replaces its kernel instance to make the kernel let go
///   (see `EpollSelector`);
/// - `uring`'s poll requests hold their files: a closed socket stays open
///   (its peer sees no close) until the registration is dropped as below,
///   or reported closed (see `UringSelector`, "Deregister before close");
/// - on all four the registration stays until it is dropped in one of
///   these ways:
///   - `register` of the file that got the number next (a new connection,
///     say) replaces it: the new file is registered as usual, and no event
///     of the old registration — not even one collected before — is handed
///     out by [`next_event`](Selector::next_event) after that;
///   - [`deregister`](Selector::deregister) with the new file, or
///     [`deregister_raw`](Selector::deregister_raw) with the number, or
///     [`deregister_token`](Selector::deregister_token) with the token, when
///     the caller has no fd left;
///   - [`reregister`](Selector::reregister) with the new file moves the
///     registration to it on `select` and `epoll`; `poll` and `uring`
///     treat it as stale instead (see `reregister`).
///
///   On `epoll` each of these fails with [`Error::StillWatched`], changing
///   nothing, only when a `dup` keeps the closed file open and no new epoll
///   instance can be made.
///
/// **Telling files apart.** A registration remembers its file's identity,
/// `fstat`'s device and inode numbers (one `fstat(2)` per `register`;
/// `reregister` keeps it — `select` looks again, `epoll`'s `EPOLL_CTL_MOD`
/// proves the file unchanged, and `poll` and `uring` make no system call
/// there, since it is oneshot's re-arm, and check at the next event). A
/// `register` of a registered number is `AlreadyExists` when the file there
/// has the recorded identity, and replaces the registration when it has
/// another. Sockets and pipes each have an inode of their own; files that
/// share one look the same: a file opened twice, and on Linux all
/// anonymous-inode fds (eventfds — a [`Waker`](super::Waker) too —, epoll instances,
/// timerfds, signalfds…: they share the one anonymous inode). A number
/// reused by such a look-alike is `AlreadyExists` as before: drop the old
/// registration with `deregister_raw` or `deregister_token` first.
///
/// **Before the new fd is registered.** The kernel sees only fd numbers
/// on `poll` and `select`, and `uring`'s re-arms and level probe look the
/// number up again: a `wait` that runs after the number was reused,
/// before the new fd is registered, would find the new file under the old
/// registration. So they compare the identity of the file at the number
/// (`fstat`'s device and inode) with the registered one at every event they
/// deliver — one `fstat(2)` per event — and when it differs
/// they drop the event and stop watching the number: the old token is never
/// delivered for the new file. (`epoll` needs no check: it watches the
/// closed file, not the number.) Files that share an inode cannot be told
/// apart this way: on Linux every anonymous-inode fd (eventfd, epoll,
/// timerfd…) shares one.
///
/// **fork:** a child shares an `epoll` instance (and its registrations) with
/// its parent. A child that wants readiness makes its own selector and
/// registers what it needs; it must not use the parent's. (On `uring` the
/// child's `wait` fails with [`Error::Unavailable`]: the ring is not even
/// mapped in the child.) Dropping the parent's selector in the child is
/// safe on every backend, and only closes the child's copies of its
/// descriptors: nothing shared with the parent is touched (no `epoll_ctl`
/// on the shared instance, no unmapping of the ring) — the rule libevent,
/// mio and asyncio follow.
///
///
/// # Nesting a selector in another loop
///
/// `EpollSelector` and `UringSelector` implement [`AsFd`](std::os::fd::AsFd): a descriptor
/// that turns readable when the selector has something for a `wait`, to
/// register in another event loop (another selector, `poll(2)`, a
/// runtime's reactor), which then calls the nested selector's `wait` with
/// a zero timeout. For epoll it is the epoll instance; for uring an eventfd
/// the ring signals (the ring's own descriptor is not reported readable
/// when a registered file becomes ready: its completions wait for the
/// ring's thread). [`SelectSelector`](super::SelectSelector) and [`PollSelector`](super::PollSelector) have no kernel
/// object that stands for their registrations, so they cannot be nested;
/// give them a thread of their own, or nest an epoll or uring selector.
///
///
/// # Implementing it outside sockpoll
///
/// A backend of your own fills the caller's buffer in `wait` with
/// [`Events::prepare`], [`Event::for_registration`] (token, fd number and a
/// generation it changes at every `register`/`reregister`) and
/// [`Events::push`], and hands events out in `next_event` with
/// [`Events::next_current`], checking the fd number and generation against
/// its registry. The `sockpoll-conformance` crate of this repository runs
/// sockpoll's conformance suite against it.
pub trait Selector: Send + Sync {
    /// Starts watching `fd` for `interest`, reported with `token`.
    ///
    /// # Errors
    ///
    /// - [`AlreadyExists`](std::io::ErrorKind::AlreadyExists) if this file
    ///   is already registered under this fd number. A registration of the
    ///   number for a file that was closed since (the number now `fd`'s) is
    ///   not an error: it is dropped, and `fd` registered in its place, with
    ///   a fresh generation (it stays dropped if registering `fd` then
    ///   fails). Files are told apart by `fstat`'s device and inode; see
    ///   [Closing, dup and fork](Selector#closing-dup-and-fork) for the files
    ///   that look alike;
    /// - on `epoll`, [`Error::StillWatched`] if that closed file lives on in
    ///   a `dup` and the kernel could not be made to drop it; nothing is
    ///   changed;
    /// - [`Unsupported`](std::io::ErrorKind::Unsupported)
    ///   ([`Error::Unsupported`]) for a mode the backend lacks
    ///   ([`supports`](Selector::supports));
    /// - [`InvalidInput`](std::io::ErrorKind::InvalidInput)
    ///   ([`Error::FdLimit`]) for an fd at or above
    ///   [`fd_limit`](Selector::fd_limit);
    /// - the kernel's error otherwise (e.g. `EPERM` from `epoll_ctl` for a
    ///   regular file).
    fn register(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()>;

    /// Changes the token, interest and mode of a registered fd and re-arms a
    /// [`Mode::Oneshot`] registration. Events collected before it are stale.
    /// A call that fails changes nothing: the old registration stays in
    /// force (on `epoll`, should even that be impossible, the error is
    /// [`Error::Deregistered`] and the fd is no longer registered).
    ///
    /// It changes the registration of the file registered under the
    /// number. If that file was closed and `fd` is another file that got the
    /// number since, `select` and `epoll` see it at once and move the
    /// registration to `fd`'s file; `poll` and `uring`, which make no system
    /// call here, see it at the next event and treat the registration as
    /// stale: nothing is delivered for `fd` under it, and `register` of `fd`
    /// replaces it. Portable code registers a new file with
    /// [`register`](Selector::register).
    ///
    /// # Errors
    ///
    /// [`NotFound`](std::io::ErrorKind::NotFound) if the fd number is not
    /// registered; otherwise as [`register`](Selector::register). On
    /// `epoll`, [`Error::StillWatched`] as for
    /// [`deregister`](Selector::deregister).
    fn reregister(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()>;

    /// Stops watching `fd`. Call it before closing the fd.
    ///
    /// Succeeds for any registered number, even one whose fd was closed (and
    /// perhaps reused) since it was registered. It never reports success
    /// while the kernel still watches or holds the registered file: on
    /// `uring` it returns once the poll request is cancelled and completed,
    /// which may mean waiting for the thread blocked in `wait` to do it
    /// (see `UringSelector`). Without an fd at
    /// the number, use [`deregister_raw`](Selector::deregister_raw) or
    /// [`deregister_token`](Selector::deregister_token).
    ///
    /// # Errors
    ///
    /// - [`NotFound`](std::io::ErrorKind::NotFound) if the fd number is not
    ///   registered;
    /// - on `epoll`, [`Error::StillWatched`] if the registered file was
    ///   closed under this number but lives on in a `dup`, and the kernel
    ///   could not be made to drop it (see `EpollSelector`); the
    ///   registration is unchanged.
    fn deregister(&self, fd: BorrowedFd<'_>) -> Result<()>;

    /// Stops watching whatever is registered under fd number `fd`: for a
    /// registration whose fd the caller no longer has — closed without
    /// [`deregister`](Selector::deregister), the number perhaps reused by a
    /// file that is not registered, or by nothing yet.
    ///
    /// A raw number, where the rest of this trait borrows an fd, because
    /// there is no fd left to borrow: the registered file is closed, and
    /// the number names another file now, or none. That is safe for any
    /// number: nothing is done to whatever file is there (no I/O, no
    /// close); only this selector's registration under the number is
    /// removed (on `epoll`, `EPOLL_CTL_DEL` of the number, which changes
    /// only this epoll instance). For a registered fd that is still open it
    /// is [`deregister`](Selector::deregister).
    ///
    /// # Errors
    ///
    /// As [`deregister`](Selector::deregister):
    /// [`NotFound`](std::io::ErrorKind::NotFound) if the number is not
    /// registered; on `epoll`, [`Error::StillWatched`] if a `dup` keeps the
    /// closed file watched and the kernel could not be made to drop it (the
    /// registration is unchanged).
    fn deregister_raw(&self, fd: RawFd) -> Result<()>;

    /// Stops watching every registration whose token is `token`, and says
    /// how many there were (at least 1): for a caller that keeps its
    /// connections by token and no longer has the fd, nor its number.
    /// Tokens need not be unique; all registrations carrying this one are
    /// dropped, each as [`deregister_raw`](Selector::deregister_raw) of its
    /// number. Costs a scan of the registry (O(registered fds)).
    ///
    /// # Errors
    ///
    /// - [`NotFound`](std::io::ErrorKind::NotFound) if no registration has
    ///   the token;
    /// - on `epoll`, [`Error::StillWatched`] as for
    ///   [`deregister_raw`](Selector::deregister_raw): the registrations
    ///   with the token that could be dropped are dropped, the others stay
    ///   (call it again once fds are free).
    fn deregister_token(&self, token: Token) -> Result<usize>;

    /// Waits until at least one event is delivered or `timeout` elapses
    /// (`None`: forever), and fills `events` (cleared first) with at most
    /// `events.capacity()` events. Returns how many; 0 only for a timeout.
    ///
    /// A wait that delivers nothing never returns before `timeout`: neither
    /// `EINTR` nor a kernel batch whose events were all filtered as stale
    /// ends it; both are retried with the remaining time (see the
    /// [Timeouts and `EINTR`](Selector#timeouts-and-eintr)).
    ///
    /// # Errors
    ///
    /// The kernel's error from the wait call (e.g. `ENOMEM`); never
    /// `Interrupted` (see [`wait_interruptible`](Selector::wait_interruptible)). On `epoll`, [`Error::StillWatched`] if a registration
    /// the selector no longer knows kept firing and could not be dropped.
    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize>;

    /// As [`wait`](Selector::wait), except that a signal handled by this
    /// thread while it waits ends the wait: it returns an error of kind
    /// [`Interrupted`](std::io::ErrorKind::Interrupted) (`EINTR`), and
    /// `events` holds nothing. The opt-in for programs whose signal
    /// handlers only set a flag (CPython, `signal-hook`'s flag API, any
    /// embedder): they regain control, look at the flag, and wait again
    /// with the time that is left — restarting is theirs to do, as
    /// PEP 475 describes. [`wait`](Selector::wait) itself keeps restarting.
    ///
    /// A signal that arrives before the wait enters the kernel (between
    /// checking the flag and this call) does not end it. To close that
    /// window, have the handler also call [`notify`](Selector::notify)
    /// (one `write(2)`: async-signal-safe) or wake a registered
    /// [`Waker`]: the wait then ends as for any notification.
    ///
    /// The default implementation, for backends written outside sockpoll,
    /// refuses with [`Error::Unsupported`]; every sockpoll backend has it.
    ///
    /// # Errors
    ///
    /// As [`wait`](Selector::wait), and `Interrupted` for a signal.
    fn wait_interruptible(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        let _ = (events, timeout);
        Err(Error::Unsupported {
            call: "wait_interruptible",
            backend: self.name(),
            what: "a wait that a signal ends",
        })
    }

    /// The next event of the last [`wait`](Selector::wait) whose
    /// registration is still current (see [Stale events](Selector#stale-events)),
    /// or `None` when the batch is exhausted.
    fn next_event(&self, events: &mut Events) -> Option<Event>;

    /// Ends the [`wait`](Selector::wait) blocked in another thread, which
    /// returns the events it has (perhaps none, `Ok(0)`). With no thread
    /// waiting, the next `wait` returns at once. Notifications coalesce:
    /// many before a `wait` end one wait. Needs no registered [`Waker`]
    /// (the selector keeps its own eventfd, or pipe, in its kernel set);
    /// one `write(2)`, no allocation.
    ///
    /// # Errors
    ///
    /// Only an unexpected error of `write(2)`.
    fn notify(&self) -> Result<()>;

    /// What this selector's waits have done so far: waits, events
    /// delivered, time blocked in the kernel ([`LoopMetrics`], libuv's
    /// `uv_metrics_info` and `uv_metrics_idle_time`). Always on, on every
    /// backend; read from any thread without stopping the loop (relaxed
    /// atomics, no lock, no system call). Subtract two readings with
    /// [`LoopMetrics::since`] for an interval.
    ///
    /// The same on every backend: each call of [`wait`](Selector::wait) or
    /// [`wait_interruptible`](Selector::wait_interruptible) counts one wait
    /// and adds the `n` it returns to `events`; each system call it makes
    /// with a non-zero timeout adds its duration to `idle`, so a wait that
    /// times out after `t` adds at least `t`. A backend written outside
    /// sockpoll keeps a [`LoopMeter`](super::LoopMeter).
    fn metrics(&self) -> LoopMetrics;

    /// The backend's name, after its system call: `"select"`, `"poll"`,
    /// `"epoll"`, `"uring"`.
    fn name(&self) -> &'static str;

    /// Whether `register` accepts `mode`.
    fn supports(&self, mode: Mode) -> bool;

    /// One more than the highest fd number this backend can watch, or
    /// `None` when only the process fd limit applies.
    fn fd_limit(&self) -> Option<usize>;

    /// The granularity timeouts are rounded up to.
    fn timeout_resolution(&self) -> Duration;
}

/// `Box<S>`, `Arc<S>` and `&S` are selectors: each method forwards.
macro_rules! forward_selector {
    ($($ptr:ty),*) => {$(
        impl<S: Selector + ?Sized> Selector for $ptr {
            fn register(
                &self,
                fd: BorrowedFd<'_>,
                token: Token,
                interest: Interest,
                mode: Mode,
            ) -> Result<()> {
                (**self).register(fd, token, interest, mode)
            }

            fn reregister(
                &self,
                fd: BorrowedFd<'_>,
                token: Token,
                interest: Interest,
                mode: Mode,
            ) -> Result<()> {
                (**self).reregister(fd, token, interest, mode)
            }

            fn deregister(&self, fd: BorrowedFd<'_>) -> Result<()> {
                (**self).deregister(fd)
            }

            fn deregister_raw(&self, fd: RawFd) -> Result<()> {
                (**self).deregister_raw(fd)
            }

            fn deregister_token(&self, token: Token) -> Result<usize> {
                (**self).deregister_token(token)
            }

            fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
                (**self).wait(events, timeout)
            }

            fn wait_interruptible(
                &self,
                events: &mut Events,
                timeout: Option<Duration>,
            ) -> Result<usize> {
                (**self).wait_interruptible(events, timeout)
            }

            fn next_event(&self, events: &mut Events) -> Option<Event> {
                (**self).next_event(events)
            }

            fn notify(&self) -> Result<()> {
                (**self).notify()
            }

            fn name(&self) -> &'static str {
                (**self).name()
            }

            fn metrics(&self) -> LoopMetrics {
                (**self).metrics()
            }

            fn supports(&self, mode: Mode) -> bool {
                (**self).supports(mode)
            }

            fn fd_limit(&self) -> Option<usize> {
                (**self).fd_limit()
            }

            fn timeout_resolution(&self) -> Duration {
                (**self).timeout_resolution()
            }
        }
    )*};
}
forward_selector!(Box<S>, std::sync::Arc<S>, &S);
