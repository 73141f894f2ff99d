//! Message I/O: `sendmsg`/`recvmsg` with control data (encoded and walked
//! by `sys/cmsg.rs`), receives into uninitialised memory, and the peer's
//! credentials.
//!
//! EINTR: as the rest of `sys` — every call here is restarted, since an
//! interrupted send or receive made no progress.

use std::io::{IoSlice, IoSliceMut};
use std::mem::{self, MaybeUninit};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr;

use super::addr::RawAddr;
use super::cmsg::{aligned, Control};
use super::{check, check_retry};
use crate::addr::SockAddr;
use crate::error::{Result, Subject};

pub(super) fn fd_subject(fd: BorrowedFd<'_>) -> impl FnOnce() -> Subject {
    let raw = fd.as_raw_fd();
    move || Subject::Fd(raw)
}

/// `msg_controllen` as a `usize` (it is a `size_t` on glibc, a
/// `socklen_t` on musl).
#[allow(clippy::unnecessary_cast)]
pub(super) fn controllen(msg: &libc::msghdr) -> usize {
    msg.msg_controllen as usize
}

fn len_of(n: isize) -> usize {
    usize::try_from(n).unwrap_or(0)
}

/// `sendmsg(2)` of `bufs` to `addr` (if given) with the encoded `control`
/// (from an [`Encoder`](super::cmsg::Encoder)), with `MSG_NOSIGNAL`; restarted on EINTR.
pub(crate) fn send_msg(
    fd: BorrowedFd<'_>,
    bufs: &[IoSlice<'_>],
    addr: Option<&SockAddr>,
    control: &[u8],
    flags: i32,
) -> Result<usize> {
    let raw = addr.map(RawAddr::from_addr);
    // SAFETY: msghdr is plain old data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    if let Some(raw) = &raw {
        msg.msg_name = raw.as_ptr() as *mut libc::c_void;
        msg.msg_namelen = raw.len;
    }
    // IoSlice is ABI-compatible with iovec on Unix (guaranteed by std).
    msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = bufs.len() as _;
    if !control.is_empty() {
        msg.msg_control = control.as_ptr() as *mut libc::c_void;
        msg.msg_controllen = control.len() as _;
    }
    check_retry(
        // SAFETY: msg points at live buffers (bufs, raw, control) for the
        // whole call; sendmsg only reads through them.
        || unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, flags | libc::MSG_NOSIGNAL) },
        "sendmsg",
        || match addr {
            Some(addr) => Subject::Addr(addr.clone()),
            None => Subject::Fd(fd.as_raw_fd()),
        },
    )
    .map(len_of)
}

/// What a `recvmsg(2)` returned; `control` owns the descriptors received.
pub(crate) struct Received<'c> {
    pub(crate) len: usize,
    pub(crate) addr: SockAddr,
    /// `msg_flags`, without the `MSG_CMSG_CLOEXEC` the kernel echoes back.
    pub(crate) flags: i32,
    pub(crate) control: Control<'c>,
}

/// `recvmsg(2)` into `bufs` with room for control data in (the aligned
/// part of) `control`, always with `MSG_CMSG_CLOEXEC`; restarted on EINTR.
pub(crate) fn recv_msg<'c>(
    fd: BorrowedFd<'_>,
    bufs: &mut [IoSliceMut<'_>],
    control: &'c mut [u8],
    flags: i32,
) -> Result<Received<'c>> {
    // IoSliceMut is ABI-compatible with iovec on Unix.
    let iov = bufs.as_mut_ptr().cast::<libc::iovec>();
    // SAFETY: iov/len describe bufs, writable for the call.
    unsafe { recv_msg_raw(fd, iov, bufs.len(), control, flags) }
}

/// `recvmsg(2)` into one uninitialised buffer.
pub(crate) fn recv_msg_uninit<'c>(
    fd: BorrowedFd<'_>,
    buf: &mut [MaybeUninit<u8>],
    control: &'c mut [u8],
    flags: i32,
) -> Result<Received<'c>> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: iov describes buf, writable for the call (the kernel writes
    // only initialised bytes into it).
    unsafe { recv_msg_raw(fd, &mut iov, 1, control, flags) }
}

/// # Safety
/// `iov` must point at `iovlen` iovecs describing buffers writable for the
/// whole call.
unsafe fn recv_msg_raw<'c>(
    fd: BorrowedFd<'_>,
    iov: *mut libc::iovec,
    iovlen: usize,
    control: &'c mut [u8],
    flags: i32,
) -> Result<Received<'c>> {
    let control = aligned(control);
    let mut raw = RawAddr::empty();
    // SAFETY: msghdr is plain old data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    let n = check_retry(
        || {
            raw.len = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            msg.msg_name = raw.as_mut_ptr().cast();
            msg.msg_namelen = raw.len;
            msg.msg_iov = iov;
            msg.msg_iovlen = iovlen as _;
            msg.msg_control = if control.is_empty() {
                ptr::null_mut()
            } else {
                control.as_mut_ptr().cast()
            };
            msg.msg_controllen = control.len() as _;
            msg.msg_flags = 0;
            // SAFETY: msg points at live, writable buffers for the call: the
            // caller's iovecs, raw, and control.
            unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, flags | libc::MSG_CMSG_CLOEXEC) }
        },
        "recvmsg",
        fd_subject(fd),
    )?;
    raw.len = msg.msg_namelen;
    let used = controllen(&msg).min(control.len());
    Ok(Received {
        len: len_of(n),
        addr: raw.to_addr(),
        flags: msg.msg_flags & !libc::MSG_CMSG_CLOEXEC,
        control: Control {
            buf: &mut control[..used],
        },
    })
}

/// `getsockopt(SOL_SOCKET, SO_PEERCRED)`.
pub(crate) fn peer_credentials(fd: BorrowedFd<'_>) -> Result<libc::ucred> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = mem::size_of::<libc::ucred>() as libc::socklen_t;
    check(
        // SAFETY: `cred` is a writable ucred and `len` its size.
        unsafe {
            libc::getsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&mut cred as *mut libc::ucred).cast(),
                &mut len,
            )
        },
        "getsockopt SO_PEERCRED",
        fd_subject(fd),
    )?;
    Ok(cred)
}

/// This process's pid, effective uid and gid: what `SCM_CREDENTIALS` may
/// send without privilege.
pub(crate) fn current_credentials() -> libc::ucred {
    // SAFETY: getpid/geteuid/getegid take nothing and cannot fail.
    unsafe {
        libc::ucred {
            pid: libc::getpid(),
            uid: libc::geteuid(),
            gid: libc::getegid(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::mem::MaybeUninit;
    use std::os::fd::{AsFd, BorrowedFd};

    use super::super::cmsg::Encoder;
    use super::*;

    /// A descriptor number no process can have open: `sendmsg` refuses the
    /// rights with EBADF, a typed OS error. (Safe code cannot build a
    /// BorrowedFd of a closed descriptor; this is the sys-level proof.)
    #[test]
    fn a_closed_fd_in_the_rights_is_ebadf() {
        let (a, _b) = super::super::socket::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0).unwrap();
        // SAFETY: only its number is used (sent, refused by the kernel);
        // nothing is read, written or closed through it.
        let closed = unsafe { BorrowedFd::borrow_raw(0x3fff_fff0) };
        let mut buf = [MaybeUninit::new(0u8); 64];
        let mut enc = Encoder::new(&mut buf);
        assert!(enc.push_fds(&[closed]));
        let control = enc.finish();
        let err = send_msg(a.as_fd(), &[IoSlice::new(b"x")], None, control, 0).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
        assert_eq!(err.call(), "sendmsg");
    }
}
