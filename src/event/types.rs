//! The values readiness is made of: [`Token`], [`Interest`], [`Mode`],
//! [`Event`] and the [`Events`] buffer a `wait` fills.

use std::fmt;
use std::ops::BitOr;
use std::os::fd::RawFd;

#[cfg(doc)]
use super::Selector;
#[cfg(doc)]
use crate::error::Error;

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
    ///
    /// One of them, but not a fair one: the kernel wakes the first
    /// registration in the listener's wait queue whose loop is blocked in
    /// its wait, so the loop registered first takes every connection that
    /// arrives while it is idle. [`ExclusiveAccept`](super::ExclusiveAccept)
    /// re-adds the registration every K accepts so that the loops take
    /// turns (nginx's remedy).
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

    /// `self | other`, usable in a `const` (mio's `Interest::add`).
    #[must_use]
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
}

impl BitOr for Interest {
    type Output = Interest;

    fn bitor(self, rhs: Interest) -> Interest {
        self.add(rhs)
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
    #[cfg_attr(docsrs, doc(auto_cfg = false))]
    pub const MAX_CAPACITY: usize = crate::sys::epoll::MAX_EVENTS;
    /// The largest capacity: `INT_MAX / sizeof(struct pollfd)`; `poll` and
    /// `select` report at most one event per registered fd, far fewer than
    /// this.
    #[cfg(not(linux_like))]
    #[cfg_attr(docsrs, doc(auto_cfg = false))]
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
}
