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
    epoll_ctl_raw(epfd, op, fd.as_raw_fd(), events, data)
}

/// [`epoll_ctl`] on an fd *number*, which may be closed or name another
/// file by now (the kernel answers `EBADF`/`ENOENT`, or acts on whatever
/// file is there). For re-creating registrations whose fds the selector
/// does not hold.
pub(crate) fn epoll_ctl_raw(
    epfd: BorrowedFd<'_>,
    op: libc::c_int,
    fd: RawFd,
    events: u32,
    data: u64,
) -> Result<()> {
    let mut ev = libc::epoll_event { events, u64: data };
    // SAFETY: epfd is borrowed, so open; `ev` is a valid epoll_event that
    // outlives the call, and the kernel only reads it. `fd` is just a
    // number to the kernel: a closed one is EBADF, and ADD/MOD change only
    // this epoll instance, never the file.
    let ret = unsafe { libc::epoll_ctl(epfd.as_raw_fd(), op, fd, &mut ev) };
    check(ret, "epoll_ctl", || Subject::Fd(fd)).map(drop)
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

/// Whether the epoll instance `epfd` holds a registration under fd number
/// `fd`, for whatever file. `None` when the kernel cannot be asked.
///
/// Asks with `kcmp(KCMP_EPOLL_TFD)` (Linux 4.13; needs no new fd, so it
/// answers at `EMFILE` too); where that is missing or filtered (`ENOSYS`,
/// `EPERM` under seccomp), reads the `tfd:` lines of
/// `/proc/self/fdinfo/<epfd>`. Both cost O(registrations).
pub(crate) fn watches_number(epfd: BorrowedFd<'_>, fd: RawFd) -> Option<bool> {
    /// `struct kcmp_epoll_slot` of `<linux/kcmp.h>`.
    #[repr(C)]
    struct KcmpEpollSlot {
        efd: u32,
        tfd: u32,
        toff: u32,
    }
    /// `KCMP_EPOLL_TFD` of `<linux/kcmp.h>` (libc does not define it).
    const KCMP_EPOLL_TFD: libc::c_int = 7;
    let ep = epfd.as_raw_fd();
    let (Ok(efd), Ok(tfd), Ok(pid)) = (
        u32::try_from(ep),
        u32::try_from(fd),
        libc::pid_t::try_from(std::process::id()),
    ) else {
        return None;
    };
    // The first registration under `tfd` (toff 0), if any.
    let slot = KcmpEpollSlot { efd, tfd, toff: 0 };
    // SAFETY: kcmp reads one kcmp_epoll_slot through the pointer, which
    // points to a live, #[repr(C)] value of that layout, and writes
    // nothing; idx1 (the epoll fd itself, borrowed so open) and the slot's
    // fds are only looked up and compared.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            pid,
            pid,
            KCMP_EPOLL_TFD,
            ep,
            &slot as *const KcmpEpollSlot,
        )
    };
    match check(ret, "kcmp", || Subject::Fd(fd)) {
        // 0, 1 or 2: the registered file compared with the epoll file.
        Ok(_) => return Some(true),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Some(false),
        Err(_) => {}
    }
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{ep}")).ok()?;
    Some(fdinfo_has_tfd(&info, fd))
}

/// Whether an epoll fdinfo text (`tfd: <fd> events: ... data: ...` lines)
/// lists a registration under `fd`.
fn fdinfo_has_tfd(info: &str, fd: RawFd) -> bool {
    info.lines().any(|line| {
        line.strip_prefix("tfd:")
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<RawFd>().ok())
            == Some(fd)
    })
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

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    fn fdinfo_lines_are_parsed() {
        let info = "pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1039\n\
            tfd:        4 events:       19 data:                4  pos:0 ino:595b sdev:9\n\
            tfd:       12 events:       19 data:      10000000c  pos:0 ino:5960 sdev:9\n";
        assert!(fdinfo_has_tfd(info, 4));
        assert!(fdinfo_has_tfd(info, 12));
        assert!(!fdinfo_has_tfd(info, 1));
        assert!(!fdinfo_has_tfd(info, 19));
        assert!(!fdinfo_has_tfd("", 4));
    }

    #[test]
    fn watches_number_asks_the_kernel() {
        let ep = epoll_create1().unwrap();
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (a_raw, b_raw) = (a.as_raw_fd(), b.as_raw_fd());
        epoll_ctl(ep.as_fd(), libc::EPOLL_CTL_ADD, a.as_fd(), 0, 0).unwrap();
        assert_eq!(watches_number(ep.as_fd(), a_raw), Some(true));
        assert_eq!(watches_number(ep.as_fd(), b_raw), Some(false));
        // The /proc fallback agrees.
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", ep.as_raw_fd()));
        let info = info.unwrap();
        assert!(fdinfo_has_tfd(&info, a_raw) && !fdinfo_has_tfd(&info, b_raw));
    }
}
