//! The `Waker`'s descriptor: `eventfd(2)` on Linux/Android, a pipe
//! elsewhere (`sys::fd::pipe`). Both halves are non-blocking and close-on-exec.

#[cfg(linux_like)]
use std::os::fd::FromRawFd;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

#[cfg(linux_like)]
use super::check;
use super::check_retry;
use crate::error::{Result, Subject};

/// Creates the waker's descriptors: `(read side, write side)`; for an
/// eventfd both are the same descriptor, so the write side is `None`.
#[cfg(linux_like)]
pub(crate) fn new() -> Result<(OwnedFd, Option<OwnedFd>)> {
    // SAFETY: no pointers; the flags are valid constants.
    let fd = check(
        unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) },
        "eventfd",
        || Subject::None,
    )?;
    // SAFETY: eventfd succeeded, so `fd` is a new descriptor nothing owns.
    Ok((unsafe { OwnedFd::from_raw_fd(fd) }, None))
}

/// Creates the waker's descriptors: `(read side, write side)`: a pipe
/// (`pipe2`, or `pipe` + `fcntl` where `pipe2` does not exist).
#[cfg(not(linux_like))]
pub(crate) fn new() -> Result<(OwnedFd, Option<OwnedFd>)> {
    let (read, write) = super::fd::pipe()?;
    Ok((read, Some(write)))
}

/// The value written by one wake: 1 for an eventfd counter, one byte for a
/// pipe (the first byte of it).
const ONE: u64 = 1;

/// One `write(2)`; async-signal-safe: no allocation, no lock. `EAGAIN` (a
/// counter at its maximum, a full pipe) means a wake is already pending,
/// which is all a wake has to achieve, so it is success.
pub(crate) fn wake(fd: BorrowedFd<'_>, is_eventfd: bool) -> Result<()> {
    let bytes = ONE.to_ne_bytes();
    let len = if is_eventfd { bytes.len() } else { 1 };
    let raw = fd.as_raw_fd();
    // SAFETY: the buffer holds `len` (<= 8) readable bytes; fd is borrowed,
    // so open. Restarting after EINTR is safe: nothing was written.
    let res = check_retry(
        || unsafe { libc::write(raw, bytes.as_ptr().cast(), len) },
        "write",
        || Subject::Fd(raw),
    );
    match res {
        Err(e) if e.is_would_block() => Ok(()),
        res => res.map(drop),
    }
}

/// Drains the descriptor with `read(2)` until it would block.
pub(crate) fn reset(fd: BorrowedFd<'_>) -> Result<()> {
    let mut buf = [0u8; 64];
    let raw = fd.as_raw_fd();
    // Bounded: an eventfd empties in one read; a pipe holds at most a few
    // pages of one-byte wakes, and new wakes racing in are left for later.
    for _ in 0..4096 {
        // SAFETY: `buf` is a live, writable buffer of `buf.len()` bytes; fd
        // is borrowed, so open.
        let res = check_retry(
            || unsafe { libc::read(raw, buf.as_mut_ptr().cast(), buf.len()) },
            "read",
            || Subject::Fd(raw),
        );
        match res {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.is_would_block() => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
