//! `epoll_create1(2)`, `epoll_ctl(2)`, `epoll_wait(2)`.

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use super::check;
use crate::error::{Result, Subject};

/// `epoll_create1(EPOLL_CLOEXEC)`.
pub(crate) fn epoll_create1() -> Result<OwnedFd> {
    // SAFETY: no pointers; the flag is a valid constant.
    let fd = check(
        unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) },
        "epoll_create1",
        || Subject::None,
    )?;
    // SAFETY: epoll_create1 succeeded, so `fd` is a new descriptor that
    // nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `epoll_ctl(epfd, op, fd, &{events, data})`. `op` is one of
/// `EPOLL_CTL_ADD`/`MOD` (for `DEL` see [`epoll_ctl_del`]).
pub(crate) fn epoll_ctl(
    epfd: BorrowedFd<'_>,
    op: libc::c_int,
    fd: BorrowedFd<'_>,
    events: u32,
    data: u64,
) -> Result<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    let raw = fd.as_raw_fd();
    // SAFETY: both fds are borrowed, so open for the duration of the call;
    // `ev` is a valid epoll_event that outlives the call.
    let ret = unsafe { libc::epoll_ctl(epfd.as_raw_fd(), op, raw, &mut ev) };
    check(ret, "epoll_ctl", || Subject::Fd(raw)).map(drop)
}

/// `epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL)`.
pub(crate) fn epoll_ctl_del(epfd: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> Result<()> {
    let raw: RawFd = fd.as_raw_fd();
    // SAFETY: both fds are borrowed and open; since Linux 2.6.9 the event
    // pointer may be NULL for EPOLL_CTL_DEL.
    let ret = unsafe {
        libc::epoll_ctl(
            epfd.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            raw,
            std::ptr::null_mut(),
        )
    };
    check(ret, "epoll_ctl", || Subject::Fd(raw)).map(drop)
}

/// The kernel's `EP_MAX_EVENTS`: `epoll_wait` fails with `EINVAL` for a
/// larger `maxevents`.
pub(crate) const MAX_EVENTS: usize =
    libc::c_int::MAX as usize / std::mem::size_of::<libc::epoll_event>();

/// One `epoll_wait(epfd, buf, maxevents, timeout_ms)` with `maxevents` =
/// `max` clamped to `1..=MAX_EVENTS` and to the room `buf` has or can get
/// (a failed allocation makes the batch smaller, never a panic or an abort).
/// On success `buf` holds exactly the returned events. `EINTR` is returned
/// as an error: the caller retries with the remaining time.
pub(crate) fn epoll_wait(
    epfd: BorrowedFd<'_>,
    buf: &mut Vec<libc::epoll_event>,
    max: usize,
    timeout_ms: libc::c_int,
) -> Result<usize> {
    buf.clear();
    let want = max.clamp(1, MAX_EVENTS);
    if buf.capacity() < want {
        // Allocates only when more events than ever before can be ready.
        let _ = buf.try_reserve_exact(want);
    }
    // The selector's buffer is never empty (it starts with room for 64); an
    // empty one would pass 0, which the kernel refuses (EINVAL).
    let max = want.min(buf.capacity());
    let raw = epfd.as_raw_fd();
    // max <= MAX_EVENTS < c_int::MAX, so this never falls back.
    let c_max = libc::c_int::try_from(max).unwrap_or(0);
    // SAFETY: the buffer has room for `max` events (max <= capacity) and the
    // kernel writes at most `max` of them; epfd is borrowed, so open.
    let ret = unsafe { libc::epoll_wait(raw, buf.as_mut_ptr(), c_max, timeout_ms) };
    let n = check(ret, "epoll_wait", || Subject::Fd(raw))?;
    // A count outside 0..=max would be a kernel bug; never trust it blindly.
    let n = usize::try_from(n).unwrap_or(0).min(max);
    // SAFETY: the kernel initialised the first `n` entries (n <= max <=
    // capacity), and epoll_event is plain data.
    unsafe { buf.set_len(n) };
    Ok(n)
}
