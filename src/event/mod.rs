//! Readiness: one [`Selector`] trait, three backends that behave the same.
//!
//! Anything that implements [`AsFd`] can be registered:
//! std sockets and pipes, sockpoll's own sockets, a [`Waker`], an eventfd….
//!
//! # Backends
//!
//! | backend | call | cost per `wait` as fds grow | fd limit | modes | timeout resolution | choose it when |
//! |---|---|---|---|---|---|---|
//! | [`SelectSelector`] | [`select(2)`](https://man7.org/linux/man-pages/man2/select.2.html) | O(highest fd): sets rebuilt and scanned each call | Linux: none but the process limit (sets sized to the highest fd); elsewhere `FD_SETSIZE` ([`Error::FdLimit`] at `register`) | Level, Oneshot (emulated) | 1 ns (`pselect`) | portability to the oldest systems; a handful of fds |
//! | [`PollSelector`] | [`poll(2)`](https://man7.org/linux/man-pages/man2/poll.2.html) | O(registered fds): the whole array is copied in and scanned | process limit | Level, Oneshot (emulated) | 1 ns (`ppoll`) | portable, no fd-number limit, up to a few hundred fds |
//! | [`EpollSelector`] | [`epoll(7)`](https://man7.org/linux/man-pages/man7/epoll.7.html) | O(ready fds); registration is a syscall | process limit | Level, Edge, Oneshot | 1 ns (`epoll_pwait2`, Linux 5.11+), else 1 ms | Linux, many fds (the [`DefaultSelector`] there) |
//!
//! | `UringSelector` (feature `uring`, default on) | [`io_uring(7)`](https://man7.org/linux/man-pages/man7/io_uring.7.html) `POLL_ADD` | O(ready fds); registration is queued and rides in the next wait's `io_uring_enter` | process limit | Level, Edge (multishot), Oneshot | 1 ns (`IORING_ENTER_EXT_ARG`) | Linux 5.13+ where io_uring is allowed; one waiting thread |
//!
//! [`AnySelector`] picks one at run time, e.g. from the `SOCKPOLL_BACKEND`
//! environment variable; [`AnySelector::best`] takes the first that works
//! of uring, epoll and poll, and says why it passed over the others.
//!
//! # One contract on every backend
//!
//! - Registering a file that is already registered under its fd number
//!   fails with [`AlreadyExists`](std::io::ErrorKind::AlreadyExists)
//!   (`EEXIST`); `reregister`/`deregister` of a number that is not
//!   registered fail with [`NotFound`](std::io::ErrorKind::NotFound)
//!   (`ENOENT`). Every backend keeps its own fd-indexed registry, which is
//!   the single source of truth. A number registered for a file that has
//!   been closed since is no obstacle: see [Closing, dup and
//!   fork](self#closing-dup-and-fork).
//! - [`Mode::Level`] and [`Mode::Oneshot`] work everywhere (oneshot is
//!   emulated on `poll` and `select` by disarming the fd after one event;
//!   [`Selector::reregister`] re-arms it). [`Mode::Edge`] exists only on
//!   `epoll` and `uring` (multishot poll); elsewhere `register` fails with
//!   [`Error::Unsupported`] rather than faking it.
//! - A peer that closes (or shuts down its write side) makes a stream socket
//!   [readable](Event::is_readable) and [read-closed](Event::is_read_closed).
//!   A reset connection is readable and read-closed; `epoll` and `poll` also
//!   set [error](Event::is_error) (see [`SelectSelector`] for what `select`
//!   cannot see).
//! - Events of a registration that was deregistered or re-registered after
//!   the `wait` that collected them are never handed out by
//!   [`Selector::next_event`] — not even to a new registration that reuses
//!   the same fd number. See [`Selector`].
//!
//! # Timeouts and `EINTR`
//!
//! `wait(.., None)` blocks until an event is delivered; `Some(Duration::ZERO)`
//! polls and returns at once. Any other timeout is passed to the kernel to
//! the nanosecond (`ppoll`, `pselect`, `epoll_pwait2`), or rounded *up* to
//! whole milliseconds where the kernel lacks the precise call (a 100 µs
//! timeout never becomes a busy 0), and clamped (huge durations never
//! overflow). A `wait` that delivers no event
//! never returns before its timeout has elapsed — also when the kernel did
//! report something, but only for registrations that are gone (such a batch
//! is filtered, and the wait goes on with the remaining time; the same rule
//! on every backend).
//!
//! **EINTR policy:** a signal that interrupts the system call inside `wait`
//! does not end the wait: the call is repeated with the *remaining* time
//! (the deadline is fixed when `wait` starts). To end a wait early — from
//! another thread or from a signal handler — use [`Selector::notify`] or a
//! [`Waker`]: its wake is an ordinary readiness event. A program whose
//! signal handlers only set a flag waits with
//! [`Selector::wait_interruptible`] instead: a signal then ends the wait
//! with [`Interrupted`](std::io::ErrorKind::Interrupted), on every backend.
//!
//! # Spurious readiness and draining
//!
//! An event is a hint, not a promise: the fd may turn out not to be ready
//! (another thread read first, a datagram with a bad checksum was dropped…).
//! Always use non-blocking fds and treat
//! [`WouldBlock`](std::io::ErrorKind::WouldBlock) as "wait again".
//!
//! With [`Mode::Edge`] an fd is reported once per change, so read (or write)
//! until `WouldBlock`, or the fd may never be reported again. To keep one
//! busy peer from starving the others, drain with a budget (say 16 reads);
//! when the budget runs out before `WouldBlock`, remember the fd and come
//! back to it after serving the other events (or switch it to
//! [`Mode::Level`] with `reregister`).
//!
//! # Closing, dup and fork
//!
//! **Deregister before close.** `epoll` watches open file descriptions, not
//! fd numbers: a closed fd whose description lives on in a `dup` keeps being
//! reported (with its token), and `EPOLL_CTL_DEL` can no longer reach it —
//! it needs that file at that number. If an fd is closed while registered
//! anyway:
//! - `poll` and `select` report one event with
//!   [`is_invalid`](Event::is_invalid) set (if a `wait` runs while the
//!   number is closed), then stop watching the number;
//! - `epoll` silently forgets the closed description and reports nothing —
//!   unless a `dup` keeps it open: then it is reported until the number is
//!   deregistered, re-registered or registered afresh, and the epoll
//!   backend then replaces its kernel instance to make the kernel let go
//!   (see [`EpollSelector`]);
//! - `uring`'s poll requests hold their files: a closed socket stays open
//!   (its peer sees no close) until the registration is dropped as below,
//!   or reported closed (see `UringSelector`, "Deregister before close");
//! - on all four the registration stays until it is dropped in one of
//!   these ways:
//!   - `register` of the file that got the number next (a new connection,
//!     say) replaces it: the new file is registered as usual, and no event
//!     of the old registration — not even one collected before — is handed
//!     out by [`Selector::next_event`] after that;
//!   - [`deregister`](Selector::deregister) with the new file, or
//!     [`deregister_raw`](Selector::deregister_raw) with the number, or
//!     [`deregister_token`](Selector::deregister_token) with the token, when
//!     the caller has no fd left;
//!   - [`reregister`](Selector::reregister) with the new file moves the
//!     registration to it.
//!
//!   On `epoll` each of these fails with [`Error::StillWatched`], changing
//!   nothing, only when a `dup` keeps the closed file open and no new epoll
//!   instance can be made.
//!
//! **Telling files apart.** A registration remembers its file's identity,
//! `fstat`'s device and inode numbers (one `fstat(2)` per `register`;
//! `reregister` keeps it — `select` looks again, `epoll`'s `EPOLL_CTL_MOD`
//! proves the file unchanged, and `poll` and `uring` make no system call
//! there, since it is oneshot's re-arm, and check at the next event). A
//! `register` of a registered number is `AlreadyExists` when the file there
//! has the recorded identity, and replaces the registration when it has
//! another. Sockets and pipes each have an inode of their own; files that
//! share one look the same: a file opened twice, and on Linux all
//! anonymous-inode fds (eventfds — a [`Waker`] too —, epoll instances,
//! timerfds, signalfds…: they share the one anonymous inode). A number
//! reused by such a look-alike is `AlreadyExists` as before: drop the old
//! registration with `deregister_raw` or `deregister_token` first.
//!
//! **Before the new fd is registered.** The kernel sees only fd numbers
//! on `poll` and `select`: a `wait` that runs after the number was reused,
//! before the new fd is registered, would find the new file under the old
//! registration. So they compare the identity of the file at the number
//! (`fstat`'s device and inode) with the registered one at every event they
//! deliver — one `fstat(2)` per event, ~0.5 µs here — and when it differs
//! they drop the event and stop watching the number: the old token is never
//! delivered for the new file. (`epoll` needs no check: it watches the
//! closed file, not the number.) Files that share an inode cannot be told
//! apart this way: on Linux every anonymous-inode fd (eventfd, epoll,
//! timerfd…) shares one.
//!
//! **fork:** a child shares an `epoll` instance (and its registrations) with
//! its parent. A child that wants readiness makes its own selector and
//! registers what it needs; it must not use the parent's. (On `uring` the
//! child's `wait` fails with [`Error::Unavailable`]: the ring is not even
//! mapped in the child.) Dropping the parent's selector in the child is
//! safe on every backend, and only closes the child's copies of its
//! descriptors: nothing shared with the parent is touched (no `epoll_ctl`
//! on the shared instance, no unmapping of the ring) — the rule libevent,
//! mio and asyncio follow.
//!
//! # Nesting a selector in another loop
//!
//! [`EpollSelector`] and `UringSelector` implement [`AsFd`]: a descriptor
//! that turns readable when the selector has something for a `wait`, to
//! register in another event loop (another selector, `poll(2)`, a
//! runtime's reactor), which then calls the nested selector's `wait` with
//! a zero timeout. For epoll it is the epoll instance; for uring an eventfd
//! the ring signals (the ring's own descriptor is not reported readable
//! when a registered file becomes ready: its completions wait for the
//! ring's thread). [`SelectSelector`] and [`PollSelector`] have no kernel
//! object that stands for their registrations, so they cannot be nested;
//! give them a thread of their own, or nest an epoll or uring selector.
//!
//! # Example: a readiness loop
//!
//! ```
//! use std::io::{Read, Write};
//! use std::os::fd::AsFd;
//! use std::os::unix::net::UnixStream;
//! use std::time::Duration;
//!
//! use sockpoll::event::{DefaultSelector, Events, Interest, Mode, Selector, Token};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (mut a, mut b) = UnixStream::pair()?;
//! a.set_nonblocking(true)?;
//!
//! let mut selector = DefaultSelector::new()?;
//! selector.register(a.as_fd(), Token(0), Interest::READABLE, Mode::Level)?;
//! let mut events = Events::with_capacity(64);
//!
//! b.write_all(b"hello")?;
//! let mut got = Vec::new();
//! // Bounded: the data is already there, this takes one round.
//! for _ in 0..10 {
//!     selector.wait(&mut events, Some(Duration::from_secs(5)))?;
//!     while let Some(event) = selector.next_event(&mut events) {
//!         assert_eq!(event.token(), Token(0));
//!         let mut buf = [0u8; 64];
//!         loop {
//!             match a.read(&mut buf) {
//!                 Ok(0) => break,
//!                 Ok(n) => got.extend_from_slice(&buf[..n]),
//!                 Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
//!                 Err(e) => return Err(e.into()),
//!             }
//!         }
//!     }
//!     if got.len() == 5 {
//!         break;
//!     }
//! }
//! assert_eq!(got, b"hello");
//! selector.deregister(a.as_fd())?;
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::ops::BitOr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::error::{Error, Result, Subject};

mod any;
#[cfg(linux_like)]
mod epoll;
mod poll;
mod registry;
mod select;
#[cfg(uring)]
mod uring;

pub use any::{AnySelector, BackendKind, Choice, BACKEND_ENV};
#[cfg(linux_like)]
pub use epoll::EpollSelector;
pub use poll::PollSelector;
pub use select::SelectSelector;
#[cfg(uring)]
pub use uring::{RingSetup, UringSelector};

/// The best backend on this platform: [`EpollSelector`] on Linux.
#[cfg(linux_like)]
pub type DefaultSelector = EpollSelector;
/// The best backend on this platform: [`PollSelector`] where there is no
/// epoll.
#[cfg(not(linux_like))]
pub type DefaultSelector = PollSelector;

/// A caller-chosen number identifying a registration; events carry it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Token(pub usize);

/// What readiness to watch for: [`READABLE`](Interest::READABLE),
/// [`WRITABLE`](Interest::WRITABLE), [`PRIORITY`](Interest::PRIORITY), any
/// combination (`READABLE | WRITABLE`), or [`NONE`](Interest::NONE); plus
/// the [`EXCLUSIVE`](Interest::EXCLUSIVE) wake-up option.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

const R: u8 = 0b0001;
const W: u8 = 0b0010;
const P: u8 = 0b0100;
const X: u8 = 0b1000;

impl Interest {
    /// Readable: `POLLIN`, `EPOLLIN`, the `select` read set.
    pub const READABLE: Interest = Interest(R);
    /// Writable: `POLLOUT`, `EPOLLOUT`, the `select` write set.
    pub const WRITABLE: Interest = Interest(W);
    /// Priority readiness — out-of-band TCP data (`send` with `MSG_OOB`),
    /// and other exceptional conditions: `EPOLLPRI`, `POLLPRI`, the
    /// `select` exception set. Reported as [`Event::is_priority`], on every
    /// backend.
    pub const PRIORITY: Interest = Interest(P);
    /// Nothing: the fd stays registered (its token, its number taken) but
    /// nothing is delivered for it — not even errors or hang-ups — until
    /// [`Selector::reregister`] gives it an interest. Every backend.
    pub const NONE: Interest = Interest(0);
    /// Not a readiness but a wake-up option, for a listening socket
    /// registered in several selectors waited on by several threads
    /// (`EPOLLEXCLUSIVE`, Linux 4.5+): one incoming connection wakes one of
    /// them, not all (the thundering herd). `epoll` and `uring` only, and
    /// only with [`Mode::Level`] or [`Mode::Edge`] and without
    /// [`PRIORITY`](Interest::PRIORITY) (epoll's kernel refuses the
    /// others); elsewhere `register` fails with [`Error::Unsupported`]. On
    /// epoll such a registration is not told of a peer's half-close apart
    /// from readability (no `EPOLLRDHUP`: the kernel refuses that too), and
    /// `reregister` of it deletes and re-adds it (the kernel refuses to
    /// modify one); should the kernel refuse the new settings, the old
    /// entry is put back, as for any failed `reregister`. Without
    /// [`READABLE`](Interest::READABLE) or [`WRITABLE`](Interest::WRITABLE)
    /// it is [`Error::Unsupported`] on every backend.
    pub const EXCLUSIVE: Interest = Interest(X);

    /// Whether this interest includes [`READABLE`](Interest::READABLE).
    pub const fn is_readable(self) -> bool {
        self.0 & R != 0
    }

    /// Whether this interest includes [`WRITABLE`](Interest::WRITABLE).
    pub const fn is_writable(self) -> bool {
        self.0 & W != 0
    }

    /// Whether this interest includes [`PRIORITY`](Interest::PRIORITY).
    pub const fn is_priority(self) -> bool {
        self.0 & P != 0
    }

    /// Whether this interest asks for nothing (no readiness bit).
    pub const fn is_none(self) -> bool {
        self.0 & (R | W | P) == 0
    }

    /// Whether [`EXCLUSIVE`](Interest::EXCLUSIVE) is set.
    pub const fn is_exclusive(self) -> bool {
        self.0 & X != 0
    }
}

impl BitOr for Interest {
    type Output = Interest;

    fn bitor(self, rhs: Interest) -> Interest {
        Interest(self.0 | rhs.0)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("NONE");
        }
        let names = [
            (R, "READABLE"),
            (W, "WRITABLE"),
            (P, "PRIORITY"),
            (X, "EXCLUSIVE"),
        ];
        let mut first = true;
        for (bit, name) in names {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// How readiness is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Reported on every `wait` while the fd is ready. Every backend.
    Level,
    /// Reported once per change of readiness (`EPOLLET`); drain to
    /// `WouldBlock`. `epoll` and `uring` (a multishot poll) only:
    /// elsewhere `register` fails with [`Error::Unsupported`].
    Edge,
    /// Reported once, then disarmed until [`Selector::reregister`]
    /// (`EPOLLONESHOT`; emulated on `poll` and `select`). Every backend.
    Oneshot,
    /// Edge-triggered and oneshot together (`EPOLLET | EPOLLONESHOT`): one
    /// event for the next change of readiness, then disarmed until
    /// `reregister`. `epoll` and `uring` only: elsewhere `register` fails
    /// with [`Error::Unsupported`].
    EdgeOneshot,
}

impl Mode {
    /// Whether a registration in this mode is disarmed after one event.
    pub const fn is_oneshot(self) -> bool {
        matches!(self, Mode::Oneshot | Mode::EdgeOneshot)
    }

    /// Whether this mode is edge-triggered (epoll and uring only).
    pub const fn is_edge(self) -> bool {
        matches!(self, Mode::Edge | Mode::EdgeOneshot)
    }

    /// The mode's name as the docs and errors spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Mode::Level => "Mode::Level",
            Mode::Edge => "Mode::Edge",
            Mode::Oneshot => "Mode::Oneshot",
            Mode::EdgeOneshot => "Mode::EdgeOneshot",
        }
    }
}

pub(crate) mod flags {
    pub(crate) const READABLE: u8 = 1;
    pub(crate) const WRITABLE: u8 = 1 << 1;
    pub(crate) const ERROR: u8 = 1 << 2;
    pub(crate) const READ_CLOSED: u8 = 1 << 3;
    pub(crate) const WRITE_CLOSED: u8 = 1 << 4;
    pub(crate) const INVALID: u8 = 1 << 5;
    pub(crate) const PRIORITY: u8 = 1 << 6;
    pub(crate) const NAMES: [(u8, &str); 7] = [
        (READABLE, "READABLE"),
        (WRITABLE, "WRITABLE"),
        (ERROR, "ERROR"),
        (READ_CLOSED, "READ_CLOSED"),
        (WRITE_CLOSED, "WRITE_CLOSED"),
        (INVALID, "INVALID"),
        (PRIORITY, "PRIORITY"),
    ];
}

/// One readiness event, as collected by [`Selector::wait`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Event {
    token: Token,
    flags: u8,
    fd: RawFd,
    generation: u64,
}

impl Event {
    pub(crate) fn new(token: Token, flags: u8, fd: RawFd, generation: u64) -> Event {
        Event {
            token,
            flags,
            fd,
            generation,
        }
    }

    /// For a backend written outside sockpoll (its [`Selector::wait`]): an
    /// event with no readiness yet for the registration of fd number `fd`
    /// with `token`, in its `generation` (a number the backend changes at
    /// every `register` and `reregister`, so that
    /// [`Events::next_current`] can tell stale events from current ones).
    /// Add the readiness with the `with_` methods, then
    /// [`Events::push`] it:
    ///
    /// ```
    /// use sockpoll::event::{Event, Events, Token};
    ///
    /// let mut events = Events::with_capacity(8);
    /// events.prepare(1);
    /// let ev = Event::for_registration(Token(7), 3, 1).with_readable().with_read_closed();
    /// assert!(events.push(ev));
    /// // next_event: hand out the events whose registration is current.
    /// let got = events.next_current(|fd, generation| fd == 3 && generation == 1);
    /// assert_eq!(got.map(|e| (e.token(), e.is_read_closed())), Some((Token(7), true)));
    /// ```
    pub const fn for_registration(token: Token, fd: RawFd, generation: u64) -> Event {
        Event {
            token,
            flags: 0,
            fd,
            generation,
        }
    }

    const fn with(mut self, flag: u8) -> Event {
        self.flags |= flag;
        self
    }

    /// This event, [readable](Event::is_readable).
    pub const fn with_readable(self) -> Event {
        self.with(flags::READABLE)
    }

    /// This event, [writable](Event::is_writable).
    pub const fn with_writable(self) -> Event {
        self.with(flags::WRITABLE)
    }

    /// This event, with an [error](Event::is_error).
    pub const fn with_error(self) -> Event {
        self.with(flags::ERROR)
    }

    /// This event, [read-closed](Event::is_read_closed).
    pub const fn with_read_closed(self) -> Event {
        self.with(flags::READ_CLOSED)
    }

    /// This event, [write-closed](Event::is_write_closed).
    pub const fn with_write_closed(self) -> Event {
        self.with(flags::WRITE_CLOSED)
    }

    /// This event, with [priority](Event::is_priority) readiness.
    pub const fn with_priority(self) -> Event {
        self.with(flags::PRIORITY)
    }

    /// This event, [invalid](Event::is_invalid) (the fd was closed).
    pub const fn with_invalid(self) -> Event {
        self.with(flags::INVALID)
    }

    /// The token given at registration.
    pub fn token(&self) -> Token {
        self.token
    }

    /// A read would not block: data, end of file or an error is waiting
    /// (only set for registrations with [`Interest::READABLE`]).
    pub fn is_readable(&self) -> bool {
        self.flags & flags::READABLE != 0
    }

    /// A write would not block (only set for registrations with
    /// [`Interest::WRITABLE`]).
    pub fn is_writable(&self) -> bool {
        self.flags & flags::WRITABLE != 0
    }

    /// An error is pending on the fd (`POLLERR`/`EPOLLERR`); read it with
    /// `SO_ERROR` or the next I/O call. Not reported by `select`.
    pub fn is_error(&self) -> bool {
        self.flags & flags::ERROR != 0
    }

    /// The read side is closed: the peer shut down its write side or closed
    /// (`EPOLLRDHUP`, `POLLRDHUP`, `POLLHUP`; on `select`: readable with
    /// nothing to read). Reads return end of file once drained.
    pub fn is_read_closed(&self) -> bool {
        self.flags & flags::READ_CLOSED != 0
    }

    /// Both directions are closed (hang-up, `POLLHUP`/`EPOLLHUP`). Not
    /// reported by `select`.
    pub fn is_write_closed(&self) -> bool {
        self.flags & flags::WRITE_CLOSED != 0
    }

    /// Priority readiness: out-of-band data or another exceptional
    /// condition (`EPOLLPRI`, `POLLPRI`, the `select` exception set). Only
    /// set for registrations with [`Interest::PRIORITY`].
    pub fn is_priority(&self) -> bool {
        self.flags & flags::PRIORITY != 0
    }

    /// The fd was closed while registered (`POLLNVAL`, `EBADF` from
    /// `select`). Reported once; the backend then stops watching it. Never
    /// reported by `epoll`, which silently forgets closed fds.
    pub fn is_invalid(&self) -> bool {
        self.flags & flags::INVALID != 0
    }
}

struct Readiness(u8);

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (bit, name) in flags::NAMES {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("(none)")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("token", &self.token)
            .field("readiness", &Readiness(self.flags))
            .finish()
    }
}

/// A reusable buffer of events, filled by [`Selector::wait`].
///
/// Its capacity bounds how many events one `wait` collects (`maxevents`);
/// ready fds beyond it are reported by the next `wait`. Neither `wait` nor
/// [`Selector::next_event`] allocates in steady state (see
/// [`with_capacity`](Events::with_capacity) for when the buffer grows).
pub struct Events {
    list: Vec<Event>,
    cap: usize,
    pos: usize,
}

/// Events whose room [`Events::with_capacity`] allocates at once; a larger
/// buffer grows in `wait`, only as far as the registrations can fill it.
const PREALLOCATED: usize = 1024;

impl Events {
    /// The largest capacity: what `epoll_wait(2)` accepts as `maxevents`
    /// (the kernel's `EP_MAX_EVENTS`, `INT_MAX / sizeof(struct
    /// epoll_event)`: 178,956,970 on x86-64, where the struct is packed into
    /// 12 bytes; larger values are `EINVAL`). `poll` and `select` report at
    /// most one event per registered fd, far fewer than this.
    #[cfg(linux_like)]
    pub const MAX_CAPACITY: usize = crate::sys::epoll::MAX_EVENTS;
    /// The largest capacity: `INT_MAX / sizeof(struct pollfd)`; `poll` and
    /// `select` report at most one event per registered fd, far fewer than
    /// this.
    #[cfg(not(linux_like))]
    pub const MAX_CAPACITY: usize = libc::c_int::MAX as usize / std::mem::size_of::<libc::pollfd>();

    /// A buffer for up to `capacity` events per `wait`, clamped to
    /// `1..=`[`MAX_CAPACITY`](Events::MAX_CAPACITY) (never a panic, even
    /// for `usize::MAX`).
    ///
    /// Room for up to 1,024 events is allocated here. Beyond that the
    /// buffer (and the epoll backend's kernel buffer) grows inside `wait`,
    /// to at most the capacity and never past what the registrations can
    /// fill (one event per registered fd), so a huge capacity costs memory
    /// only as registrations grow, and `wait` allocates only when there are
    /// more registered fds than at any earlier `wait`. If that memory cannot
    /// be had, the batch is smaller (the rest come with the next `wait`).
    pub fn with_capacity(capacity: usize) -> Events {
        let cap = capacity.clamp(1, Events::MAX_CAPACITY);
        Events {
            list: Vec::with_capacity(cap.min(PREALLOCATED)),
            cap,
            pos: 0,
        }
    }

    /// How many events one `wait` can collect.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// The events of the last `wait`, raw: including events that
    /// [`Selector::next_event`] would skip as stale.
    pub fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.list.iter()
    }

    /// How many events the last `wait` collected.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the last `wait` collected no event.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Forgets all events (keeps the memory).
    pub fn clear(&mut self) {
        self.list.clear();
        self.pos = 0;
    }

    /// For a [`Selector::wait`] implementation: clears the buffer for a new
    /// batch and makes room for `bound` events (the most the backend can
    /// report: one per registered fd), capped by the capacity, without
    /// panicking or aborting when memory is short. Returns how many events
    /// this batch can hold, at least 1; [`push`](Events::push) beyond that
    /// is refused, so it never allocates.
    ///
    /// Public so that a backend outside sockpoll can fill the buffer (see
    /// [`Event::for_registration`]).
    pub fn prepare(&mut self, bound: usize) -> usize {
        self.clear();
        let want = self.cap.min(bound.max(1));
        if want > self.list.capacity() {
            // Failure is fine: the batch is just smaller.
            let _ = self.list.try_reserve_exact(want);
        }
        self.room()
    }

    /// How many events this batch can hold: the capacity, or less while
    /// the buffer has not grown that far. At least 1.
    pub(crate) fn room(&self) -> usize {
        self.cap.min(self.list.capacity()).max(1)
    }

    /// Whether this batch is full: it holds the capacity, or as many events
    /// as the buffer has room for (it never grows here, so `push` never
    /// allocates).
    pub(crate) fn is_full(&self) -> bool {
        self.list.len() >= self.cap || self.list.len() >= self.list.capacity()
    }

    /// For a [`Selector::wait`] implementation: adds an event to the batch;
    /// returns false (and drops it) when the batch is full — it holds
    /// [`capacity`](Events::capacity) events, or as many as
    /// [`prepare`](Events::prepare) made room for. Never allocates.
    pub fn push(&mut self, event: Event) -> bool {
        if self.is_full() {
            return false;
        }
        self.list.push(event);
        true
    }

    /// For a [`Selector::next_event`] implementation: the next event of the
    /// batch for which `current(fd, generation)` holds — the fd number and
    /// generation it was made with ([`Event::for_registration`]) still name
    /// a current registration — advancing the cursor past it and past any
    /// stale event before it. `None` when the batch is exhausted.
    pub fn next_current(&mut self, current: impl Fn(RawFd, u64) -> bool) -> Option<Event> {
        while let Some(ev) = self.list.get(self.pos).copied() {
            self.pos += 1;
            if current(ev.fd, ev.generation) {
                return Some(ev);
            }
        }
        None
    }
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.list.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Events {
    type Item = &'a Event;
    type IntoIter = std::slice::Iter<'a, Event>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

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
    ///   [Closing, dup and fork](self#closing-dup-and-fork) for the files
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
    ///   could not be made to drop it (see [`EpollSelector`]); the
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
    /// [module docs](self)).
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

/// What the [`Selector`] methods every backend shares need from a backend;
/// see `shared_selector_methods!`.
pub(crate) trait Backend: Selector {
    /// What the backend keeps per registration beside the shared fields
    /// (see `registry`).
    type Extra: Copy;

    /// [`Selector::name`].
    const NAME: &'static str;

    /// Whether the backend has [`Mode::Edge`] and [`Mode::EdgeOneshot`].
    /// [`Mode::Level`] and [`Mode::Oneshot`] work on every backend.
    const EDGE: bool;

    /// Whether the backend has [`Interest::EXCLUSIVE`] (`EPOLLEXCLUSIVE`:
    /// epoll, and io_uring's poll requests).
    const EXCLUSIVE: bool;

    /// Runs `f` on the backend's registry, under the backend's lock.
    fn with_registry<R>(&self, f: impl FnOnce(&registry::Registry<Self::Extra>) -> R) -> R;

    /// The backend's own wake-up, in its kernel set.
    fn notifier(&self) -> &Notifier;

    /// The check `register` and `reregister` start with: `Ok` for a mode
    /// [`supports`](Selector::supports) accepts and an interest the backend
    /// can honour, else [`Error::Unsupported`] naming `call` and what was
    /// refused.
    fn check_mode(&self, call: &'static str, mode: Mode, interest: Interest) -> Result<()> {
        let refused = if !self.supports(mode) {
            Some(mode.name())
        } else if interest.is_exclusive() && !Self::EXCLUSIVE {
            Some("Interest::EXCLUSIVE")
        } else if interest.is_exclusive() && mode.is_oneshot() {
            Some("Interest::EXCLUSIVE with a oneshot mode")
        } else if interest.is_exclusive() && interest.is_priority() {
            Some("Interest::EXCLUSIVE with Interest::PRIORITY")
        } else if interest.is_exclusive() && interest.is_none() {
            // "Nothing, exclusively": the kernel refuses it (epoll adds
            // EPOLLONESHOT for NONE, which EPOLLEXCLUSIVE excludes).
            Some("Interest::EXCLUSIVE without READABLE or WRITABLE")
        } else {
            None
        };
        match refused {
            None => Ok(()),
            Some(what) => Err(Error::Unsupported {
                call,
                backend: Self::NAME,
                what,
            }),
        }
    }
}

/// The [`Selector`] methods that are the same on every backend, written
/// once: `next_event`, `notify`, `name` and `supports`, from the backend's
/// [`Backend`] impl. Invoke it in the backend's `impl Selector`, after
/// `wait` (the trait's order).
///
/// A macro because nothing else makes one copy at no cost: a provided
/// method of `Selector` cannot reach a backend's registry (the trait is
/// public and object safe, and other crates implement it), and a blanket
/// `impl<B: Backend> Selector for B` is refused as overlapping
/// `impl Selector for Box<S>` (E0119), besides taking the place of the
/// backends' own documented methods. The expansion is the code each
/// backend spelled out before.
macro_rules! shared_selector_methods {
    () => {
        fn next_event(
            &self,
            events: &mut $crate::event::Events,
        ) -> ::std::option::Option<$crate::event::Event> {
            $crate::event::Backend::with_registry(self, |reg| {
                events.next_current(|fd, generation| reg.is_current(fd, generation))
            })
        }

        fn notify(&self) -> $crate::error::Result<()> {
            $crate::event::Backend::notifier(self).notify()
        }

        fn name(&self) -> &'static str {
            <Self as $crate::event::Backend>::NAME
        }

        fn supports(&self, mode: $crate::event::Mode) -> bool {
            <Self as $crate::event::Backend>::EDGE || !mode.is_edge()
        }
    };
}
pub(crate) use shared_selector_methods;

/// The wait loop every backend shares: a fixed deadline, `EINTR` retried
/// with the remaining time, and no early return when nothing was delivered.
///
/// `once(remaining)` makes one system call (`None` = forever) and says what
/// came of it: `Ok(Some(n))` ends the wait with `n` events (0 only when the
/// selector was notified), `Ok(None)` means "nothing for the caller": the
/// kernel timed out, every event it reported was filtered (stale, or for
/// nothing the registration asked for), or another thread changed the
/// registrations and the sets must be rebuilt. Then the wait goes on with
/// the remaining time — forever for `None` — and only `Some(Duration::ZERO)`
/// returns 0 after one call.
///
/// The clock is read only where the answer depends on it: never for `None`
/// or `Some(0)` (the hot `wait(0)` of a busy loop), and for other timeouts
/// once to fix the deadline, then again only after an `EINTR` or an empty
/// return. Two clock reads per call cost ~16% of an epoll `wait(0)` here.
pub(crate) fn wait_with_deadline(
    timeout: Option<Duration>,
    on_signal: OnSignal,
    mut once: impl FnMut(Option<Duration>) -> Result<Option<usize>>,
) -> Result<usize> {
    // EINTR goes round again, unless the caller asked for it
    // (`Selector::wait_interruptible`): then it ends the wait as an error.
    let interrupted =
        |e: &Error| on_signal == OnSignal::Restart && e.kind() == std::io::ErrorKind::Interrupted;
    let Some(t) = timeout else {
        // Forever: the timeout never changes, so EINTR and an empty (all
        // filtered) batch just go round again.
        loop {
            match once(None) {
                Ok(Some(n)) => return Ok(n),
                Ok(None) => {}
                Err(e) if interrupted(&e) => {}
                Err(e) => return Err(e),
            }
        }
    };
    if t.is_zero() {
        // A poll: one look, repeated only when a signal cut it short.
        loop {
            match once(timeout) {
                Ok(n) => return Ok(n.unwrap_or(0)),
                Err(e) if interrupted(&e) => continue,
                Err(e) => return Err(e),
            }
        }
    }
    // `None`: too far away to represent; wait in clamped steps forever.
    let deadline = Instant::now().checked_add(t);
    let mut remaining = t;
    loop {
        match once(Some(remaining)) {
            Ok(Some(n)) => return Ok(n),
            Ok(None) => {}
            Err(e) if interrupted(&e) => {}
            Err(e) => return Err(e),
        }
        // A signal, a batch with nothing to deliver, or a kernel timer that
        // fired a hair before our clock says so: go round again for the
        // rest, so a wait is never short.
        if let Some(deadline) = deadline {
            let now = Instant::now();
            if now >= deadline {
                return Ok(0);
            }
            remaining = deadline - now;
        }
    }
}

/// What a signal that interrupts the system call of a `wait` does: the
/// default restarts it with the remaining time; `wait_interruptible` ends
/// the wait with the `EINTR` error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnSignal {
    Restart,
    Return,
}

/// A mutex guard even if a thread panicked while holding it: the state
/// under these locks is kept consistent at every step, so a panic elsewhere
/// (in a caller's code, never in ours) does not make it unusable.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The selector's own wake-up, in its kernel set: written by [`Selector::notify`]
/// and by a registration change that a blocked wait must see (poll and
/// select rebuild their sets; epoll replaces its instance). `notified`
/// tells the two apart, so that only `notify` ends the wait.
#[derive(Debug)]
pub(crate) struct Notifier {
    waker: Waker,
    notified: std::sync::atomic::AtomicBool,
}

impl Notifier {
    pub(crate) fn new() -> Result<Notifier> {
        Ok(Notifier {
            waker: Waker::new()?,
            notified: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The descriptor the backend watches for readability.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.waker.as_fd()
    }

    /// Wakes the waiter so that it looks at the registrations again.
    pub(crate) fn wake(&self) -> Result<()> {
        self.waker.wake()
    }

    /// Wakes the waiter when `blocked` says one is in (or entering) its
    /// system call with sets built before the change just made.
    pub(crate) fn wake_if(&self, blocked: bool) -> Result<()> {
        if blocked {
            self.wake()?;
        }
        Ok(())
    }

    /// [`Selector::notify`]: wakes the waiter and ends its wait.
    pub(crate) fn notify(&self) -> Result<()> {
        self.notified
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.waker.wake()
    }

    /// After the fd was seen readable: drains it, and says whether a
    /// `notify` (rather than a registration change) was among the wakes.
    pub(crate) fn take(&self) -> Result<bool> {
        self.waker.reset()?;
        Ok(self
            .notified
            .swap(false, std::sync::atomic::Ordering::SeqCst))
    }
}

/// Wakes a blocked [`Selector::wait`] from another thread or a signal
/// handler.
///
/// An [`eventfd(2)`](https://man7.org/linux/man-pages/man2/eventfd.2.html)
/// (`EFD_CLOEXEC | EFD_NONBLOCK`) on Linux, a
/// [`pipe2(2)`](https://man7.org/linux/man-pages/man2/pipe2.2.html)
/// (`O_CLOEXEC | O_NONBLOCK`) elsewhere. Register it like any fd — it
/// implements [`AsFd`] — with [`Interest::READABLE`] on any backend; when
/// its token comes back, call [`reset`](Waker::reset). Wakes coalesce: any
/// number of [`wake`](Waker::wake) calls before a `reset` give one
/// readiness.
///
/// ```
/// use std::os::fd::AsFd;
/// use std::sync::Arc;
/// use sockpoll::event::{DefaultSelector, Events, Interest, Mode, Selector, Token, Waker};
///
/// # fn main() -> sockpoll::Result<()> {
/// let mut selector = DefaultSelector::new()?;
/// let waker = Arc::new(Waker::new()?);
/// selector.register(waker.as_fd(), Token(99), Interest::READABLE, Mode::Level)?;
///
/// let remote = Arc::clone(&waker);
/// let thread = std::thread::spawn(move || remote.wake());
///
/// let mut events = Events::with_capacity(8);
/// selector.wait(&mut events, None)?; // ends when the thread wakes it
/// assert_eq!(selector.next_event(&mut events).map(|e| e.token()), Some(Token(99)));
/// waker.reset()?;
/// # if let Ok(woken) = thread.join() { woken?; }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Waker {
    read: OwnedFd,
    write: Option<OwnedFd>,
}

impl Waker {
    /// Creates a waker (`eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)` on Linux,
    /// `pipe2(O_CLOEXEC | O_NONBLOCK)` elsewhere).
    ///
    /// # Errors
    ///
    /// The kernel's error, e.g. `EMFILE`/`ENFILE` when out of descriptors
    /// (the kind is whatever std maps that errno to).
    #[doc(alias = "eventfd")]
    #[doc(alias = "pipe2")]
    pub fn new() -> Result<Waker> {
        let (read, write) = crate::sys::waker::new()?;
        Ok(Waker { read, write })
    }

    /// Makes the waker readable: one `write(2)`, no allocation, no lock, so
    /// it is async-signal-safe and may be called from any thread.
    ///
    /// A full counter or pipe (`EAGAIN`) means a wake is already pending,
    /// which is success.
    ///
    /// # Errors
    ///
    /// Only an unexpected error of `write(2)` (none is expected).
    #[doc(alias = "write")]
    pub fn wake(&self) -> Result<()> {
        match &self.write {
            Some(w) => crate::sys::waker::wake(w.as_fd(), false),
            None => crate::sys::waker::wake(self.read.as_fd(), true),
        }
    }

    /// Drains pending wakes with `read(2)`, so a level-triggered
    /// registration stops reporting it.
    ///
    /// # Errors
    ///
    /// Only an unexpected error of `read(2)` (none is expected).
    #[doc(alias = "read")]
    pub fn reset(&self) -> Result<()> {
        crate::sys::waker::reset(self.read.as_fd())
    }
}

impl AsFd for Waker {
    /// The readable side, to register.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}

/// The `EEXIST`/`ENOENT` errors shared by every backend's registry.
pub(crate) fn registry_error(call: &'static str, fd: RawFd, errno: i32) -> Error {
    Error::errno(call, Subject::Fd(fd), errno)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_names() {
        assert_eq!(format!("{:?}", Interest::READABLE), "READABLE");
        let e = Event::new(Token(3), flags::READABLE | flags::READ_CLOSED, 5, 1);
        assert_eq!(
            format!("{e:?}"),
            "Event { token: Token(3), readiness: READABLE | READ_CLOSED }"
        );
        let none = Event::new(Token(0), 0, 5, 1);
        assert!(format!("{none:?}").contains("(none)"));
    }

    #[test]
    fn wait_loop_passes_zero_and_forever_through_and_shrinks_the_rest() {
        // Some(0): one call with a zero timeout (an EINTR repeats it as is).
        let mut seen = Vec::new();
        let n = wait_with_deadline(Some(Duration::ZERO), OnSignal::Restart, |t| {
            seen.push(t);
            if seen.len() == 1 {
                Err(Error::errno("poll", Subject::None, libc::EINTR))
            } else {
                Ok(None)
            }
        })
        .unwrap();
        assert_eq!((n, seen), (0, vec![Some(Duration::ZERO); 2]));
        // None: forever, unchanged across EINTR.
        let mut seen = Vec::new();
        let n = wait_with_deadline(None, OnSignal::Restart, |t| {
            seen.push(t);
            if seen.len() < 3 {
                Err(Error::errno("poll", Subject::None, libc::EINTR))
            } else {
                Ok(Some(1))
            }
        })
        .unwrap();
        assert_eq!((n, seen), (1, vec![None; 3]));
        // A finite timeout: the first call gets all of it, a retry only the rest.
        let mut seen = Vec::new();
        let n = wait_with_deadline(Some(Duration::from_secs(60)), OnSignal::Restart, |t| {
            seen.push(t);
            if seen.len() == 1 {
                std::thread::sleep(Duration::from_millis(5));
                Err(Error::errno("poll", Subject::None, libc::EINTR))
            } else {
                Ok(Some(2))
            }
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(seen[0], Some(Duration::from_secs(60)));
        assert!(
            seen[1].is_some_and(|rest| rest <= Duration::from_secs(60) - Duration::from_millis(5))
        );
    }

    /// `wait(None)` returned `Ok(0)` as soon as one kernel batch had nothing
    /// to deliver (every event filtered as stale): an event loop calling it
    /// spun. Forever means until something is delivered.
    #[test]
    fn wait_forever_goes_on_after_an_empty_batch() {
        let mut calls = 0;
        let n = wait_with_deadline(None, OnSignal::Restart, |t| {
            assert_eq!(t, None);
            calls += 1;
            Ok(if calls < 4 { None } else { Some(2) })
        })
        .unwrap();
        assert_eq!((n, calls), (2, 4));
        // A finite timeout goes on too (with the rest of the time), and a
        // poll does not.
        let mut calls = 0;
        let n = wait_with_deadline(Some(Duration::from_secs(60)), OnSignal::Restart, |_| {
            calls += 1;
            Ok(if calls < 3 { None } else { Some(1) })
        })
        .unwrap();
        assert_eq!((n, calls), (1, 3));
        let mut calls = 0;
        let n = wait_with_deadline(Some(Duration::ZERO), OnSignal::Restart, |_| {
            calls += 1;
            Ok(None)
        })
        .unwrap();
        assert_eq!((n, calls), (0, 1));
    }

    #[test]
    fn wait_loop_retries_eintr_and_never_returns_early() {
        let mut calls = 0;
        let start = Instant::now();
        let n = wait_with_deadline(Some(Duration::from_millis(20)), OnSignal::Restart, |_| {
            calls += 1;
            if calls < 3 {
                Err(Error::errno("poll", Subject::None, libc::EINTR))
            } else {
                Ok(None)
            }
        })
        .unwrap();
        assert_eq!(n, 0);
        assert!(calls >= 3);
        assert!(start.elapsed() >= Duration::from_millis(20));
        // Other errors end the wait.
        let err = wait_with_deadline(None, OnSignal::Restart, |_| {
            Err(Error::errno("poll", Subject::None, libc::ENOMEM))
        })
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOMEM));
    }
}
