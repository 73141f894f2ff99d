//! `epoll_create1(2)`, `epoll_ctl(2)`, `epoll_wait(2)`, `epoll_pwait2(2)`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use super::{check, time};
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
    epoll_ctl_del_raw(epfd, fd.as_raw_fd())
}

/// [`epoll_ctl_del`] of an fd *number*, which may be closed or name another
/// file by now: the kernel removes this instance's registration of the file
/// at that number (`ENOENT` if there is none, `EBADF` if the number is
/// closed). For dropping registrations whose fds the caller no longer has.
pub(crate) fn epoll_ctl_del_raw(epfd: BorrowedFd<'_>, fd: RawFd) -> Result<()> {
    // SAFETY: epfd is borrowed, so open; since Linux 2.6.9 the event
    // pointer may be NULL for EPOLL_CTL_DEL. `fd` is just a number to the
    // kernel: a closed one is EBADF, and DEL changes only this epoll
    // instance, never the file.
    let ret = unsafe {
        libc::epoll_ctl(
            epfd.as_raw_fd(),
            libc::EPOLL_CTL_DEL,
            fd,
            std::ptr::null_mut(),
        )
    };
    check(ret, "epoll_ctl", || Subject::Fd(fd)).map(drop)
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

/// Clears `buf` and returns the `maxevents` to pass: `max` clamped to
/// `1..=MAX_EVENTS` and to the room `buf` has or can get (a failed
/// allocation makes the batch smaller, never a panic or an abort).
fn make_room(buf: &mut Vec<libc::epoll_event>, max: usize) -> usize {
    buf.clear();
    let want = max.clamp(1, MAX_EVENTS);
    if buf.capacity() < want {
        // Allocates only when more events than ever before can be ready.
        let _ = buf.try_reserve_exact(want);
    }
    // The selector's buffer is never empty (it starts with room for 64); an
    // empty one would pass 0, which the kernel refuses (EINVAL).
    want.min(buf.capacity())
}

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
    let max = make_room(buf, max);
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

/// The kernel's `struct __kernel_timespec`, which `epoll_pwait2` reads:
/// 64-bit seconds and nanoseconds on every target, unlike `libc::timespec`
/// (32-bit `time_t` on older 32-bit ABIs).
#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// What is known about `epoll_pwait2` in this process: nothing yet, that
/// the kernel has it, or that it does not (then every wait is `epoll_wait`).
const UNKNOWN: u8 = 0;
const AVAILABLE: u8 = 1;
const UNAVAILABLE: u8 = 2;

/// The process-wide latch: set once, by the first call that gets an answer
/// from the kernel. `Relaxed` is enough: it is a fact about the kernel that
/// every thread would find out the same way, and no other memory hangs on
/// it; two threads racing to set it store the same value.
static PWAIT2: AtomicU8 = AtomicU8::new(UNKNOWN);

#[cfg(test)]
thread_local! {
    /// Tests only: this thread's calls behave as on a kernel without
    /// `epoll_pwait2`, leaving the process-wide latch (and every other
    /// test thread) alone.
    static FORCE_FALLBACK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Tests only: makes this thread's [`epoll_pwait2`] take the `epoll_wait`
/// fallback and [`epoll_pwait2_available`] answer `false` (`on = true`),
/// or undoes that. Per thread, so tests running beside it are unaffected.
#[cfg(test)]
pub(crate) fn force_epoll_wait_fallback(on: bool) {
    FORCE_FALLBACK.with(|f| f.set(on));
}

/// The latch this thread's calls consult: the process-wide one, or (tests
/// that forced the fallback) one that is always `UNAVAILABLE`.
fn latch() -> &'static AtomicU8 {
    #[cfg(test)]
    if FORCE_FALLBACK.with(std::cell::Cell::get) {
        // Never leaves UNAVAILABLE: only an UNKNOWN latch is ever set.
        static FORCED: AtomicU8 = AtomicU8::new(UNAVAILABLE);
        return &FORCED;
    }
    &PWAIT2
}

/// Whether `epoll_pwait2` (Linux 5.11) works here, so waits are exact to
/// the nanosecond; `false` means [`epoll_pwait2`] rounds up to whole
/// milliseconds with `epoll_wait`.
///
/// The answer comes from the latch when a call has already set it;
/// otherwise this probes once, with a zero-timeout `epoll_pwait2` on a
/// fresh epoll instance (never the caller's: a wait there would consume
/// edge-triggered and one-shot events), and latches the result. If the
/// probe cannot even create an epoll instance (`EMFILE`), the answer is
/// `false` for now and the question stays open: the coarser resolution is
/// the safe one to report.
pub(crate) fn epoll_pwait2_available() -> bool {
    let latch = latch();
    if latch.load(Ordering::Relaxed) == UNKNOWN {
        if let Ok(ep) = epoll_create1() {
            let mut buf = Vec::with_capacity(1);
            let zero = Some(Duration::ZERO);
            let _ = latched_wait(latch, libc::SYS_epoll_pwait2, ep.as_fd(), &mut buf, 1, zero);
        }
    }
    latch.load(Ordering::Relaxed) == AVAILABLE
}

/// One `epoll_pwait2(epfd, buf, maxevents, timeout, NULL)`: as
/// [`epoll_wait`] (same `maxevents` clamping, same `buf` contract), with
/// the timeout exact to the nanosecond (`None` = NULL = forever; seconds
/// clamped as [`timeout_timespec`](time::timeout_timespec) says) and the
/// signal mask left alone. `EINTR` is returned as an error: the caller
/// retries with the remaining time.
///
/// Made with `syscall(SYS_epoll_pwait2, …)`, not glibc's wrapper, which
/// needs glibc 2.35 at link time. Where the kernel lacks it (before Linux
/// 5.11: `ENOSYS`; or a seccomp filter that refuses unknown calls with
/// `EPERM`, which `epoll_pwait2` itself never returns), the first call
/// latches that for the process and, like every later one, is an
/// `epoll_wait` with the timeout rounded up to whole milliseconds: as long
/// or longer, never shorter. See [`epoll_pwait2_available`].
pub(crate) fn epoll_pwait2(
    epfd: BorrowedFd<'_>,
    buf: &mut Vec<libc::epoll_event>,
    max: usize,
    timeout: Option<Duration>,
) -> Result<usize> {
    // Forever, a poll, or whole milliseconds: `epoll_wait` says exactly the
    // same, and costs less (measured: the `wait` bench's wait(0)).
    if !matches!(timeout, Some(t) if t.subsec_nanos() % 1_000_000 != 0) {
        return epoll_wait(epfd, buf, max, time::timeout_ms_up(timeout));
    }
    latched_wait(latch(), libc::SYS_epoll_pwait2, epfd, buf, max, timeout)
}

/// [`epoll_pwait2`] on a given latch and system call number (the tests
/// pass one no kernel implements, to see `ENOSYS` handled).
fn latched_wait(
    latch: &AtomicU8,
    nr: libc::c_long,
    epfd: BorrowedFd<'_>,
    buf: &mut Vec<libc::epoll_event>,
    max: usize,
    timeout: Option<Duration>,
) -> Result<usize> {
    let state = latch.load(Ordering::Relaxed);
    if state != UNAVAILABLE {
        match pwait2_raw(nr, epfd, buf, max, timeout) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                // Failed at once, before any waiting: fall back with the
                // whole timeout.
                latch.store(UNAVAILABLE, Ordering::Relaxed);
            }
            res => {
                // Any other answer, an error included, is from a kernel
                // that has the call.
                if state == UNKNOWN {
                    latch.store(AVAILABLE, Ordering::Relaxed);
                }
                return res;
            }
        }
    }
    epoll_wait(epfd, buf, max, time::timeout_ms_up(timeout))
}

/// The raw `syscall(nr, epfd, buf, maxevents, timeout, NULL, 0)`.
fn pwait2_raw(
    nr: libc::c_long,
    epfd: BorrowedFd<'_>,
    buf: &mut Vec<libc::epoll_event>,
    max: usize,
    timeout: Option<Duration>,
) -> Result<usize> {
    let max = make_room(buf, max);
    let raw = epfd.as_raw_fd();
    // max <= MAX_EVENTS < c_int::MAX, so this never falls back.
    let c_max = libc::c_int::try_from(max).unwrap_or(0);
    let ts = timeout.map(|t| {
        let (secs, nanos) = time::secs_nanos(t);
        KernelTimespec {
            // secs <= i32::MAX: always fits.
            tv_sec: i64::try_from(secs).unwrap_or(i64::MAX),
            tv_nsec: i64::from(nanos),
        }
    });
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const KernelTimespec);
    let no_mask: *const libc::sigset_t = std::ptr::null();
    // SAFETY: `nr` is SYS_epoll_pwait2, whose arguments these are (or, in
    // tests, a number no kernel implements: ENOSYS, nothing read or
    // written). The buffer has room for `max` events (max <= capacity) and
    // the kernel writes at most `max` of them; epfd is borrowed, so open;
    // `ts_ptr` is NULL or points to the live local `ts`, laid out as the
    // kernel's __kernel_timespec, which is only read; with a NULL sigmask
    // the kernel ignores the size and leaves the thread's mask alone.
    let ret = unsafe {
        libc::syscall(
            nr,
            raw,
            buf.as_mut_ptr(),
            c_max,
            ts_ptr,
            no_mask,
            0 as libc::size_t,
        )
    };
    let n = check(ret, "epoll_pwait2", || Subject::Fd(raw))?;
    // A count outside 0..=max would be a kernel bug; never trust it blindly.
    let n = usize::try_from(n).unwrap_or(0).min(max);
    // SAFETY: the call succeeded, so it was epoll_pwait2 and the kernel
    // initialised the first `n` entries (n <= max <= capacity);
    // epoll_event is plain data.
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

    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    use super::time::suite;

    /// An epoll instance watching `a` for readability, and a buffer.
    fn watching(a: &UnixStream) -> (OwnedFd, Vec<libc::epoll_event>) {
        let ep = epoll_create1().unwrap();
        epoll_ctl(
            ep.as_fd(),
            libc::EPOLL_CTL_ADD,
            a.as_fd(),
            libc::EPOLLIN as u32,
            7,
        )
        .unwrap();
        (ep, Vec::with_capacity(8))
    }

    /// One `wait(ep, buf, max, timeout)`, checking what it left in `buf`.
    fn call<'a>(
        ep: &'a OwnedFd,
        buf: &'a mut Vec<libc::epoll_event>,
        mut wait: impl FnMut(
                BorrowedFd<'_>,
                &mut Vec<libc::epoll_event>,
                usize,
                Option<Duration>,
            ) -> Result<usize>
            + 'a,
    ) -> impl FnMut(Option<Duration>) -> Result<usize> + 'a {
        move |t| {
            let n = wait(ep.as_fd(), buf, 8, t)?;
            assert_eq!(buf.len(), n);
            assert!(buf
                .iter()
                .all(|e| e.u64 == 7 && e.events & libc::EPOLLIN as u32 != 0));
            Ok(n)
        }
    }

    /// Every check of the suite, on `wait`; returns the shortest of ten
    /// 100 µs waits.
    fn full_suite(
        wait: impl Fn(
                BorrowedFd<'_>,
                &mut Vec<libc::epoll_event>,
                usize,
                Option<Duration>,
            ) -> Result<usize>
            + Copy,
    ) -> Duration {
        let (a, peer) = suite::pair();
        let (ep, mut buf) = watching(&a);
        let shortest = suite::never_early(call(&ep, &mut buf, wait), 10);
        suite::zero_polls(call(&ep, &mut buf, wait));
        suite::ready_returns_at_once(call(&ep, &mut buf, wait), &a, &peer);
        suite::forever_waits_for_readiness(call(&ep, &mut buf, wait), &a, &peer);
        shortest
    }

    #[test]
    fn epoll_pwait2_never_returns_early_and_is_precise() {
        let shortest = full_suite(epoll_pwait2);
        if epoll_pwait2_available() {
            // Rounded up to 1 ms, every one would take at least that.
            assert!(
                shortest < Duration::from_millis(1),
                "100 µs waits took {shortest:?} at best: rounded to ms?"
            );
        }
    }

    #[test]
    fn epoll_pwait2_interrupted_by_a_signal() {
        let (a, _peer) = suite::pair();
        let (ep, mut buf) = watching(&a);
        suite::signal_interrupts(call(&ep, &mut buf, epoll_pwait2));
    }

    /// The forced fallback (a kernel without epoll_pwait2, as this thread
    /// sees it) rounds up to whole ms: never early, at least 1 ms for
    /// 100 µs, and everything else as before.
    #[test]
    fn forced_fallback_rounds_up_and_never_returns_early() {
        force_epoll_wait_fallback(true);
        assert!(!epoll_pwait2_available());
        let shortest = full_suite(epoll_pwait2);
        assert!(shortest >= Duration::from_millis(1), "{shortest:?}");
        let (a, _peer) = suite::pair();
        let (ep, mut buf) = watching(&a);
        suite::signal_interrupts(call(&ep, &mut buf, epoll_pwait2));
        force_epoll_wait_fallback(false);
    }

    /// A system call number no kernel has stands in for a kernel without
    /// epoll_pwait2: the first call gets ENOSYS, latches UNAVAILABLE and
    /// still waits (the full time, via epoll_wait); later calls go
    /// straight to epoll_wait, even with the real number.
    #[test]
    fn enosys_latches_the_fallback() {
        const NO_SUCH_CALL: libc::c_long = 100_000;
        let latch = AtomicU8::new(UNKNOWN);
        let (a, peer) = suite::pair();
        let (ep, mut buf) = watching(&a);
        let t = Duration::from_micros(100);
        let start = std::time::Instant::now();
        let n = latched_wait(&latch, NO_SUCH_CALL, ep.as_fd(), &mut buf, 8, Some(t)).unwrap();
        assert_eq!(n, 0);
        assert!(
            start.elapsed() >= Duration::from_millis(1),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(latch.load(Ordering::Relaxed), UNAVAILABLE);
        // Latched: the real call is not tried again (it would be precise).
        let real = |ep: BorrowedFd<'_>, buf: &mut Vec<_>, max, t| {
            latched_wait(&latch, libc::SYS_epoll_pwait2, ep, buf, max, t)
        };
        let shortest = suite::never_early(call(&ep, &mut buf, real), 5);
        assert!(shortest >= Duration::from_millis(1), "{shortest:?}");
        suite::ready_returns_at_once(call(&ep, &mut buf, real), &a, &peer);
        assert_eq!(latch.load(Ordering::Relaxed), UNAVAILABLE);
    }

    /// The first answer from a kernel that has the call latches AVAILABLE,
    /// and agrees with the probe; an error from it (EINVAL here: not an
    /// epoll fd) is an answer too, not a reason to fall back.
    #[test]
    fn first_answer_latches_availability() {
        let latch = AtomicU8::new(UNKNOWN);
        let (a, _peer) = suite::pair();
        let mut buf = Vec::with_capacity(1);
        let zero = Some(Duration::ZERO);
        let res = latched_wait(&latch, libc::SYS_epoll_pwait2, a.as_fd(), &mut buf, 1, zero);
        let have = epoll_pwait2_available();
        let state = latch.load(Ordering::Relaxed);
        assert_eq!(state, if have { AVAILABLE } else { UNAVAILABLE });
        let err = res.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
        if have {
            assert_eq!(err.call(), "epoll_pwait2");
        }
    }
}
