//! Readiness: one [`Selector`] trait, four backends that behave the same.
//!
//! Anything that implements [`AsFd`](std::os::fd::AsFd) can be registered:
//! std sockets and pipes, sockpoll's own sockets, a [`Waker`], an
//! eventfd….
//!
//! # Backends
//!
//! | backend | call | cost per `wait` as fds grow | fd limit | modes | timeout resolution | choose it when |
//! |---|---|---|---|---|---|---|
//! | [`SelectSelector`] | [`select(2)`](https://man7.org/linux/man-pages/man2/select.2.html) | O(highest fd): sets rebuilt and scanned each call | Linux: none but the process limit (sets sized to the highest fd); elsewhere `FD_SETSIZE` ([`Error::FdLimit`](crate::Error::FdLimit) at `register`) | Level, Oneshot (emulated); no Edge, EdgeOneshot | 1 ns (`pselect`) | portability to the oldest systems; a handful of fds |
//! | [`PollSelector`] | [`poll(2)`](https://man7.org/linux/man-pages/man2/poll.2.html) | O(registered fds): the whole array is copied in and scanned | process limit | Level, Oneshot (emulated); no Edge, EdgeOneshot | 1 ns (`ppoll`: Linux, the BSDs); 1 ms (`poll`: macOS, illumos) | portable, no fd-number limit, up to a few hundred fds (the [`DefaultSelector`] off Linux) |
//! | [`EpollSelector`] | [`epoll(7)`](https://man7.org/linux/man-pages/man7/epoll.7.html) | O(ready fds); registration is a syscall | process limit | Level, Oneshot, Edge, EdgeOneshot | 1 ns (`epoll_pwait2`, Linux 5.11+), else 1 ms | Linux, many fds (the [`DefaultSelector`] there) |
//! | `UringSelector` (feature `uring`, default on) | [`io_uring(7)`](https://man7.org/linux/man-pages/man7/io_uring.7.html) `POLL_ADD` | O(ready fds); registration is queued and rides in the next wait's `io_uring_enter` | process limit | Level (multishot poll + probe), Oneshot, Edge (multishot), EdgeOneshot | 1 ns (`IORING_ENTER_EXT_ARG`) | Linux 5.13+ where io_uring is allowed (built on x86_64, aarch64, riscv64, loongarch64, powerpc64); one waiting thread |
//!
//! [`AnySelector`] picks one at run time, e.g. from the `SOCKPOLL_BACKEND`
//! environment variable; [`AnySelector::best`] takes the first that works
//! of uring, epoll and poll, and says why it passed over the others.
//!
//! # The contract
//!
//! Every backend keeps the one contract the [`Selector`] trait states —
//! its errors, stale events, timeouts and `EINTR`, closing, `dup` and
//! `fork`, nesting — and the `sockpoll-conformance` crate proves it,
//! case by case, on each of them (and on backends written elsewhere).
//!
//! # Where things are
//!
//! | what | files |
//! |---|---|
//! | the values: [`Token`], [`Interest`], [`Mode`], [`Event`], [`Events`] | `event/types.rs` |
//! | the [`Selector`] trait and its contract | `event/selector.rs` |
//! | [`Waker`] | `event/waker.rs` |
//! | loop metrics: [`LoopMetrics`], [`LoopMeter`] | `event/metrics.rs` |
//! | a fair exclusive listener: [`ExclusiveAccept`] | `event/rearm.rs` |
//! | what the backends share (the wait loop, `EINTR`, the notifier, pollfd translation) | `event/kit.rs`, `event/registry.rs` |
//! | `select` | `event/select.rs`, `sys/select.rs` |
//! | `poll` | `event/poll.rs`, `sys/poll.rs` |
//! | `epoll` | `event/epoll.rs`, `sys/epoll.rs` |
//! | `uring` | `event/uring.rs` and `event/uring/`, `sys/uring.rs` |
//! | [`AnySelector`], [`BackendKind`] | `event/any.rs` |
//!
//! A backend uses the values, the kit, the registry and `sys`, never
//! another backend.
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

mod any;
#[cfg(linux_like)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
mod epoll;
mod kit;
mod metrics;
mod poll;
mod rearm;
mod registry;
mod select;
mod selector;
mod types;
uring_items! {
    mod uring;
}
mod waker;

pub use any::{AnySelector, BackendKind, Choice, BACKEND_ENV};
#[cfg(linux_like)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
pub use epoll::EpollSelector;
pub(crate) use kit::{
    lock, registry_error, shared_selector_methods, wait_with_deadline, Backend, Notifier, OnSignal,
};
pub use metrics::{LoopMeter, LoopMetrics};
pub use poll::PollSelector;
pub use rearm::ExclusiveAccept;
pub use select::SelectSelector;
pub use selector::Selector;
pub(crate) use types::flags;
pub use types::{Event, Events, Interest, Mode, Token};
uring_items! {
    pub use uring::{RingSetup, UringSelector};
}
pub use waker::Waker;

/// The best backend on this platform: [`EpollSelector`] on Linux.
#[cfg(linux_like)]
#[cfg_attr(docsrs, doc(auto_cfg = false))]
pub type DefaultSelector = EpollSelector;
/// The best backend on this platform: [`PollSelector`] where there is no
/// epoll.
#[cfg(not(linux_like))]
#[cfg_attr(docsrs, doc(auto_cfg = false))]
pub type DefaultSelector = PollSelector;
