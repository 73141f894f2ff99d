//! Descriptor-level calls that are not about sockets: `fcntl(2)`'s flag
//! words, `fstat(2)`, and `pipe(2)`/`pipe2(2)`. One wrapper each; the socket
//! layer, the readiness backends and the waker all go through these.

#[cfg(not(linux_like))]
use std::os::fd::FromRawFd;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::check;
use crate::error::{Result, Subject};

/// `fcntl(fd, F_GETFD)`: the descriptor flags (`FD_CLOEXEC`).
///
/// Takes a raw fd on purpose: the select backend asks it about numbers that
/// may have been closed, and an invalid fd is `EBADF`, never UB.
pub(crate) fn getfd(fd: RawFd) -> Result<i32> {
    // SAFETY: F_GETFD takes no further argument and only reads the flags.
    check(
        unsafe { libc::fcntl(fd, libc::F_GETFD) },
        "fcntl F_GETFD",
        || Subject::Fd(fd),
    )
}

/// An open file's identity: `fstat(2)`'s device and inode numbers. Two
/// open fds with different identities name different files. The same
/// identity is the same file, or another file on the same inode: the file
/// opened twice, or (Linux) any other anonymous-inode fd — eventfds, epoll
/// instances, timerfds, signalfds… all share the one anonymous inode.
/// Sockets and pipes each have an inode of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: libc::dev_t,
    ino: libc::ino_t,
}

/// What the readiness backends take from one `fstat(2)`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileStat {
    /// Which file it is.
    pub(crate) id: FileId,
    /// What kind of file: `st_mode & S_IFMT` (`S_IFSOCK`, `S_IFIFO`, …).
    pub(crate) format: libc::mode_t,
}

/// `fstat(2)`. On Linux x86-64 and AArch64 it is the kernel's own `fstat`
/// system call, whose `struct stat` is libc's there: glibc 2.33 and later
/// make `fstat` an `fstatat(fd, "", AT_EMPTY_PATH)`, and the kernel must
/// fetch and check that empty path first (the difference is measured in
/// `BENCHMARKS.md`), paid at every event that poll, select and uring check
/// a file's identity for. Elsewhere, libc's `fstat`.
///
/// # Safety
///
/// `st` must be valid for writes of one `libc::stat`.
unsafe fn fstat_call(fd: RawFd, st: *mut libc::stat) -> libc::c_int {
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    {
        // SAFETY: the caller's contract on `st`; the system call's
        // `struct stat` is `libc::stat` on these targets, and it writes
        // nothing else. An unused number is EBADF.
        let ret = unsafe { libc::syscall(libc::SYS_fstat, fd, st) };
        // 0 or -1 (with errno set): both fit.
        ret as libc::c_int
    }
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    {
        // SAFETY: the caller's contract on `st`.
        unsafe { libc::fstat(fd, st) }
    }
}

/// `fstat(fd)`: the file's identity and kind.
pub(crate) fn fstat(fd: BorrowedFd<'_>) -> Result<FileStat> {
    let raw = fd.as_raw_fd();
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: fd is borrowed, so open; fstat writes one `stat` into the
    // buffer, which is that size and zero-initialised.
    let ret = unsafe { fstat_call(raw, st.as_mut_ptr()) };
    check(ret, "fstat", || Subject::Fd(raw))?;
    // SAFETY: zeroed() already made every field a valid integer, and fstat
    // succeeded, so they hold its answer.
    let st = unsafe { st.assume_init() };
    Ok(FileStat {
        id: FileId {
            dev: st.st_dev,
            ino: st.st_ino,
        },
        format: st.st_mode & libc::S_IFMT,
    })
}

/// The identity of the file at fd number `fd` now, or `None` if the number
/// is closed (or fstat fails). A raw number on purpose: poll and select ask
/// it about registered numbers whose fd the caller may have closed, to tell
/// a reused number from the registered file.
pub(crate) fn identity_of_number(fd: RawFd) -> Option<FileId> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: fstat only reads the descriptor table (an unused number is
    // EBADF, never UB) and writes one `stat` into the buffer, which is that
    // size and zero-initialised.
    let ret = unsafe { fstat_call(fd, st.as_mut_ptr()) };
    if ret == -1 {
        return None;
    }
    // SAFETY: zeroed() made every field a valid integer; fstat succeeded.
    let st = unsafe { st.assume_init() };
    Some(FileId {
        dev: st.st_dev,
        ino: st.st_ino,
    })
}

/// The identity of the file `fd` names ([`fstat`]).
pub(crate) fn identity(fd: BorrowedFd<'_>) -> Result<FileId> {
    fstat(fd).map(|st| st.id)
}

/// Makes the number `dst` owns refer to `src`'s file, atomically
/// (`dup3(src, dst, O_CLOEXEC)`), then closes `src`'s own number. The old
/// file at `dst` is released; a call blocked on it in another thread keeps
/// its reference until it returns. Used to swap a fresh epoll instance in
/// under a number other threads may be waiting on.
#[cfg(linux_like)]
pub(crate) fn replace(dst: &OwnedFd, src: OwnedFd) -> Result<()> {
    let raw = dst.as_raw_fd();
    // SAFETY: both numbers are owned (dst by the caller's OwnedFd, src by
    // value) and open. dup3 replaces dst's file atomically — the number is
    // never closed in between — so `dst` goes on owning an open descriptor
    // and every borrow of it stays valid; src is closed when it drops.
    check(
        unsafe { libc::dup3(src.as_raw_fd(), raw, libc::O_CLOEXEC) },
        "dup3",
        || Subject::Fd(raw),
    )
    .map(drop)
}

/// `fcntl(fd, F_SETFD, flags)`.
#[cfg(not(atomic_cloexec))]
pub(crate) fn setfd(fd: RawFd, flags: i32) -> Result<()> {
    // SAFETY: F_SETFD takes one int argument; an invalid fd is EBADF.
    check(
        unsafe { libc::fcntl(fd, libc::F_SETFD, flags) },
        "fcntl F_SETFD",
        || Subject::Fd(fd),
    )
    .map(drop)
}

/// `fcntl(fd, F_GETFL)`: the file status flags (`O_NONBLOCK`, …).
#[cfg(not(atomic_cloexec))]
pub(crate) fn getfl(fd: RawFd) -> Result<i32> {
    // SAFETY: F_GETFL takes no further argument.
    check(
        unsafe { libc::fcntl(fd, libc::F_GETFL) },
        "fcntl F_GETFL",
        || Subject::Fd(fd),
    )
}

/// `fcntl(fd, F_SETFL, flags)`.
#[cfg(not(atomic_cloexec))]
pub(crate) fn setfl(fd: RawFd, flags: i32) -> Result<()> {
    // SAFETY: F_SETFL takes one int argument; an invalid fd is EBADF.
    check(
        unsafe { libc::fcntl(fd, libc::F_SETFL, flags) },
        "fcntl F_SETFL",
        || Subject::Fd(fd),
    )
    .map(drop)
}

/// A pipe whose both ends are close-on-exec and non-blocking: `(read,
/// write)`. Atomic through `pipe2(2)` where it exists. (Linux and Android
/// wake through an eventfd and need no pipe.)
#[cfg(bsd_pipe2)]
pub(crate) fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: pipe2 writes two ints into the array, which has room for two.
    check(
        unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) },
        "pipe2",
        || Subject::None,
    )?;
    // SAFETY: pipe2 succeeded: both are new descriptors nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A pipe whose both ends are close-on-exec and non-blocking: `(read,
/// write)`. macOS and the other targets without `pipe2(2)`: `pipe(2)` then
/// `fcntl`, so a `fork`+`exec` in another thread between the two calls can
/// inherit the ends (mio and polling have the same window there).
#[cfg(not(atomic_cloexec))]
pub(crate) fn pipe() -> Result<(OwnedFd, OwnedFd)> {
    use std::os::fd::AsRawFd;
    let mut fds = [-1 as libc::c_int; 2];
    // SAFETY: pipe writes two ints into the array, which has room for two.
    check(unsafe { libc::pipe(fds.as_mut_ptr()) }, "pipe", || {
        Subject::None
    })?;
    // SAFETY: pipe succeeded: both are new descriptors nothing else owns.
    let ends = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    for fd in [ends.0.as_raw_fd(), ends.1.as_raw_fd()] {
        setfd(fd, getfd(fd)? | libc::FD_CLOEXEC)?;
        setfl(fd, getfl(fd)? | libc::O_NONBLOCK)?;
    }
    Ok(ends)
}
