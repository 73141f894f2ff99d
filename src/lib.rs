//! sockpoll: safe, thin types over the POSIX socket calls, and readiness
//! backends — `select`, `poll`, `epoll` and (feature `uring`) io_uring —
//! behind one trait.
//!
//! The crate root holds the socket layer: [`Socket`] (one owned descriptor
//! and the calls made on it), the typed wrappers [`TcpListener`],
//! [`TcpStream`], [`UdpSocket`], [`UnixListener`], [`UnixStream`] and
//! [`UnixDatagram`], addresses ([`SockAddr`]) and name resolution
//! ([`resolve`], over `getaddrinfo`). Readiness lives in [`event`]: the
//! [`Selector`](event::Selector) trait and its `select`, `poll`, `epoll` and `uring`
//! backends — see that module for the table of backends (cost per call as
//! descriptors grow, limits, modes, timeout resolution, when to choose
//! which) and a runnable readiness loop. Every failure is an [`Error`] that
//! names the call, what it acted on and the OS error, e.g.
//! `bind 127.0.0.1:80: Permission denied (os error 13)`.
//!
//! On Linux, message I/O rides on the same types: [`Socket::send_msg`] and
//! [`Socket::recv_msg`] with typed control messages ([`ControlMessage`] out,
//! [`Cmsg`] in: descriptors, credentials, packet info and source
//! addresses, timestamps, TOS/traffic class, UDP GSO/GRO, the error
//! queue), batches of datagrams in one call ([`MmsgBatch`] with
//! [`Socket::send_mmsg`]/[`Socket::recv_mmsg`]), and receives into
//! uninitialised memory ([`Socket::recv_uninit`]); [`RecvMsg`] says how
//! buffers are sized and who owns a received descriptor.
//!
//! ```
//! use std::io::{Read, Write};
//! use sockpoll::{TcpListener, TcpStream};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let mut client = TcpStream::connect(listener.local_addr()?)?;
//! let (mut server, peer) = listener.accept()?;
//! assert_eq!(peer, client.local_addr()?);
//!
//! client.write_all(b"hello")?;
//! let mut buf = [0; 5];
//! server.read_exact(&mut buf)?;
//! assert_eq!(&buf, b"hello");
//!
//! // A busy port is a typed error naming the address.
//! let err = TcpListener::bind(listener.local_addr()?).unwrap_err();
//! assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
//! # Ok(()) }
//! ```
//!
//! # Resolving and connecting without blocking a loop
//!
//! [`resolve`] blocks its thread for as long as getaddrinfo takes — seconds
//! for a name the resolver cannot answer. In an event loop, use a
//! [`Resolver`]: its lookups run on a bounded pool, and it is a descriptor
//! the loop's selector reports when results wait. Then connect without
//! blocking either: a non-blocking [`Socket::connect`] is "in progress",
//! and writability says it is done.
//!
//! ```
//! use std::os::fd::AsFd;
//! use std::time::Duration;
//! use sockpoll::event::{DefaultSelector, Events, Interest, Mode, Selector, Token};
//! use sockpoll::{Hints, Resolver, Socket, TcpListener, Type};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = TcpListener::bind("127.0.0.1:0")?; // something to connect to
//! let port = listener.local_addr()?.port().to_string();
//!
//! const RESOLVER: Token = Token(0);
//! const CONN: Token = Token(1);
//! let selector = DefaultSelector::new()?;
//! let resolver = Resolver::new()?;
//! selector.register(resolver.as_fd(), RESOLVER, Interest::READABLE, Mode::Level)?;
//! let hints = Hints::new().socket_type(Type::STREAM);
//! let lookup = resolver.resolve("localhost", Some(&port), hints)?;
//!
//! let mut conn: Option<Socket> = None;
//! let mut events = Events::with_capacity(64);
//! let connected = 'run: loop {
//!     selector.wait(&mut events, Some(Duration::from_secs(10)))?;
//!     while let Some(event) = selector.next_event(&mut events) {
//!         match event.token() {
//!             RESOLVER => {
//!                 while let Some(done) = resolver.take() {
//!                     assert_eq!(done.id, lookup.id());
//!                     let addrs = done.result?;
//!                     // The IPv4 answer (the listener is on 127.0.0.1).
//!                     let Some(a) = addrs.iter().find(|a| a.addr.as_socket().is_some_and(|s| s.is_ipv4())) else {
//!                         break 'run false;
//!                     };
//!                     let s = Socket::new_nonblocking(a.domain, Type::STREAM, None)?;
//!                     match s.connect(&a.addr) {
//!                         Ok(()) => {}
//!                         Err(e) if e.is_in_progress() => {}
//!                         Err(e) => return Err(e.into()),
//!                     }
//!                     selector.register(s.as_fd(), CONN, Interest::WRITABLE, Mode::Oneshot)?;
//!                     conn = Some(s);
//!                 }
//!             }
//!             CONN => {
//!                 let s = conn.as_ref().ok_or("no connection")?;
//!                 break 'run s.take_error()?.is_none();
//!             }
//!             _ => {}
//!         }
//!     }
//! };
//! assert!(connected);
//! # Ok(()) }
//! ```
//!
//! # Map of the crate
//!
//! Every name has one public path. The socket layer's names are at the
//! crate root (`sockpoll::Socket`, `sockpoll::Error`); the readiness
//! names stay in their module (`sockpoll::event::Selector`), which the
//! root does not repeat, because `event` is a vocabulary of its own
//! (`Token`, `Interest`, `Mode`, `Events`, the backends) that reads better
//! qualified. The files below `src/`:
//!
//! | path | what |
//! |---|---|
//! | `lib.rs` | this map, the lints, the one set of public re-exports |
//! | `error.rs`, `addr.rs` | the ground pair: [`Error`] (with [`Subject`], which may hold a [`SockAddr`]) and the addresses and `Domain`/`Type`/`Protocol`; both sit below everything else |
//! | `resolver.rs` | [`Resolver`]: getaddrinfo on a bounded pool, results delivered through a selector |
//! | `net/` (private) | the socket layer: [`Socket`] and its options, the typed wrappers, message I/O, `TCP_INFO`, name resolution; `net/mod.rs` maps its files |
//! | `event/` ([`event`]) | the [`Selector`](event::Selector) trait, its values, [`Waker`](event::Waker), the four backends and [`AnySelector`](event::AnySelector); `event/mod.rs` maps its files |
//! | `sys/` (private) | every raw system call, wrapped once; the only unchecked code; `sys/mod.rs` says what each file wraps |
//!
//! Imports point down only: `resolver` uses `event` and `net`, which use `sys`; `sys` uses only
//! `error` and `addr`, and no backend uses another.
//!
//! # Guarantees
//!
//! - **Close-on-exec, always**: `socket`/`socketpair` with `SOCK_CLOEXEC`,
//!   `accept4(SOCK_CLOEXEC)`, descriptors received with `SCM_RIGHTS`
//!   through `recvmsg(MSG_CMSG_CLOEXEC)` (Linux; the BSDs and illumos have
//!   the same flags). macOS has none of them: there `FD_CLOEXEC` is set by
//!   `fcntl` right after `socket`, `socketpair`, `accept` and `pipe`, and a
//!   `fork` + `exec` on another thread between the two calls can inherit
//!   the descriptor (std, mio and socket2 have the same window there).
//! - **Received descriptors are owned at once**: a [`RecvMsg`] (or
//!   [`MmsgBatch`]) owns every descriptor that arrived — those of
//!   `SCM_RIGHTS` and the pidfd of `SCM_PIDFD`, the two ways the kernel
//!   installs one — hands each out once as an `OwnedFd`, and closes those
//!   not taken — a truncated control buffer (`MSG_CTRUNC`) included.
//! - **No `SIGPIPE`**: every send uses `MSG_NOSIGNAL` (Linux, the BSDs,
//!   illumos); on macOS, which lacks it, every socket sockpoll creates or
//!   accepts has `SO_NOSIGPIPE` set. A send to a closed peer is a
//!   [`BrokenPipe`](std::io::ErrorKind::BrokenPipe) error.
//! - **The platform's limits, not Linux's**: the longest Unix path is
//!   [`UNIX_PATH_MAX`], from the platform's `sockaddr_un` (107 bytes on
//!   Linux, 103 on macOS and the BSDs); `EAI_*` values differ between C
//!   libraries, so compare [`EaiCode`]s, not numbers; each backend's timeout
//!   resolution is its [`Selector::timeout_resolution`](event::Selector::timeout_resolution)
//!   (`poll` is nanosecond-exact through `ppoll` on Linux and the BSDs,
//!   millisecond on macOS and illumos).
//! - **Absent rather than wrong**: what a platform lacks (message I/O, GSO
//!   and GRO, `TCP_INFO`, epoll, io_uring, abstract Unix names, Linux-only
//!   options) is not in its API; the README's platform table says what is
//!   where.
//! - **No double close**: descriptors are `OwnedFd`; [`Socket::close`]
//!   consumes the socket and reports the error `Drop` must swallow.
//! - **No panics on bad input or OS errors**: an over-long Unix path, a NUL
//!   in a host name, a port over 65535 are [`InvalidInput`](std::io::ErrorKind::InvalidInput)
//!   errors; resolution failures keep their `EAI_*` code ([`EaiCode`]).
//! - **Raw system calls live in one private module** (`sys`), each wrapped
//!   once, every block of unchecked code with the reason it is sound.
//!
//! # EINTR policy
//!
//! One rule, everywhere: a call interrupted by a signal before it made
//! progress is restarted (`accept`, `send`, `recv` and their variants,
//! `getaddrinfo` does its own). A readiness `wait` is restarted with the
//! *remaining* time — its deadline does not move — and a `Waker` still ends
//! it. An interrupted blocking TCP `connect` goes on in the kernel, so
//! [`Socket::connect`] waits for it to finish and reports its outcome; an
//! interrupted `AF_UNIX` connect is abandoned by the kernel, so it is made
//! again. Either way `connect` never reports a socket that is not connected,
//! and a write timeout (`SO_SNDTIMEO`) bounds it from its start, signals or
//! not.
//! `close` is never retried: Linux has released the descriptor even when it
//! reports `EINTR`.
#![deny(missing_docs, missing_debug_implementations)]
// docs.rs marks each platform-only item with the targets it exists on.
#![cfg_attr(docsrs, feature(doc_cfg))]
// (std's own cfg on the blanket impls it lends us is not ours to show.)
#![cfg_attr(docsrs, doc(auto_cfg(hide(no_global_oom_handling))))]
#![warn(rust_2018_idioms)]

#[macro_use]
mod macros;

mod addr;
mod error;
pub mod event;
mod net;
mod resolver;
mod sys;

#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;

pub use error::{EaiCode, Error, ResolveError, Result, Subject, UnavailableReason};
#[cfg(target_os = "linux")]
pub use net::{
    cmsg_space, Cmsg, CmsgBuffer, CmsgKind, Cmsgs, ControlMessage, ErrorOrigin, ExtendedError,
    GroRecv, MmsgBatch, RecvFlags, RecvMsg, ScmPidfd, ScmRights, SendMsg, UnixCredentials,
    MAX_MMSG_BATCH, MAX_MMSG_CONTROL, MAX_SEND_CONTROL,
};
pub use net::{
    getnameinfo, hostname, resolve, AddrInfo, Domain, Hints, NameInfoFlags, Protocol, Received,
    SockAddr, Socket, TcpInfo, TcpListener, TcpState, TcpStream, ToSockAddrs, Type, UdpSocket,
    UnixDatagram, UnixListener, UnixStream, DEFAULT_BACKLOG, MAX_UDP_PAYLOAD_V4, UNIX_PATH_MAX,
};
#[cfg(target_os = "linux")]
pub use net::{BpfInstruction, BPF_MAX_INSTRUCTIONS};

/// The README's example, compiled and run as a doctest so it cannot rot.
pub use resolver::{Lookup, LookupId, Resolved, Resolver, ResolverConfig};

#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
