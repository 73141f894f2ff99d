//! The only module with `unsafe` and raw libc calls.
//!
//! Each raw call is wrapped once, here, in a small safe function: it retries
//! `EINTR` where that is safe (see the crate docs for the policy), turns `-1`
//! into an [`Error`](crate::error::Error) carrying errno through [`check`], and
//! keeps every `unsafe` block small with a `// SAFETY:` line. Files mirror
//! `net/` and `event/`.
//!
//! Layering: `sys` sits below `net` and `event` and never names them. It may
//! use the ground types only — `crate::error` (the error of every call) and
//! `crate::addr` (`SockAddr` and `Domain`/`Type`/`Protocol`, whose bytes it
//! hands to the kernel) — and nothing above.
//!
//! # Linux-only calls and their portable paths
//!
//! Every call below sits behind a `cfg` (the target sets are named once, in
//! `build.rs`: `linux_like`, `has_ppoll`, `bsd_pipe2`, `atomic_cloexec`,
//! `has_so_domain`, `uring`) with the portable path beside it. CI
//! (`.ci/cross.sh`) compiles every column for macOS, the BSDs and illumos
//! and runs the suite on three Linux ABIs (x86_64 glibc, i686 glibc, x86_64
//! musl); the non-Linux columns are compiled, not run.
//!
//! | what | Linux/Android | elsewhere | where |
//! |---|---|---|---|
//! | close-on-exec / non-blocking at creation | `SOCK_CLOEXEC`, `SOCK_NONBLOCK` on `socket`, `socketpair`, `accept4` (also the BSDs, illumos) | `socket`/`accept`, then `fcntl(F_SETFD, FD_CLOEXEC)` and `fcntl(F_SETFL, O_NONBLOCK)`: not atomic against a concurrent `fork`+`exec` | `socket.rs` (`cfg_atomic_flags!`) |
//! | no `SIGPIPE` on send | `MSG_NOSIGNAL` on every send (also the BSDs, illumos) | `SO_NOSIGPIPE` set on every socket at creation (Apple) | `socket.rs` |
//! | readiness | `epoll_create1(EPOLL_CLOEXEC)`, `epoll_ctl`, `epoll_pwait2` (5.11+) or `epoll_wait` | no `EpollSelector`; `DefaultSelector` is `PollSelector` | `epoll.rs` |
//! | precise poll | `ppoll` (also the BSDs) | `poll`, timeouts rounded up to ms | `poll.rs` |
//! | waker / notifier | `eventfd(EFD_CLOEXEC \| EFD_NONBLOCK)` | a pipe: `pipe2(O_CLOEXEC \| O_NONBLOCK)`, or `pipe` + `fcntl` where there is no `pipe2` (Apple) | `waker.rs`, `fd.rs` |
//! | `POLLRDHUP` | requested, reported as read-closed | 0 (read-closed from `POLLHUP` only) | `event/poll.rs` |
//! | select set size | sets sized to the highest fd | `FD_SETSIZE`, `Error::FdLimit` at `register` | `event/select.rs` |
//! | abstract Unix names | `sun_path` starting with NUL | `SockAddr::abstract_name` is `InvalidInput` | `addr.rs` |
//! | `sun_path` length | from libc's `sockaddr_un` (108) | the same (104 on the BSDs and Apple) | `addr.rs` |
//! | message I/O: control messages, `sendmmsg`/`recvmmsg`, UDP GSO/GRO, error queue, `SO_PEERCRED` | `cmsg.rs`, `msg.rs`, `mmsg.rs`, Linux only (the constants and `mmsghdr` are Linux's; musl types the batch calls' flags `c_uint`, and its 64-bit `sendmsg` takes at most 1024 control bytes, so `MAX_SEND_CONTROL` is 1024 there) | not built: `Socket::send_msg` and the rest are absent | `cmsg.rs`, `msg.rs`, `mmsg.rs` and their `net/` namesakes |
//! | Linux-only socket options | `TCP_CORK`, `TCP_QUICKACK`, `TCP_USER_TIMEOUT`, `TCP_FASTOPEN`(`_CONNECT`), `SO_BINDTODEVICE`, `SO_MARK` (socket2, and `getsockopt_int`/`setsockopt_int` here for Fast Open and the control-message options); keep-alive timing and `IPV6_TCLASS` on the targets socket2 has them for (`tcp_keepalive_params`, `ipv6_tclass`) | the methods do not exist | `socket.rs`, `net/options.rs` |
//! | io_uring readiness | `io_uring_setup` (`SINGLE_ISSUER \| DEFER_TASKRUN` on 6.1+, else plain), `POLL_ADD`/`POLL_REMOVE`, `io_uring_enter` with `EXT_ARG` (5.11+; 5.13+ for multishot poll); on the architectures the io-uring crate has layouts for (`uring_arch`) | no `UringSelector` (feature `uring`; on other Linux architectures `BackendKind::Uring` answers `NotBuilt`) | `uring.rs` |
//! | a socket's domain | `SO_DOMAIN` (also FreeBSD, OpenBSD, illumos) | the family of `getsockname`'s address (Apple, NetBSD, DragonFly) | `socket.rs`, `net/options.rs` |
//! | fd identity of an epoll entry | `kcmp(KCMP_EPOLL_TFD)`, `/proc/self/fdinfo` | (no epoll) | `epoll.rs` |
#![allow(unsafe_code)]

use std::io;

use crate::error::{Error, Result, Subject};

pub(crate) mod addr;
#[cfg(target_os = "linux")]
pub(crate) mod cmsg;
#[cfg(linux_like)]
pub(crate) mod epoll;
pub(crate) mod fd;
#[cfg(test)]
pub(crate) mod fork;
#[cfg(target_os = "linux")]
pub(crate) mod mmsg;
#[cfg(target_os = "linux")]
pub(crate) mod msg;
pub(crate) mod poll;
pub(crate) mod resolve;
pub(crate) mod select;
pub(crate) mod socket;
pub(crate) mod time;
#[cfg(uring)]
pub(crate) mod uring;
pub(crate) mod waker;

/// Return values of raw calls whose failure is `-1` with errno set.
pub(crate) trait MinusOne: Copy {
    fn is_minus_one(self) -> bool;
}

macro_rules! impl_minus_one {
    ($($t:ty)*) => {$(
        impl MinusOne for $t {
            #[inline]
            fn is_minus_one(self) -> bool {
                self == -1
            }
        }
    )*};
}
impl_minus_one!(i32 isize i64);

/// The one converter from a raw return value to a `Result`: `-1` becomes
/// [`Error::Os`] naming `call`, the subject (computed only on failure) and
/// errno.
#[inline]
pub(crate) fn check<T: MinusOne>(
    ret: T,
    call: &'static str,
    subject: impl FnOnce() -> Subject,
) -> Result<T> {
    if ret.is_minus_one() {
        Err(Error::os(call, subject(), io::Error::last_os_error()))
    } else {
        Ok(ret)
    }
}

/// Like [`check`], but repeats the call while it fails with `EINTR`. Only for
/// calls that are safe to restart as they are (no timeout to recompute, no
/// partial progress lost).
#[inline]
pub(crate) fn check_retry<T: MinusOne>(
    mut f: impl FnMut() -> T,
    call: &'static str,
    subject: impl FnOnce() -> Subject,
) -> Result<T> {
    loop {
        let ret = f();
        if ret.is_minus_one() {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(Error::os(call, subject(), err));
        }
        return Ok(ret);
    }
}

/// Converts a `nix` error into ours, with the same call/subject context.
#[inline]
pub(crate) fn from_nix(call: &'static str, subject: Subject, errno: nix::errno::Errno) -> Error {
    Error::os(call, subject, io::Error::from(errno))
}
