//! The crate's error type: which call failed, on what, and why.
//!
//! This file and `addr.rs` are the ground pair and need each other: a
//! [`Subject`] may hold the [`SockAddr`] a call was about, and a bad
//! address is an [`Error`]. Neither needs anything else of the crate.

use std::fmt;
use std::io;
use std::os::fd::RawFd;

use crate::addr::SockAddr;

/// A specialised [`Result`](std::result::Result) whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a failed call acted on, printed after the call's name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subject {
    /// Nothing worth naming (e.g. `socket` itself).
    None,
    /// A file descriptor.
    Fd(RawFd),
    /// A socket address.
    Addr(SockAddr),
    /// A host name, service name or path given by the caller.
    Name(String),
    /// The `nfds` argument of `poll(2)` (how many `pollfd`s) or `select(2)`
    /// (one more than the highest fd in the sets).
    Nfds(usize),
    /// A readiness [`Token`](crate::event::Token)'s number.
    Token(usize),
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::None => Ok(()),
            Subject::Fd(fd) => write!(f, "fd {fd}"),
            Subject::Addr(addr) => write!(f, "{addr}"),
            Subject::Name(name) => write!(f, "{name:?}"),
            Subject::Nfds(n) => write!(f, "nfds {n}"),
            Subject::Token(t) => write!(f, "token {t}"),
        }
    }
}

impl Subject {
    fn is_none(&self) -> bool {
        matches!(self, Subject::None)
    }
}

/// A `getaddrinfo(3)`/`getnameinfo(3)` error code (`EAI_*`).
///
/// `Debug` and `Display` print the constant's name, e.g. `EAI_NONAME`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EaiCode(pub i32);

impl EaiCode {
    /// The name of the `EAI_*` constant, or `None` for a code this platform
    /// does not define.
    pub fn name(self) -> Option<&'static str> {
        eai_name(self.0)
    }

    /// The `io::ErrorKind` this code maps to.
    ///
    /// "No such name" codes are [`NotFound`](io::ErrorKind::NotFound), bad
    /// arguments are [`InvalidInput`](io::ErrorKind::InvalidInput), memory
    /// exhaustion is [`OutOfMemory`](io::ErrorKind::OutOfMemory), anything
    /// else is [`Other`](io::ErrorKind::Other). (`EAI_SYSTEM` uses errno's
    /// kind instead; see [`Error::kind`].)
    pub fn kind(self) -> io::ErrorKind {
        eai_kind(self.0)
    }
}

impl fmt::Debug for EaiCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "EAI({})", self.0),
        }
    }
}

impl fmt::Display for EaiCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

// The EAI_* tables: plain data over libc's constants, kept with the type
// that prints them (not in sys/, which the error type must not name).

/// glibc's `EAI_ADDRFAMILY` (a GNU extension libc does not export): the host
/// has no address in the requested family.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const EAI_ADDRFAMILY: i32 = -9;

/// The name of an `EAI_*` code.
fn eai_name(code: i32) -> Option<&'static str> {
    Some(match code {
        libc::EAI_AGAIN => "EAI_AGAIN",
        libc::EAI_BADFLAGS => "EAI_BADFLAGS",
        libc::EAI_FAIL => "EAI_FAIL",
        libc::EAI_FAMILY => "EAI_FAMILY",
        libc::EAI_MEMORY => "EAI_MEMORY",
        libc::EAI_NONAME => "EAI_NONAME",
        libc::EAI_SERVICE => "EAI_SERVICE",
        libc::EAI_SOCKTYPE => "EAI_SOCKTYPE",
        libc::EAI_SYSTEM => "EAI_SYSTEM",
        libc::EAI_OVERFLOW => "EAI_OVERFLOW",
        #[cfg(linux_like)]
        libc::EAI_NODATA => "EAI_NODATA",
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        EAI_ADDRFAMILY => "EAI_ADDRFAMILY",
        _ => return None,
    })
}

/// The `io::ErrorKind` of an `EAI_*` code (EAI_SYSTEM: see `Error::kind`).
fn eai_kind(code: i32) -> io::ErrorKind {
    match code {
        libc::EAI_NONAME => io::ErrorKind::NotFound,
        #[cfg(linux_like)]
        libc::EAI_NODATA => io::ErrorKind::NotFound,
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        EAI_ADDRFAMILY => io::ErrorKind::NotFound,
        libc::EAI_BADFLAGS | libc::EAI_FAMILY | libc::EAI_SERVICE | libc::EAI_SOCKTYPE => {
            io::ErrorKind::InvalidInput
        }
        libc::EAI_MEMORY => io::ErrorKind::OutOfMemory,
        _ => io::ErrorKind::Other,
    }
}

/// Why a readiness backend cannot be used here ([`Error::Unavailable`]).
///
/// `Display` says it in a few words, naming what is missing where that is
/// the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UnavailableReason {
    /// The system call is refused as unknown (`ENOSYS`): a seccomp filter
    /// (the default profile of most container runtimes denies io_uring), or
    /// a kernel built without it (`CONFIG_IO_URING=n`).
    Denied,
    /// The kernel has it but an administrator turned it off (`EPERM`): the
    /// `kernel.io_uring_disabled` sysctl (2: for everyone; 1: for processes
    /// outside `kernel.io_uring_group`), or a security module.
    Disabled,
    /// The kernel is too old for what the backend needs: an `EINVAL` from
    /// setup, or a feature or opcode the kernel does not list
    /// (`IORING_REGISTER_PROBE`), named here.
    TooOld {
        /// What is missing, e.g. `"IORING_FEAT_EXT_ARG (Linux 5.11)"`.
        missing: &'static str,
    },
    /// The selector was made by another process: this one is a `fork` of
    /// it, and the kernel object (an io_uring instance, shared with the
    /// parent) may not be used here. Make a new selector in the child.
    Forked,
    /// The backend is not built for this target: the `uring` feature is
    /// on, but the io-uring crate has no proven layouts for this Linux
    /// architecture (32-bit x86 and ARM among them), so `UringSelector`
    /// does not exist here.
    NotBuilt,
}

impl fmt::Display for UnavailableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnavailableReason::Denied => {
                f.write_str("denied (ENOSYS: a seccomp filter, or not built into the kernel)")
            }
            UnavailableReason::Disabled => f.write_str(
                "disabled (EPERM: the kernel.io_uring_disabled sysctl or a security module)",
            ),
            UnavailableReason::TooOld { missing } => {
                write!(f, "the kernel is too old: it lacks {missing}")
            }
            UnavailableReason::Forked => f.write_str(
                "the selector belongs to the parent process (this is a fork): make a new one",
            ),
            UnavailableReason::NotBuilt => f.write_str(
                "not built for this architecture (the io-uring crate has no proven layouts for it)",
            ),
        }
    }
}

/// The details of a failed name resolution (boxed inside [`Error::Resolve`]
/// so that `Error` stays small on the hot path).
#[derive(Debug)]
pub struct ResolveError {
    /// `"getaddrinfo"` or `"getnameinfo"`.
    pub call: &'static str,
    /// What was looked up: `host:service`, or the address for `getnameinfo`.
    pub query: String,
    /// The `EAI_*` code.
    pub code: EaiCode,
    /// The text of `gai_strerror(code)`.
    pub message: String,
    /// errno, when `code` is `EAI_SYSTEM`.
    pub errno: Option<io::Error>,
}

/// The error of every fallible call in sockpoll.
///
/// Each variant's message names the call, what it acted on and the cause,
/// e.g. `bind 127.0.0.1:80: Permission denied (os error 13)`.
///
/// [`kind`](Error::kind) gives the `io::ErrorKind`, which survives the
/// conversion into `io::Error` and back: `WouldBlock` stays `WouldBlock`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed with an OS error.
    #[error("{call}{sep}{subject}: {source}", sep = if subject.is_none() { "" } else { " " })]
    Os {
        /// The call, named as in its man page (`bind`, `epoll_ctl`, …).
        call: &'static str,
        /// What it acted on.
        subject: Subject,
        /// The OS error (`raw_os_error()` gives errno).
        #[source]
        source: io::Error,
    },
    /// Name resolution failed (`getaddrinfo`/`getnameinfo`).
    #[error("{} {}: {} ({})", .0.call, .0.query, .0.message, .0.code)]
    Resolve(Box<ResolveError>),
    /// An `io::Error` that did not come from sockpoll, converted with
    /// `Error::from` (e.g. by `?` in code that mixes std and sockpoll
    /// calls). Which call failed is not known; the message is the
    /// `io::Error`'s own, and [`call`](Error::call) is `"unknown"`.
    #[error(transparent)]
    Io(io::Error),
    /// An argument was rejected before any system call was made: an interior
    /// NUL, a Unix path longer than `sun_path`, an unparsable port, …
    #[error("{call}{sep}{subject}: {reason}", sep = if subject.is_none() { "" } else { " " })]
    InvalidInput {
        /// The call that would have been made.
        call: &'static str,
        /// The offending argument.
        subject: Subject,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The selector backend lacks a mode or feature (e.g. edge-triggered
    /// readiness on `poll`). Its kind is [`Unsupported`](io::ErrorKind::Unsupported).
    #[error("{call}: {what} is not supported by the {backend} backend")]
    Unsupported {
        /// The selector method that was refused (`"register"`,
        /// `"reregister"`).
        call: &'static str,
        /// The backend's [`name`](crate::event::Selector::name).
        backend: &'static str,
        /// What was asked for.
        what: &'static str,
    },
    /// A file descriptor at or above what the backend can watch (e.g.
    /// `FD_SETSIZE` for `select` where its sets cannot grow). Its kind is
    /// [`InvalidInput`](io::ErrorKind::InvalidInput).
    #[error("{call} fd {fd}: at or above the {backend} backend's limit of {limit} descriptors")]
    FdLimit {
        /// The selector method that was refused (`"register"`,
        /// `"reregister"`).
        call: &'static str,
        /// The backend's name.
        backend: &'static str,
        /// The descriptor that was refused.
        fd: RawFd,
        /// The first descriptor number the backend cannot watch.
        limit: usize,
    },
    /// `epoll` still watches a file that is no longer at the fd number it
    /// was registered under — the fd was closed while registered, and a
    /// `dup` keeps the file open — and the selector could not make it stop
    /// (or, where the kernel cannot be asked, rule it out).
    ///
    /// epoll keys a registration by (file, number), and `EPOLL_CTL_DEL`
    /// needs that file at that number, so the only way left is to replace
    /// the whole epoll instance; `source` says why that failed (e.g.
    /// `EMFILE` from `epoll_create1`). Nothing was changed; retry once fds
    /// are free, or close the dup. Its kind is `source`'s.
    #[error(
        "{call} fd {fd}: epoll still watches the file first registered under this number \
         (closed there, but open through a dup), and dropping it failed: {source}"
    )]
    StillWatched {
        /// The selector method (`"deregister"`, `"reregister"`, `"wait"`).
        call: &'static str,
        /// The fd number the old file was registered under.
        fd: RawFd,
        /// Why the epoll instance could not be replaced.
        #[source]
        source: Box<Error>,
    },
    /// A [`reregister`](crate::event::Selector::reregister) that the kernel
    /// refused after the old registration had been taken out of it (epoll
    /// must delete an `EXCLUSIVE` registration and add it again), and
    /// putting the old one back failed too: the fd is no longer registered
    /// (it may be registered afresh). `source` is the kernel's refusal of
    /// the new settings. Its kind is `source`'s.
    #[error("{call} fd {fd}: refused, and the old registration could not be restored (the fd is no longer registered): {source}")]
    Deregistered {
        /// The selector method (`"reregister"`).
        call: &'static str,
        /// The fd number that is no longer registered.
        fd: RawFd,
        /// Why the new settings were refused.
        #[source]
        source: Box<Error>,
    },
    /// A bounded queue was full: [`Resolver::resolve`](crate::Resolver::resolve)
    /// with as many lookups outstanding as the resolver's queue holds.
    /// Nothing was queued; try again once results have been taken. Its
    /// kind is [`WouldBlock`](io::ErrorKind::WouldBlock).
    #[error("{call}: the queue is full ({capacity} outstanding)")]
    QueueFull {
        /// The call that was refused (`"resolve"`).
        call: &'static str,
        /// How many the queue holds.
        capacity: usize,
    },
    /// A backend cannot be used on this system (or in this process), for
    /// the typed `reason`: io_uring denied by seccomp, disabled by sysctl,
    /// missing from an old kernel, or a selector used in a forked child.
    /// Its kind is [`Unsupported`](io::ErrorKind::Unsupported);
    /// [`raw_os_error`](Error::raw_os_error) gives the kernel's errno where
    /// one was the answer. [`AnySelector::best`](crate::event::AnySelector::best)
    /// passes over such a backend and says why.
    #[error("{call}: the {backend} backend is unavailable: {reason}")]
    Unavailable {
        /// The call that found out (`"io_uring_setup"`, `"wait"`, …).
        call: &'static str,
        /// The backend's [`name`](crate::event::Selector::name).
        backend: &'static str,
        /// Why.
        reason: UnavailableReason,
        /// The kernel's answer, if the reason is an errno.
        #[source]
        source: Option<io::Error>,
    },
}

impl Error {
    /// An OS error from `call` acting on `subject`.
    pub(crate) fn os(call: &'static str, subject: Subject, source: io::Error) -> Error {
        Error::Os {
            call,
            subject,
            source,
        }
    }

    /// An OS error from errno code `errno` (used where a backend reproduces
    /// a kernel error, such as `EEXIST` for a second registration).
    pub(crate) fn errno(call: &'static str, subject: Subject, errno: i32) -> Error {
        Error::os(call, subject, io::Error::from_raw_os_error(errno))
    }

    /// The `io::ErrorKind` of this error. An OS error keeps std's kind,
    /// except `ENODEV` ("No such device", e.g. `SO_BINDTODEVICE` naming an
    /// interface that does not exist), which std leaves uncategorised and
    /// sockpoll reports as [`NotFound`](io::ErrorKind::NotFound);
    /// [`raw_os_error`](Error::raw_os_error) still gives `ENODEV`.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            Error::Os { source, .. } => match source.raw_os_error() {
                Some(libc::ENODEV) => io::ErrorKind::NotFound,
                _ => source.kind(),
            },
            Error::Io(source) => source.kind(),
            Error::Resolve(r) => match &r.errno {
                Some(errno) => errno.kind(),
                None => r.code.kind(),
            },
            Error::InvalidInput { .. } | Error::FdLimit { .. } => io::ErrorKind::InvalidInput,
            Error::QueueFull { .. } => io::ErrorKind::WouldBlock,
            Error::Unsupported { .. } | Error::Unavailable { .. } => io::ErrorKind::Unsupported,
            Error::StillWatched { source, .. } | Error::Deregistered { source, .. } => {
                source.kind()
            }
        }
    }

    /// The OS error number (errno), if this error carries one.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            Error::Os { source, .. } | Error::Io(source) => source.raw_os_error(),
            Error::Resolve(r) => r.errno.as_ref().and_then(io::Error::raw_os_error),
            Error::StillWatched { source, .. } | Error::Deregistered { source, .. } => {
                source.raw_os_error()
            }
            Error::Unavailable { source, .. } => source.as_ref().and_then(io::Error::raw_os_error),
            _ => None,
        }
    }

    /// The name of the call that failed (`"bind"`, `"getaddrinfo"`, …).
    pub fn call(&self) -> &'static str {
        match self {
            Error::Os { call, .. }
            | Error::InvalidInput { call, .. }
            | Error::Unsupported { call, .. }
            | Error::FdLimit { call, .. }
            | Error::StillWatched { call, .. }
            | Error::Deregistered { call, .. }
            | Error::Unavailable { call, .. }
            | Error::QueueFull { call, .. } => call,
            Error::Resolve(r) => r.call,
            Error::Io(_) => "unknown",
        }
    }

    /// This error as std's own socket types would report it: for an OS
    /// error the bare `io::Error` (so [`raw_os_error`](io::Error::raw_os_error)
    /// gives errno), dropping the call and subject; any other error through
    /// `io::Error::from`. sockpoll's `io::Read`/`io::Write` impls use it.
    pub fn into_std(self) -> io::Error {
        match self {
            Error::Os { source, .. } | Error::Io(source) => source,
            other => io::Error::from(other),
        }
    }

    /// True for a non-blocking `connect` that has started but not finished
    /// (`EINPROGRESS`): wait for writability, then ask
    /// [`Socket::take_error`](crate::Socket::take_error).
    pub fn is_in_progress(&self) -> bool {
        self.raw_os_error() == Some(libc::EINPROGRESS)
    }

    /// True when the process (`EMFILE`) or the system (`ENFILE`) has run out
    /// of file descriptors. On `accept` the connection stays queued, so a
    /// level-triggered listener stays ready: stop watching it for a moment.
    pub fn is_fd_exhausted(&self) -> bool {
        matches!(self.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
    }

    /// True when the error is [`WouldBlock`](io::ErrorKind::WouldBlock)
    /// (`EAGAIN`/`EWOULDBLOCK`): retry once the socket is ready.
    pub fn is_would_block(&self) -> bool {
        self.kind() == io::ErrorKind::WouldBlock
    }
}

impl From<Error> for io::Error {
    /// Keeps the kind; the `sockpoll::Error` stays reachable through
    /// `io::Error::get_ref` / `into_inner` and comes back whole through
    /// `Error::from(io::Error)`.
    fn from(err: Error) -> io::Error {
        io::Error::new(err.kind(), err)
    }
}

impl From<io::Error> for Error {
    /// Unwraps an `io::Error` that carries a `sockpoll::Error`; any other
    /// becomes [`Error::Io`], which does not pretend to know the call.
    fn from(err: io::Error) -> Error {
        if !err.get_ref().is_some_and(|inner| inner.is::<Error>()) {
            return Error::Io(err);
        }
        match err.into_inner().map(|inner| inner.downcast::<Error>()) {
            Some(Ok(ours)) => *ours,
            // Not reached (get_ref just said the payload is ours); kept
            // total so the conversion has no panic path.
            _ => Error::Io(io::Error::other("lost sockpoll::Error")),
        }
    }
}
