//! Choosing the backend at run time.

use std::fmt;
use std::os::fd::{BorrowedFd, RawFd};
use std::str::FromStr;
use std::time::Duration;

#[cfg(linux_like)]
use super::EpollSelector;
use super::{Event, Events, Interest, Mode, PollSelector, SelectSelector, Selector, Token};
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
    Epoll,
}

#[cfg(linux_like)]
const UNKNOWN: &str = "unknown backend; valid names: select, poll, epoll";
#[cfg(not(linux_like))]
const UNKNOWN: &str = "unknown backend; valid names: select, poll";

impl BackendKind {
    /// Every backend available on this platform.
    #[cfg(linux_like)]
    pub const ALL: &'static [BackendKind] =
        &[BackendKind::Select, BackendKind::Poll, BackendKind::Epoll];
    /// Every backend available on this platform.
    #[cfg(not(linux_like))]
    pub const ALL: &'static [BackendKind] = &[BackendKind::Select, BackendKind::Poll];

    /// The backend's name, as [`Selector::name`] reports it.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Select => "select",
            BackendKind::Poll => "poll",
            #[cfg(linux_like)]
            BackendKind::Epoll => "epoll",
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

    /// Parses `"select"`, `"poll"` or `"epoll"` (ASCII case-insensitive).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for any other
    /// string; the message lists the valid names.
    fn from_str(s: &str) -> Result<BackendKind> {
        BackendKind::ALL
            .iter()
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
    Epoll(EpollSelector),
}

impl AnySelector {
    /// Creates a selector of the given kind.
    ///
    /// # Errors
    ///
    /// As the backend's `new` (e.g. `EMFILE` from `epoll_create1`).
    pub fn new(kind: BackendKind) -> Result<AnySelector> {
        Ok(match kind {
            BackendKind::Select => AnySelector::Select(SelectSelector::new()?),
            BackendKind::Poll => AnySelector::Poll(PollSelector::new()?),
            #[cfg(linux_like)]
            BackendKind::Epoll => AnySelector::Epoll(EpollSelector::new()?),
        })
    }

    /// Creates the selector named by the `SOCKPOLL_BACKEND` environment
    /// variable (`select`, `poll` or `epoll`); unset or empty means the
    /// platform default.
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

    fn next_event(&self, events: &mut Events) -> Option<Event> {
        dispatch!(self, s => s.next_event(events))
    }

    fn notify(&self) -> Result<()> {
        dispatch!(self, s => s.notify())
    }

    fn name(&self) -> &'static str {
        dispatch!(self, s => s.name())
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
