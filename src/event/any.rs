//! Choosing the backend at run time.

use std::fmt;
use std::os::fd::{BorrowedFd, RawFd};
use std::str::FromStr;
use std::time::Duration;

#[cfg(linux_like)]
use super::EpollSelector;
#[cfg(uring)]
use super::UringSelector;
use super::{
    Event, Events, Interest, LoopMetrics, Mode, PollSelector, SelectSelector, Selector, Token,
};
use crate::error::{Error, Result, Subject};

/// The environment variable [`AnySelector::from_env`] reads.
pub const BACKEND_ENV: &str = "SOCKPOLL_BACKEND";

/// A readiness backend, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackendKind {
    /// [`SelectSelector`], `"select"`.
    Select,
    /// [`PollSelector`], `"poll"`.
    Poll,
    /// [`EpollSelector`], `"epoll"` (Linux).
    #[cfg(linux_like)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    Epoll,
    /// [`UringSelector`], `"uring"` (Linux, cargo feature `uring`). On a
    /// Linux architecture the backend is not built for (see the README's
    /// platform table), [`AnySelector::new`] answers it with
    /// [`UnavailableReason::NotBuilt`](crate::UnavailableReason::NotBuilt).
    #[cfg(uring_kind)]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "uring", target_os = "linux"))))]
    Uring,
}

#[cfg(uring_kind)]
const UNKNOWN: &str = "unknown backend; valid names: select, poll, epoll, uring";
#[cfg(all(linux_like, not(uring_kind)))]
const UNKNOWN: &str = "unknown backend; valid names: select, poll, epoll";
#[cfg(not(linux_like))]
const UNKNOWN: &str = "unknown backend; valid names: select, poll";

/// Backends that have a name here but are not built (`AnySelector::new`
/// answers them with `UnavailableReason::NotBuilt`).
#[cfg(all(uring_kind, not(uring)))]
const NOT_BUILT: &[BackendKind] = &[BackendKind::Uring];
#[cfg(not(all(uring_kind, not(uring))))]
const NOT_BUILT: &[BackendKind] = &[];

impl BackendKind {
    /// Every backend built for this platform (`Uring` may still be
    /// unavailable at run time: [`AnySelector::new`] says so).
    #[cfg(uring)]
    #[cfg_attr(docsrs, doc(auto_cfg = false))]
    pub const ALL: &'static [BackendKind] = &[
        BackendKind::Select,
        BackendKind::Poll,
        BackendKind::Epoll,
        BackendKind::Uring,
    ];
    /// Every backend built for this platform (on a Linux architecture the
    /// uring backend is not built for, [`BackendKind::Uring`] parses but is
    /// not listed here).
    #[cfg(all(linux_like, not(uring)))]
    #[cfg_attr(docsrs, doc(auto_cfg = false))]
    pub const ALL: &'static [BackendKind] =
        &[BackendKind::Select, BackendKind::Poll, BackendKind::Epoll];
    /// Every backend available on this platform.
    #[cfg(not(linux_like))]
    #[cfg_attr(docsrs, doc(auto_cfg = false))]
    pub const ALL: &'static [BackendKind] = &[BackendKind::Select, BackendKind::Poll];

    /// The backend's name, as [`Selector::name`] reports it.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Select => "select",
            BackendKind::Poll => "poll",
            #[cfg(linux_like)]
            BackendKind::Epoll => "epoll",
            #[cfg(uring_kind)]
            BackendKind::Uring => "uring",
        }
    }

    /// The backend of [`DefaultSelector`](super::DefaultSelector).
    pub fn platform_default() -> BackendKind {
        #[cfg(linux_like)]
        return BackendKind::Epoll;
        #[cfg(not(linux_like))]
        return BackendKind::Poll;
    }

    /// Interprets a value of `SOCKPOLL_BACKEND`: `None` or an empty string
    /// is the platform default, otherwise as [`FromStr`].
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for an unknown
    /// name; the message lists the valid ones.
    pub fn from_env_value(value: Option<&str>) -> Result<BackendKind> {
        match value {
            None | Some("") => Ok(BackendKind::platform_default()),
            Some(v) => v.parse(),
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = Error;

    /// Parses `"select"`, `"poll"`, `"epoll"` or `"uring"` (ASCII
    /// case-insensitive; only the backends this platform has, and `"uring"`
    /// wherever the `uring` feature is on under Linux, built or not).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for any other
    /// string; the message lists the valid names.
    fn from_str(s: &str) -> Result<BackendKind> {
        BackendKind::ALL
            .iter()
            .chain(NOT_BUILT)
            .copied()
            .find(|k| k.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::InvalidInput {
                call: BACKEND_ENV,
                subject: Subject::Name(s.to_owned()),
                reason: UNKNOWN,
            })
    }
}

/// A selector whose backend is chosen at run time.
///
/// ```
/// use sockpoll::event::{AnySelector, BackendKind, Selector};
///
/// # fn main() -> sockpoll::Result<()> {
/// for &kind in BackendKind::ALL {
///     let selector = AnySelector::new(kind)?;
///     assert_eq!(selector.name(), kind.name());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum AnySelector {
    /// The `select` backend.
    Select(SelectSelector),
    /// The `poll` backend.
    Poll(PollSelector),
    /// The `epoll` backend.
    #[cfg(linux_like)]
    #[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
    Epoll(EpollSelector),
    /// The `io_uring` backend.
    #[cfg(uring)]
    #[cfg_attr(
        docsrs,
        doc(cfg(all(
            feature = "uring",
            target_os = "linux",
            any(
                target_arch = "x86_64",
                target_arch = "aarch64",
                target_arch = "riscv64",
                target_arch = "loongarch64",
                target_arch = "powerpc64"
            )
        )))
    )]
    Uring(UringSelector),
}

impl AnySelector {
    /// Creates a selector of the given kind.
    ///
    /// # Errors
    ///
    /// As the backend's `new` (e.g. `EMFILE` from `epoll_create1`); for
    /// [`BackendKind::Uring`] where io_uring cannot be used,
    /// [`Error::Unavailable`] with the reason — an explicit choice is never
    /// replaced by another backend (that is [`best`](AnySelector::best)).
    pub fn new(kind: BackendKind) -> Result<AnySelector> {
        Ok(match kind {
            BackendKind::Select => AnySelector::Select(SelectSelector::new()?),
            BackendKind::Poll => AnySelector::Poll(PollSelector::new()?),
            #[cfg(linux_like)]
            BackendKind::Epoll => AnySelector::Epoll(EpollSelector::new()?),
            #[cfg(uring)]
            BackendKind::Uring => AnySelector::Uring(UringSelector::new()?),
            #[cfg(all(uring_kind, not(uring)))]
            BackendKind::Uring => {
                return Err(Error::Unavailable {
                    call: "AnySelector::new",
                    backend: "uring",
                    reason: crate::error::UnavailableReason::NotBuilt,
                    source: None,
                })
            }
        })
    }

    /// The backends [`best`](AnySelector::best) tries, in its order.
    #[cfg(uring_kind)]
    #[cfg_attr(docsrs, doc(auto_cfg = false))]
    pub const LADDER: &'static [BackendKind] =
        &[BackendKind::Uring, BackendKind::Epoll, BackendKind::Poll];
    /// The backends [`best`](AnySelector::best) tries, in its order.
    #[cfg(all(linux_like, not(uring_kind)))]
    #[cfg_attr(docsrs, doc(auto_cfg = false))]
    pub const LADDER: &'static [BackendKind] = &[BackendKind::Epoll, BackendKind::Poll];
    /// The backends [`best`](AnySelector::best) tries, in its order.
    #[cfg(not(linux_like))]
    #[cfg_attr(docsrs, doc(auto_cfg = false))]
    pub const LADDER: &'static [BackendKind] = &[BackendKind::Poll];

    /// The first backend of [`LADDER`](AnySelector::LADDER) — uring, then
    /// epoll, then poll — that can be created here, with the reasons the
    /// ones before it could not ([`Choice::why`]): e.g. io_uring denied
    /// by a container's seccomp profile, so epoll.
    ///
    /// ```
    /// use sockpoll::event::{AnySelector, Selector};
    ///
    /// # fn main() -> sockpoll::Result<()> {
    /// let choice = AnySelector::best()?;
    /// for (kind, err) in choice.why() {
    ///     eprintln!("not {kind}: {err}");
    /// }
    /// assert_eq!(choice.name(), choice.chosen().name());
    /// let selector: AnySelector = choice.into_selector();
    /// # drop(selector);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The last backend's error, if none could be created (all out of
    /// descriptors, say).
    pub fn best() -> Result<Choice> {
        let mut passed_over = Vec::new();
        for &kind in AnySelector::LADDER {
            match AnySelector::new(kind) {
                Ok(selector) => {
                    return Ok(Choice {
                        selector,
                        passed_over,
                    })
                }
                Err(e) => passed_over.push((kind, e)),
            }
        }
        Err(passed_over
            .pop()
            .map(|(_, e)| e)
            .unwrap_or(Error::InvalidInput {
                call: "AnySelector::best",
                subject: Subject::None,
                reason: "no backend to try",
            }))
    }

    /// Creates the selector named by the `SOCKPOLL_BACKEND` environment
    /// variable (`select`, `poll`, `epoll` or `uring`); unset or empty
    /// means the platform default. `uring` where io_uring cannot be used
    /// fails with [`Error::Unavailable`]: the variable is an explicit
    /// request, never silently replaced (use [`best`](AnySelector::best)
    /// for a fallback).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for an unknown or
    /// non-UTF-8 value (the message lists the valid names); otherwise as
    /// [`AnySelector::new`].
    pub fn from_env() -> Result<AnySelector> {
        let value = std::env::var_os(BACKEND_ENV);
        let value = match &value {
            None => None,
            Some(v) => Some(v.to_str().ok_or_else(|| Error::InvalidInput {
                call: BACKEND_ENV,
                subject: Subject::Name(v.to_string_lossy().into_owned()),
                reason: UNKNOWN,
            })?),
        };
        AnySelector::new(BackendKind::from_env_value(value)?)
    }

    /// Which backend this is.
    pub fn kind(&self) -> BackendKind {
        match self {
            AnySelector::Select(_) => BackendKind::Select,
            AnySelector::Poll(_) => BackendKind::Poll,
            #[cfg(linux_like)]
            AnySelector::Epoll(_) => BackendKind::Epoll,
            #[cfg(uring)]
            AnySelector::Uring(_) => BackendKind::Uring,
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnySelector::Select($s) => $e,
            AnySelector::Poll($s) => $e,
            #[cfg(linux_like)]
            AnySelector::Epoll($s) => $e,
            #[cfg(uring)]
            AnySelector::Uring($s) => $e,
        }
    };
}

impl Selector for AnySelector {
    fn register(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        dispatch!(self, s => s.register(fd, token, interest, mode))
    }

    fn reregister(
        &self,
        fd: BorrowedFd<'_>,
        token: Token,
        interest: Interest,
        mode: Mode,
    ) -> Result<()> {
        dispatch!(self, s => s.reregister(fd, token, interest, mode))
    }

    fn deregister(&self, fd: BorrowedFd<'_>) -> Result<()> {
        dispatch!(self, s => s.deregister(fd))
    }

    fn deregister_raw(&self, fd: RawFd) -> Result<()> {
        dispatch!(self, s => s.deregister_raw(fd))
    }

    fn deregister_token(&self, token: Token) -> Result<usize> {
        dispatch!(self, s => s.deregister_token(token))
    }

    fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        dispatch!(self, s => s.wait(events, timeout))
    }

    fn wait_interruptible(&self, events: &mut Events, timeout: Option<Duration>) -> Result<usize> {
        dispatch!(self, s => s.wait_interruptible(events, timeout))
    }

    fn next_event(&self, events: &mut Events) -> Option<Event> {
        dispatch!(self, s => s.next_event(events))
    }

    fn notify(&self) -> Result<()> {
        dispatch!(self, s => s.notify())
    }

    fn name(&self) -> &'static str {
        dispatch!(self, s => s.name())
    }

    fn metrics(&self) -> LoopMetrics {
        dispatch!(self, s => s.metrics())
    }

    fn supports(&self, mode: Mode) -> bool {
        dispatch!(self, s => s.supports(mode))
    }

    fn fd_limit(&self) -> Option<usize> {
        dispatch!(self, s => s.fd_limit())
    }

    fn timeout_resolution(&self) -> Duration {
        dispatch!(self, s => s.timeout_resolution())
    }
}

/// What [`AnySelector::best`] chose, and why not the backends before it.
///
/// Derefs to the [`AnySelector`], so [`Selector`] methods can be called on
/// it directly; [`into_selector`](Choice::into_selector) for an owned one.
#[derive(Debug)]
pub struct Choice {
    selector: AnySelector,
    passed_over: Vec<(BackendKind, Error)>,
}

impl Choice {
    /// The backend chosen.
    pub fn chosen(&self) -> BackendKind {
        self.selector.kind()
    }

    /// The backends tried before it, in order, each with the error that
    /// made `best` pass it over (e.g. [`Error::Unavailable`] with
    /// [`UnavailableReason::Denied`](crate::error::UnavailableReason::Denied)
    /// for io_uring under seccomp). Empty when the first one worked.
    pub fn why(&self) -> &[(BackendKind, Error)] {
        &self.passed_over
    }

    /// The selector.
    pub fn selector(&self) -> &AnySelector {
        &self.selector
    }

    /// The selector, dropping the reasons.
    pub fn into_selector(self) -> AnySelector {
        self.selector
    }
}

impl std::ops::Deref for Choice {
    type Target = AnySelector;

    fn deref(&self) -> &AnySelector {
        &self.selector
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    use super::*;
    use crate::event::Token;

    /// A forked child that drops its copy of the parent's selector (having
    /// made one of its own, as the docs advise) touches nothing the parent
    /// has: no `epoll_ctl` on the shared epoll instance, no unmapping of
    /// the parent's ring addresses (which may hold the child's new ring by
    /// then: the parent's are `MADV_DONTFORK`, absent in the child). The
    /// child's own selector works after the drop, and so does the parent's.
    #[test]
    fn a_selector_dropped_in_a_forked_child_leaves_the_parents_alone() {
        let soon = Some(Duration::from_secs(5));
        for &kind in BackendKind::ALL {
            let (a, _peer) = UnixStream::pair().unwrap();
            let mut parent = Some(AnySelector::new(kind).unwrap());
            let sel = parent.as_ref().unwrap();
            sel.register(a.as_fd(), Token(1), Interest::WRITABLE, Mode::Level)
                .unwrap();
            let mut events = Events::with_capacity(4);
            assert_eq!(sel.wait(&mut events, soon).unwrap(), 1, "{kind}");
            let code = crate::sys::fork::fork_and_run(Duration::from_secs(5), || {
                let Ok(own) = AnySelector::new(kind) else {
                    return 2;
                };
                drop(parent.take());
                if own
                    .register(a.as_fd(), Token(2), Interest::WRITABLE, Mode::Level)
                    .is_err()
                {
                    return 3;
                }
                let mut events = Events::with_capacity(4);
                match own.wait(&mut events, Some(Duration::from_secs(1))) {
                    Ok(1) => 0,
                    _ => 4,
                }
            });
            assert_eq!(code, Some(0), "{kind}: the child failed (None: killed)");
            let sel = parent.as_ref().unwrap();
            for _ in 0..2 {
                assert_eq!(sel.wait(&mut events, soon).unwrap(), 1, "{kind}");
                assert_eq!(
                    sel.next_event(&mut events).map(|e| e.token()),
                    Some(Token(1)),
                    "{kind}"
                );
            }
        }
    }
}
