//! Socket-layer helpers: loopback addresses, listeners and connected
//! pairs of `sockpoll::Socket`, timeouts, `/proc` fd flags, temp dirs.

use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use sockpoll::{Domain, SockAddr, Socket, Type};

/// `O_CLOEXEC` as `/proc/self/fdinfo/<fd>` prints it (octal `flags:` line).
pub const O_CLOEXEC_OCTAL: u32 = 0o2000000;

// Loopback addresses, listeners and connected pairs are the conformance
// harness's own (its cases use them); re-exported for the net tests.
pub use sockpoll_conformance::support::net::{
    listener, loopback, set_timeouts, tcp_pair, v4_any, v6_any, PATIENCE,
};

/// A TCP port on 127.0.0.1 that nobody listens on: bound to port 0 to get a
/// free number, then released.
pub fn closed_port_v4() -> SockAddr {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    s.bind(&v4_any()).expect("bind");
    let addr = s.local_addr().expect("local_addr");
    drop(s);
    addr
}

/// The `flags:` field of `/proc/self/fdinfo/<fd>` (octal in the file).
pub fn fdinfo_flags(fd: RawFd) -> u32 {
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).expect("read fdinfo");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .expect("fdinfo has a flags: line");
    u32::from_str_radix(line.trim(), 8).expect("flags are octal")
}

/// Asserts that `fd` is close-on-exec both as the kernel reports it in
/// `/proc` and through `Socket::is_cloexec`.
pub fn assert_cloexec(s: &Socket, what: &str) {
    let flags = fdinfo_flags(s.as_raw_fd());
    assert_ne!(
        flags & O_CLOEXEC_OCTAL,
        0,
        "{what}: fd {} flags {flags:o} lack O_CLOEXEC",
        s.as_raw_fd()
    );
    assert!(s.is_cloexec().expect("is_cloexec"), "{what}: is_cloexec");
}

/// A name unique to this process and test, for abstract sockets.
pub fn unique_name(test: &str) -> String {
    format!("sockpoll-{}-{test}", std::process::id())
}

/// A fresh directory under the system temp dir, removed (with its contents)
/// on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(unique_name(test));
        // A leftover from a crashed earlier run with the same pid.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits (at most 5 s) until `fd` is readable, as [`wait_writable`] does.
pub fn wait_readable(fd: impl std::os::fd::AsFd) -> Option<nix::poll::PollFlags> {
    wait_for(fd.as_fd(), nix::poll::PollFlags::POLLIN)
}

/// Waits (at most 5 s) until `fd` is writable, through nix's safe poll
/// wrapper (the socket layer has no readiness call of its own). Returns the
/// flags seen, or `None` on timeout.
pub fn wait_writable(fd: impl std::os::fd::AsFd) -> Option<nix::poll::PollFlags> {
    wait_for(fd.as_fd(), nix::poll::PollFlags::POLLOUT)
}

fn wait_for(
    fd: std::os::fd::BorrowedFd<'_>,
    want: nix::poll::PollFlags,
) -> Option<nix::poll::PollFlags> {
    use nix::poll::{poll, PollFd, PollTimeout};
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(fd, want)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => return None,
            Ok(_) => return fds[0].revents(),
            Err(nix::errno::Errno::EINTR) if !left.is_zero() => continue,
            Err(e) => panic!("poll: {e}"),
        }
    }
}

/// The interface index of `lo` in this network namespace (from sysfs), for
/// the options that take an index.
pub fn loopback_index() -> u32 {
    let text = std::fs::read_to_string("/sys/class/net/lo/ifindex").expect("read lo's ifindex");
    text.trim().parse().expect("lo's ifindex is a number")
}
