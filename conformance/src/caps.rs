//! What a backend declares it can do.

use std::time::Duration;

/// What the selector under test declares it supports. Every case runs on
/// every backend: a case that needs something the backend declares it
/// lacks checks instead that the backend *refuses* it cleanly (a typed
/// [`sockpoll::Error::Unsupported`], or the weaker documented behaviour),
/// never skips and never fails for it. Where the [`Selector`] trait can
/// tell ([`supports`](sockpoll::event::Selector::supports),
/// [`fd_limit`](sockpoll::event::Selector::fd_limit),
/// [`timeout_resolution`](sockpoll::event::Selector::timeout_resolution),
/// [`name`](sockpoll::event::Selector::name)), the case
/// [`declared_capabilities_match`](crate::cases::declared_capabilities_match)
/// checks the declaration against the backend.
///
/// [`Mode::Level`](sockpoll::event::Mode::Level) and
/// [`Mode::Oneshot`](sockpoll::event::Mode::Oneshot) are not optional:
/// the trait's contract asks for them on every backend (oneshot may be
/// emulated).
///
/// Start from [`full`](Capabilities::full) (everything, epoll's set) or
/// [`level_only`](Capabilities::level_only) (no edge modes, no exclusive
/// wake-ups: poll's set), then change what differs:
///
/// ```
/// use sockpoll_conformance::Capabilities;
///
/// let caps = Capabilities::level_only()
///     .name("kqueue-ish")
///     .edge(true)
///     .priority(false)
///     .fd_limit(Some(1024));
/// assert!(caps.edge && !caps.edge_oneshot && !caps.priority);
/// ```
///
/// [`Selector`]: sockpoll::event::Selector
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// The [`name`](sockpoll::event::Selector::name) the backend must
    /// report, when declared (`None`: any name).
    pub name: Option<&'static str>,
    /// [`Mode::Edge`](sockpoll::event::Mode::Edge): one event per change
    /// of readiness. Lacking: `register`/`reregister` with it must be
    /// `Unsupported`, and `supports(Mode::Edge)` false.
    pub edge: bool,
    /// [`Mode::EdgeOneshot`](sockpoll::event::Mode::EdgeOneshot).
    /// Lacking: as for `edge`.
    pub edge_oneshot: bool,
    /// [`Interest::PRIORITY`](sockpoll::event::Interest::PRIORITY) (TCP
    /// out-of-band data). Lacking: `register` with it must be
    /// `Unsupported`.
    pub priority: bool,
    /// [`Interest::EXCLUSIVE`](sockpoll::event::Interest::EXCLUSIVE)
    /// wake-ups, with level and edge modes (oneshot is refused with it).
    /// Lacking: `register` with it must be `Unsupported`.
    pub exclusive: bool,
    /// One more than the highest fd number the backend watches
    /// ([`fd_limit`](sockpoll::event::Selector::fd_limit)), `None` when
    /// only the process limit applies. With a limit, an fd at or above it
    /// must be refused at `register` (kind `InvalidInput`, e.g.
    /// [`sockpoll::Error::FdLimit`]).
    pub fd_limit: Option<usize>,
    /// [`notify`](sockpoll::event::Selector::notify) ends a blocked wait.
    /// Lacking: `notify` must be `Unsupported`.
    pub notify: bool,
    /// [`wait_interruptible`](sockpoll::event::Selector::wait_interruptible):
    /// a signal ends the wait with `Interrupted`. Lacking: it must be
    /// `Unsupported` (the trait's default).
    pub interruptible: bool,
    /// A `register`/`reregister` made from another thread takes effect in
    /// a `wait` already blocked there, at once. Lacking: it must take
    /// effect by the next `wait` (the registration is never lost, and
    /// calling from other threads is still safe).
    pub live_registration: bool,
    /// A peer's hang-up is reported as read-closed while unread data is
    /// still queued. `select` cannot see it before the queue is drained.
    /// Lacking: read-closed may come only once drained.
    pub read_closed_before_drained: bool,
    /// The coarsest [`timeout_resolution`](sockpoll::event::Selector::timeout_resolution)
    /// allowed (what it reports must be above zero and at most this).
    pub max_timeout_resolution: Duration,
}

impl Capabilities {
    /// Everything: both edge modes, priority, exclusive wake-ups, no fd
    /// limit, notify, interruptible waits, live registration, hang-ups seen at once, timeouts to
    /// 1 ms or finer (epoll's set).
    pub const fn full() -> Capabilities {
        Capabilities {
            name: None,
            edge: true,
            edge_oneshot: true,
            priority: true,
            exclusive: true,
            fd_limit: None,
            notify: true,
            interruptible: true,
            live_registration: true,
            read_closed_before_drained: true,
            max_timeout_resolution: Duration::from_millis(1),
        }
    }

    /// [`full`](Capabilities::full) without the edge modes and exclusive
    /// wake-ups: level and oneshot only (poll's set).
    pub const fn level_only() -> Capabilities {
        Capabilities::full()
            .edge(false)
            .edge_oneshot(false)
            .exclusive(false)
    }

    /// Declares the name the backend reports.
    pub const fn name(mut self, name: &'static str) -> Capabilities {
        self.name = Some(name);
        self
    }

    /// Declares whether [`Mode::Edge`](sockpoll::event::Mode::Edge) is supported.
    pub const fn edge(mut self, yes: bool) -> Capabilities {
        self.edge = yes;
        self
    }

    /// Declares whether [`Mode::EdgeOneshot`](sockpoll::event::Mode::EdgeOneshot)
    /// is supported.
    pub const fn edge_oneshot(mut self, yes: bool) -> Capabilities {
        self.edge_oneshot = yes;
        self
    }

    /// Declares whether [`Interest::PRIORITY`](sockpoll::event::Interest::PRIORITY)
    /// is supported.
    pub const fn priority(mut self, yes: bool) -> Capabilities {
        self.priority = yes;
        self
    }

    /// Declares whether [`Interest::EXCLUSIVE`](sockpoll::event::Interest::EXCLUSIVE)
    /// is supported.
    pub const fn exclusive(mut self, yes: bool) -> Capabilities {
        self.exclusive = yes;
        self
    }

    /// Declares the fd limit ([`fd_limit`](sockpoll::event::Selector::fd_limit)).
    pub const fn fd_limit(mut self, limit: Option<usize>) -> Capabilities {
        self.fd_limit = limit;
        self
    }

    /// Declares whether [`notify`](sockpoll::event::Selector::notify) works.
    pub const fn notify(mut self, yes: bool) -> Capabilities {
        self.notify = yes;
        self
    }

    /// Declares whether [`wait_interruptible`](sockpoll::event::Selector::wait_interruptible)
    /// works.
    pub const fn interruptible(mut self, yes: bool) -> Capabilities {
        self.interruptible = yes;
        self
    }

    /// Declares whether registration changes reach a blocked wait at once.
    pub const fn live_registration(mut self, yes: bool) -> Capabilities {
        self.live_registration = yes;
        self
    }

    /// Declares whether a hang-up is seen while data is still queued.
    pub const fn read_closed_before_drained(mut self, yes: bool) -> Capabilities {
        self.read_closed_before_drained = yes;
        self
    }

    /// Declares the coarsest timeout resolution allowed.
    pub const fn max_timeout_resolution(mut self, resolution: Duration) -> Capabilities {
        self.max_timeout_resolution = resolution;
        self
    }
}

impl Default for Capabilities {
    /// [`level_only`](Capabilities::level_only): what every sockpoll
    /// backend has.
    fn default() -> Capabilities {
        Capabilities::level_only()
    }
}
