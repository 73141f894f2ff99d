//! `select(2)` and `pselect(2)` on caller-sized bit arrays, and
//! `ioctl(FIONREAD)`.
//!
//! `FD_SET` and `fd_set` are never used: glibc's fortified `FD_SET` aborts
//! for fd >= 1024, and on Linux the kernel accepts sets of any length as
//! long as they hold `nfds` bits, so the sets are plain `c_ulong` words.

use std::os::fd::{BorrowedFd, RawFd};
use std::time::Duration;

use super::{check, time};
use crate::error::{Error, Result, Subject};

/// Bits in one word of an fd set.
pub(crate) const WORD_BITS: usize = libc::c_ulong::BITS as usize;

/// Words needed to hold `nfds` bits, rounded up; at least one `fd_set`
/// worth so that libcs that read a whole `fd_set` stay in bounds.
pub(crate) fn words_for(nfds: usize) -> usize {
    let min = std::mem::size_of::<libc::fd_set>() / std::mem::size_of::<libc::c_ulong>();
    nfds.div_ceil(WORD_BITS).max(min)
}

/// `nfds` as a `c_int`, once both sets are known to hold `nfds` bits:
/// the kernel reads and writes that many, so smaller sets are refused
/// before the call.
fn checked_nfds(
    call: &'static str,
    nfds: usize,
    read: &[libc::c_ulong],
    write: &[libc::c_ulong],
) -> Result<libc::c_int> {
    let words = nfds.div_ceil(WORD_BITS);
    let c_nfds = libc::c_int::try_from(nfds).ok();
    c_nfds
        .filter(|_| read.len() >= words && write.len() >= words)
        .ok_or(Error::InvalidInput {
            call,
            subject: Subject::Nfds(nfds),
            reason: "fd sets smaller than nfds",
        })
}

/// One `pselect(nfds, read, write, except, timeout, NULL)`: `select(2)` with
/// the timeout exact to the nanosecond (`None` = NULL = forever; seconds
/// clamped as [`timeout_timespec`](time::timeout_timespec) says) and the
/// signal mask left alone. `EINTR` and `EBADF` are returned as errors for
/// the caller to handle.
pub(crate) fn pselect(
    nfds: usize,
    read: &mut [libc::c_ulong],
    write: &mut [libc::c_ulong],
    except: &mut [libc::c_ulong],
    timeout: Option<Duration>,
) -> Result<usize> {
    let c_nfds = checked_nfds("pselect", nfds, read, write)?;
    checked_nfds("pselect", nfds, except, except)?;
    let ts = time::timeout_timespec(timeout);
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: all three sets hold at least `nfds` bits (checked above), which is
    // all the kernel reads or writes; fd_set is an array of longs on Linux,
    // so the casts only reinterpret the same words. `ts_ptr` is NULL or
    // points to the live local `ts`, which is only read; a NULL sigmask
    // leaves the thread's mask as it is.
    let ret = unsafe {
        libc::pselect(
            c_nfds,
            read.as_mut_ptr().cast::<libc::fd_set>(),
            write.as_mut_ptr().cast::<libc::fd_set>(),
            except.as_mut_ptr().cast::<libc::fd_set>(),
            ts_ptr,
            std::ptr::null(),
        )
    };
    let n = check(ret, "pselect", || Subject::Nfds(nfds))?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Whether `fd` is an open descriptor (`fcntl(fd, F_GETFD)` succeeds).
/// Takes a raw fd on purpose: it is asked about fds that may be closed.
pub(crate) fn fd_is_open(fd: RawFd) -> bool {
    super::fd::getfd(fd).is_ok()
}

/// `ioctl(fd, FIONREAD)`: bytes ready to read, or `None` if the descriptor
/// does not support it (e.g. a listening socket).
pub(crate) fn bytes_readable(fd: RawFd) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points
    // to a live local; a closed or unsuitable fd yields -1, never UB.
    let ret = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    check(ret, "ioctl", || Subject::Fd(fd))
        .ok()
        .and_then(|_| usize::try_from(n).ok())
}

/// What a descriptor is, as far as `select` post-processing cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FdKind {
    /// A `SOCK_STREAM` socket or a pipe/FIFO: "readable with 0 bytes queued"
    /// means end of file (or a pending error).
    StreamLike,
    /// Anything else (datagram sockets, listeners, eventfds, …).
    Other,
}

/// Classifies `fd`, whose `fstat(2)` file kind (`st_mode & S_IFMT`) is
/// `format`, asking `getsockopt(SO_TYPE)` for a socket.
pub(crate) fn fd_kind(fd: BorrowedFd<'_>, format: libc::mode_t) -> FdKind {
    if format == libc::S_IFIFO {
        return FdKind::StreamLike;
    }
    if format == libc::S_IFSOCK {
        let sock = socket2::SockRef::from(&fd);
        // A listener is a stream socket too, but FIONREAD fails on it, and
        // `bytes_readable` then says None: it is never taken for EOF.
        if sock.r#type().ok() == Some(socket2::Type::STREAM) {
            return FdKind::StreamLike;
        }
    }
    FdKind::Other
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::time::suite;
    use super::*;

    /// A real `select` failure (a `timeval` with negative microseconds is
    /// `EINVAL`) names the call and its `nfds`; before, the subject was
    /// empty and the message said only "select: Invalid argument".
    #[test]
    fn select_error_names_nfds() {
        use std::os::fd::AsRawFd;
        // A closed descriptor in the read set: EBADF, a real failure. Tests
        // run in parallel, so the number may be reused before the call (then
        // select succeeds): try again with another (bounded).
        for _ in 0..100 {
            let closed = {
                let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
                a.as_raw_fd()
            };
            let bit = usize::try_from(closed).unwrap();
            let nfds = bit + 1;
            let mut read = vec![0; words_for(nfds)];
            let mut write = vec![0; words_for(nfds)];
            read[bit / WORD_BITS] |= 1 << (bit % WORD_BITS);
            let Err(err) = pselect(
                nfds,
                &mut read,
                &mut write,
                &mut vec![0; words_for(nfds)],
                Some(Duration::ZERO),
            ) else {
                continue;
            };
            assert_eq!(err.raw_os_error(), Some(libc::EBADF), "{err}");
            assert_eq!(err.call(), "pselect");
            assert!(
                matches!(err, Error::Os { subject: Subject::Nfds(n), .. } if n == nfds),
                "{err:?}"
            );
            assert!(
                err.to_string()
                    .starts_with(&format!("pselect nfds {nfds}: ")),
                "{err}"
            );
            return;
        }
        panic!("every closed number was reused at once");
    }

    /// One `pselect` on `a` for readability (the sets are rebuilt for each
    /// call: the kernel overwrites them).
    fn pselect_on(
        a: &std::os::unix::net::UnixStream,
    ) -> impl FnMut(Option<Duration>) -> Result<usize> + '_ {
        let fd = usize::try_from(a.as_raw_fd()).unwrap();
        let (word, bit) = (fd / WORD_BITS, fd % WORD_BITS);
        move |t| {
            let mut read = vec![0; words_for(fd + 1)];
            let mut write = vec![0; words_for(fd + 1)];
            read[word] |= 1 << bit;
            let n = pselect(
                fd + 1,
                &mut read,
                &mut write,
                &mut vec![0; words_for(fd + 1)],
                t,
            )?;
            assert_eq!(n != 0, read[word] & (1 << bit) != 0);
            Ok(n)
        }
    }

    #[test]
    fn pselect_never_returns_early() {
        let (a, _peer) = suite::pair();
        let shortest = suite::never_early(pselect_on(&a), 10);
        assert!(
            shortest < Duration::from_millis(1),
            "100 µs waits took {shortest:?} at best: rounded to ms?"
        );
        suite::zero_polls(pselect_on(&a));
    }

    #[test]
    fn pselect_returns_at_once_when_ready() {
        let (a, peer) = suite::pair();
        suite::ready_returns_at_once(pselect_on(&a), &a, &peer);
    }

    #[test]
    fn pselect_forever_waits_for_readiness() {
        let (a, peer) = suite::pair();
        suite::forever_waits_for_readiness(pselect_on(&a), &a, &peer);
    }

    #[test]
    fn pselect_interrupted_by_a_signal() {
        let (a, _peer) = suite::pair();
        suite::signal_interrupts(pselect_on(&a));
    }

    #[test]
    fn pselect_refuses_sets_smaller_than_nfds() {
        let mut read = vec![0; 1];
        let mut write = vec![0; 1];
        let err = pselect(
            WORD_BITS + 1,
            &mut read,
            &mut write,
            &mut vec![0; words_for(WORD_BITS + 1)],
            None,
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidInput {
                    call: "pselect",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
