//! Tests only: running code in a forked child, for the tests of what a
//! selector does after `fork` (integration tests cannot fork: they are safe
//! Rust, and re-executing the test binary makes a process without the
//! parent's memory, not a fork).

use std::time::Duration;

/// Runs `child` in a forked child process and returns its exit code
/// (`child`'s return value), or `None` if it did not exit normally — among
/// others when it was still running after `bound` (an alarm ends it).
///
/// The child runs `child` then `_exit`s: no destructor, no atexit handler,
/// no return into the test harness. `child` must only do what is sound
/// after a fork of a multi-threaded process — here, calls on selectors
/// whose locks no other thread held at the fork (or that must not take
/// them), allocation (glibc's malloc is fork-safe), and no output.
pub(crate) fn fork_and_run(bound: Duration, child: impl FnOnce() -> i32) -> Option<i32> {
    let secs = u32::try_from(bound.as_secs().max(1)).unwrap_or(u32::MAX);
    // SAFETY: fork has no memory-safety preconditions of its own; what the
    // child may do is the caller's contract above (only this thread exists
    // there, so nothing may wait on a lock another thread held at the
    // fork), and the child never returns into Rust code past `child`.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: alarm only arms a timer; SIGALRM's default action ends
        // the child if `child` hangs.
        unsafe { libc::alarm(secs) };
        let code = child();
        // SAFETY: _exit ends the child at once, without running the
        // parent's destructors or atexit handlers twice.
        unsafe { libc::_exit(code) };
    }
    if pid < 0 {
        return None;
    }
    let mut status = 0;
    // SAFETY: waitpid writes one int through the pointer, which points to
    // a live local.
    let ret = unsafe { libc::waitpid(pid, &mut status, 0) };
    (ret == pid && libc::WIFEXITED(status)).then(|| libc::WEXITSTATUS(status))
}
