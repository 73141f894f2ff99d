//! Raw socket calls, one small safe wrapper each.
//!
//! EINTR: calls that made no progress when interrupted (accept, send, recv
//! and friends) are restarted here; `connect` is not (an interrupted connect
//! goes on in the background — the caller completes it); `close` is never
//! retried (Linux releases the descriptor even when close reports EINTR).

use std::io::{IoSlice, IoSliceMut};
use std::mem::{self, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::ptr;

use super::addr::RawAddr;
use super::{check, check_retry};
use crate::addr::SockAddr;
use crate::error::{Result, Subject};

fn fd_subject(fd: BorrowedFd<'_>) -> impl FnOnce() -> Subject {
    let raw = fd.as_raw_fd();
    move || Subject::Fd(raw)
}

/// Targets whose `socket`/`socketpair`/`accept4` take `SOCK_CLOEXEC` and
/// `SOCK_NONBLOCK` (atomic close-on-exec); elsewhere (macOS and the other
/// Apple systems) the flags are set with `fcntl` right after the call. See
/// the table in the `sys` module docs.
macro_rules! cfg_atomic_flags {
    ($($item:item)*) => {$(
        #[cfg(atomic_cloexec)]
        $item
    )*};
}

macro_rules! cfg_not_atomic_flags {
    ($($item:item)*) => {$(
        #[cfg(not(atomic_cloexec))]
        $item
    )*};
}

cfg_atomic_flags! {
    /// `MSG_NOSIGNAL`, added to every send so a closed peer is `EPIPE`, not
    /// `SIGPIPE`.
    const NOSIGNAL: i32 = libc::MSG_NOSIGNAL;

    /// The `type`/`flags` bits that make a new descriptor close-on-exec and,
    /// if asked, non-blocking, in the creating call itself.
    fn creation_flags(nonblocking: bool) -> i32 {
        libc::SOCK_CLOEXEC | if nonblocking { libc::SOCK_NONBLOCK } else { 0 }
    }

    /// Nothing left to do: the creating call set the flags atomically.
    fn finish_new(_fd: &OwnedFd, _nonblocking: bool) -> Result<()> {
        Ok(())
    }
}

cfg_not_atomic_flags! {
    /// No `MSG_NOSIGNAL` here: every socket gets `SO_NOSIGPIPE` instead
    /// (see `finish_new`).
    const NOSIGNAL: i32 = 0;

    /// No such bits here: `finish_new` sets the flags.
    fn creation_flags(_nonblocking: bool) -> i32 {
        0
    }

    /// Close-on-exec, `O_NONBLOCK` if asked, and `SO_NOSIGPIPE` (what
    /// `MSG_NOSIGNAL` does elsewhere), right after the call that made `fd`.
    /// Not atomic: a `fork`+`exec` in another thread in between can inherit
    /// it (std, mio and socket2 share this window on these systems).
    fn finish_new(fd: &OwnedFd, nonblocking: bool) -> Result<()> {
        let raw = fd.as_raw_fd();
        super::fd::setfd(raw, super::fd::getfd(raw)? | libc::FD_CLOEXEC)?;
        if nonblocking {
            super::fd::setfl(raw, super::fd::getfl(raw)? | libc::O_NONBLOCK)?;
        }
        #[cfg(target_vendor = "apple")]
        {
            let on: libc::c_int = 1;
            // SAFETY: `on` is a live c_int and the length says so; fd is
            // open (owned by the caller).
            check(
                unsafe {
                    libc::setsockopt(
                        raw,
                        libc::SOL_SOCKET,
                        libc::SO_NOSIGPIPE,
                        (&on as *const libc::c_int).cast(),
                        mem::size_of::<libc::c_int>() as libc::socklen_t,
                    )
                },
                "setsockopt SO_NOSIGPIPE",
                || Subject::Fd(raw),
            )?;
        }
        Ok(())
    }
}

/// `socket(2)`, always close-on-exec (`SOCK_CLOEXEC`), non-blocking from
/// the start if asked (`SOCK_NONBLOCK`); `fcntl` after the call where those
/// flags do not exist.
pub(crate) fn socket(domain: i32, ty: i32, protocol: i32, nonblocking: bool) -> Result<OwnedFd> {
    // SAFETY: plain integer arguments; the kernel validates them.
    let fd = check(
        unsafe { libc::socket(domain, ty | creation_flags(nonblocking), protocol) },
        "socket",
        || Subject::None,
    )?;
    // SAFETY: socket returned a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    finish_new(&fd, nonblocking)?;
    Ok(fd)
}

/// `socketpair(2)`, both ends close-on-exec.
pub(crate) fn socketpair(domain: i32, ty: i32, protocol: i32) -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as RawFd; 2];
    check(
        // SAFETY: fds is a valid array of two ints for the kernel to fill.
        unsafe {
            libc::socketpair(
                domain,
                ty | creation_flags(false),
                protocol,
                fds.as_mut_ptr(),
            )
        },
        "socketpair",
        || Subject::None,
    )?;
    // SAFETY: socketpair succeeded, so both are new descriptors we own.
    let pair = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    finish_new(&pair.0, false)?;
    finish_new(&pair.1, false)?;
    Ok(pair)
}

/// `bind(2)`.
pub(crate) fn bind(fd: BorrowedFd<'_>, addr: &SockAddr) -> Result<()> {
    let raw = RawAddr::from_addr(addr);
    check(
        // SAFETY: raw holds a valid sockaddr of raw.len bytes.
        unsafe { libc::bind(fd.as_raw_fd(), raw.as_ptr(), raw.len) },
        "bind",
        || Subject::Addr(addr.clone()),
    )
    .map(drop)
}

/// `listen(2)`.
pub(crate) fn listen(fd: BorrowedFd<'_>, backlog: i32) -> Result<()> {
    // SAFETY: plain integer arguments.
    check(
        unsafe { libc::listen(fd.as_raw_fd(), backlog) },
        "listen",
        fd_subject(fd),
    )
    .map(drop)
}

/// `accept4(2)` with `SOCK_CLOEXEC` (and `SOCK_NONBLOCK` if asked), retried
/// on EINTR; `accept(2)` then `fcntl` where there is no `accept4`.
pub(crate) fn accept(fd: BorrowedFd<'_>, nonblocking: bool) -> Result<(OwnedFd, SockAddr)> {
    let mut raw = RawAddr::empty();
    let new = check_retry(
        || {
            raw.len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            // SAFETY: raw is a writable sockaddr_storage and raw.len its size.
            unsafe { accept_call(fd.as_raw_fd(), &mut raw, nonblocking) }
        },
        ACCEPT_CALL,
        fd_subject(fd),
    )?;
    // SAFETY: the accept succeeded: a new descriptor that nothing else owns.
    let new = unsafe { OwnedFd::from_raw_fd(new) };
    finish_new(&new, nonblocking)?;
    Ok((new, raw.to_addr()))
}

cfg_atomic_flags! {
    const ACCEPT_CALL: &str = "accept4";

    /// # Safety
    /// `raw` must be a writable sockaddr buffer whose `len` is its size.
    unsafe fn accept_call(fd: RawFd, raw: &mut RawAddr, nonblocking: bool) -> libc::c_int {
        // SAFETY: the caller's contract: raw is writable for raw.len bytes.
        unsafe { libc::accept4(fd, raw.as_mut_ptr(), &mut raw.len, creation_flags(nonblocking)) }
    }
}

cfg_not_atomic_flags! {
    const ACCEPT_CALL: &str = "accept";

    /// # Safety
    /// `raw` must be a writable sockaddr buffer whose `len` is its size.
    unsafe fn accept_call(fd: RawFd, raw: &mut RawAddr, _nonblocking: bool) -> libc::c_int {
        // SAFETY: the caller's contract: raw is writable for raw.len bytes.
        unsafe { libc::accept(fd, raw.as_mut_ptr(), &mut raw.len) }
    }
}

/// `connect(2)`, not retried: EINTR/EINPROGRESS are the caller's to complete.
pub(crate) fn connect(fd: BorrowedFd<'_>, addr: &SockAddr) -> Result<()> {
    let raw = RawAddr::from_addr(addr);
    check(
        // SAFETY: raw holds a valid sockaddr of raw.len bytes.
        unsafe { libc::connect(fd.as_raw_fd(), raw.as_ptr(), raw.len) },
        "connect",
        || Subject::Addr(addr.clone()),
    )
    .map(drop)
}

fn len_of(n: isize) -> usize {
    // check() already turned -1 into an error, and no other negative value
    // is defined for these calls; treat one as 0 rather than wrap.
    usize::try_from(n).unwrap_or(0)
}

/// `send(2)` with `MSG_NOSIGNAL` always added, retried on EINTR.
pub(crate) fn send(fd: BorrowedFd<'_>, buf: &[u8], flags: i32) -> Result<usize> {
    check_retry(
        // SAFETY: buf is valid for reads of buf.len() bytes.
        || unsafe {
            libc::send(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                flags | NOSIGNAL,
            )
        },
        "send",
        fd_subject(fd),
    )
    .map(len_of)
}

/// `recv(2)`, retried on EINTR.
pub(crate) fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], flags: i32) -> Result<usize> {
    recv_uninit(fd, as_uninit(buf), flags)
}

/// `recv(2)` into uninitialised memory, retried on EINTR. On success the
/// first `n` bytes of `buf` are initialised.
pub(crate) fn recv_uninit(
    fd: BorrowedFd<'_>,
    buf: &mut [MaybeUninit<u8>],
    flags: i32,
) -> Result<usize> {
    check_retry(
        // SAFETY: buf is valid for writes of buf.len() bytes.
        || unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), flags) },
        "recv",
        fd_subject(fd),
    )
    .map(len_of)
}

/// [`recv_uninit`], returning the bytes received as an initialised slice.
pub(crate) fn recv_uninit_init<'b>(
    fd: BorrowedFd<'_>,
    buf: &'b mut [MaybeUninit<u8>],
    flags: i32,
) -> Result<&'b mut [u8]> {
    let n = recv_uninit(fd, buf, flags)?.min(buf.len());
    // SAFETY: recv just wrote n bytes at the start of buf: they are
    // initialised. MaybeUninit<u8> and u8 share a layout.
    Ok(unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<u8>(), n) })
}

/// `buf` as uninitialised memory, for the receives here. Sound because
/// they (the kernel) write only initialised bytes and never de-initialise
/// any; the result is never handed outside `sys`.
pub(crate) fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: same layout; the only writers through the result are the
    // kernel's receives (and sys's encoder, which writes initialised
    // bytes), so `buf` stays initialised for its owner.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

/// `sendto(2)` with `MSG_NOSIGNAL`, retried on EINTR.
pub(crate) fn send_to(
    fd: BorrowedFd<'_>,
    buf: &[u8],
    addr: &SockAddr,
    flags: i32,
) -> Result<usize> {
    let raw = RawAddr::from_addr(addr);
    check_retry(
        // SAFETY: buf is valid for reads of buf.len() bytes; raw is a valid
        // sockaddr of raw.len bytes.
        || unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                flags | NOSIGNAL,
                raw.as_ptr(),
                raw.len,
            )
        },
        "sendto",
        || Subject::Addr(addr.clone()),
    )
    .map(len_of)
}

/// `recvfrom(2)`, retried on EINTR.
pub(crate) fn recv_from(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    flags: i32,
) -> Result<(usize, SockAddr)> {
    recv_from_uninit(fd, as_uninit(buf), flags)
}

/// `recvfrom(2)` into uninitialised memory, retried on EINTR.
pub(crate) fn recv_from_uninit(
    fd: BorrowedFd<'_>,
    buf: &mut [MaybeUninit<u8>],
    flags: i32,
) -> Result<(usize, SockAddr)> {
    let mut raw = RawAddr::empty();
    let n = check_retry(
        || {
            raw.len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            // SAFETY: buf is valid for writes of buf.len() bytes; raw is a
            // writable sockaddr_storage and raw.len its size.
            unsafe {
                libc::recvfrom(
                    fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    flags,
                    raw.as_mut_ptr(),
                    &mut raw.len,
                )
            }
        },
        "recvfrom",
        fd_subject(fd),
    )?;
    Ok((len_of(n), raw.to_addr()))
}

/// `sendmsg(2)` of `bufs` (to `addr` if given) with `MSG_NOSIGNAL`.
pub(crate) fn send_msg(
    fd: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    addr: Option<&SockAddr>,
    flags: i32,
) -> Result<usize> {
    let raw = addr.map(RawAddr::from_addr);
    // SAFETY: msghdr is plain old data; all-zero is valid (no name, no control).
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    if let Some(raw) = &raw {
        msg.msg_name = raw.as_ptr() as *mut libc::c_void;
        msg.msg_namelen = raw.len;
    }
    // IoSlice is ABI-compatible with iovec on Unix (guaranteed by std).
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len() as _;
    check_retry(
        // SAFETY: msg points at live buffers (bufs, raw) for the whole call;
        // sendmsg only reads through them.
        || unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, flags | NOSIGNAL) },
        "sendmsg",
        || match addr {
            Some(addr) => Subject::Addr(addr.clone()),
            None => Subject::Fd(fd.as_raw_fd()),
        },
    )
    .map(len_of)
}

/// What `recvmsg(2)` returned.
pub(crate) struct RecvMsg {
    pub(crate) len: usize,
    pub(crate) addr: SockAddr,
    pub(crate) truncated: bool,
}

/// `recvmsg(2)` into `bufs`, reporting the sender and `MSG_TRUNC`.
pub(crate) fn recv_msg(
    fd: BorrowedFd<'_>,
    bufs: &mut [IoSliceMut<'_>],
    flags: i32,
) -> Result<RecvMsg> {
    let mut raw = RawAddr::empty();
    // SAFETY: msghdr is plain old data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    let n = check_retry(
        || {
            raw.len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            msg.msg_name = raw.as_mut_ptr().cast();
            msg.msg_namelen = raw.len;
            // IoSliceMut is ABI-compatible with iovec on Unix.
            msg.msg_iov = bufs.as_mut_ptr().cast();
            msg.msg_iovlen = bufs.len() as _;
            msg.msg_control = ptr::null_mut();
            msg.msg_controllen = 0;
            msg.msg_flags = 0;
            // SAFETY: msg points at live, writable buffers for the call.
            unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags) }
        },
        "recvmsg",
        fd_subject(fd),
    )?;
    raw.len = msg.msg_namelen;
    Ok(RecvMsg {
        len: len_of(n),
        addr: raw.to_addr(),
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
    })
}

/// `shutdown(2)`.
pub(crate) fn shutdown(fd: BorrowedFd<'_>, how: i32) -> Result<()> {
    // SAFETY: plain integer arguments.
    check(
        unsafe { libc::shutdown(fd.as_raw_fd(), how) },
        "shutdown",
        fd_subject(fd),
    )
    .map(drop)
}

/// `close(2)`, reporting its error. The descriptor is gone afterwards even on
/// error (EINTR included, on Linux), so it is never retried.
pub(crate) fn close(fd: OwnedFd) -> Result<()> {
    let raw = fd.into_raw_fd();
    // SAFETY: we owned raw (taken out of OwnedFd above) and close it once.
    let ret = unsafe { libc::close(raw) };
    match check(ret, "close", || Subject::Fd(raw)) {
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(()),
        other => other.map(drop),
    }
}

/// `getsockname(2)`.
pub(crate) fn local_addr(fd: BorrowedFd<'_>) -> Result<SockAddr> {
    let mut raw = RawAddr::empty();
    check(
        // SAFETY: raw is a writable sockaddr_storage and raw.len its size.
        unsafe { libc::getsockname(fd.as_raw_fd(), raw.as_mut_ptr(), &mut raw.len) },
        "getsockname",
        fd_subject(fd),
    )?;
    Ok(raw.to_addr())
}

/// `getpeername(2)`.
pub(crate) fn peer_addr(fd: BorrowedFd<'_>) -> Result<SockAddr> {
    let mut raw = RawAddr::empty();
    check(
        // SAFETY: raw is a writable sockaddr_storage and raw.len its size.
        unsafe { libc::getpeername(fd.as_raw_fd(), raw.as_mut_ptr(), &mut raw.len) },
        "getpeername",
        fd_subject(fd),
    )?;
    Ok(raw.to_addr())
}

/// `getsockopt(IPPROTO_TCP, TCP_INFO)`: the kernel's `struct tcp_info`.
/// A kernel older than libc's struct fills less of it; the rest stays 0.
#[cfg(linux_like)]
pub(crate) fn tcp_info(fd: BorrowedFd<'_>) -> Result<libc::tcp_info> {
    let raw = fd.as_raw_fd();
    let mut info = mem::MaybeUninit::<libc::tcp_info>::zeroed();
    let mut len = mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    check(
        // SAFETY: the buffer is a zeroed tcp_info and `len` its size; the
        // kernel writes at most `len` bytes into it and reports how many.
        unsafe {
            libc::getsockopt(
                raw,
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                info.as_mut_ptr().cast(),
                &mut len,
            )
        },
        "getsockopt TCP_INFO",
        || Subject::Fd(raw),
    )?;
    // SAFETY: zeroed() made every field a valid integer (tcp_info is
    // plain integers), and the kernel overwrote the first `len` bytes.
    Ok(unsafe { info.assume_init() })
}

/// `getsockopt(2)` of an option whose value is one `int`, for the options
/// socket2 does not wrap (`TCP_FASTOPEN`, `TCP_FASTOPEN_CONNECT`, and
/// `SO_DOMAIN` where socket2 lacks it).
#[cfg(has_so_domain)]
pub(crate) fn getsockopt_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    call: &'static str,
) -> Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    check(
        // SAFETY: `value` is a live c_int and `len` its size; the kernel
        // writes at most `len` bytes into it.
        unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                level,
                name,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        },
        call,
        fd_subject(fd),
    )?;
    Ok(value)
}

/// `setsockopt(SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF)` of a classic BPF
/// program (the caller checked its length: 1 to `BPF_MAXINSNS`).
#[cfg(target_os = "linux")]
pub(crate) fn attach_reuseport_cbpf(
    fd: BorrowedFd<'_>,
    program: &[libc::sock_filter],
    call: &'static str,
) -> Result<()> {
    let fprog = libc::sock_fprog {
        len: u16::try_from(program.len()).unwrap_or(u16::MAX),
        // The kernel copies the program in and never writes through it.
        filter: program.as_ptr().cast_mut(),
    };
    check(
        // SAFETY: `fprog` is a live sock_fprog whose `filter` points at
        // `len` (at most program.len()) initialised instructions, borrowed
        // for the whole call; the kernel only reads them.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_REUSEPORT_CBPF,
                (&fprog as *const libc::sock_fprog).cast(),
                mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        },
        call,
        fd_subject(fd),
    )
    .map(drop)
}

/// `setsockopt(2)` of an option whose value is one `int`.
#[cfg(linux_like)]
pub(crate) fn setsockopt_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
    call: &'static str,
) -> Result<()> {
    check(
        // SAFETY: `value` is a live c_int and the length says so; the
        // kernel only reads it.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                level,
                name,
                (&value as *const libc::c_int).cast(),
                mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        },
        call,
        fd_subject(fd),
    )
    .map(drop)
}
