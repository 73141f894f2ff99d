//! Entry points for the fuzz targets in `fuzz/` (built only with `--cfg
//! fuzzing`, which `cargo fuzz` sets): the parsers of bytes sockpoll did
//! not produce that the public API cannot reach with arbitrary input —
//! control messages come only from the kernel, and a host name in
//! `"host:port"` would be looked up (traffic off the machine). Each runs
//! the same code the public calls run.

use std::net::SocketAddr;

use crate::addr::SockAddr;
use crate::error::Result;

/// Walks `bytes` as a received control buffer (copied to an aligned one)
/// and decodes each message as `RecvMsg::cmsgs` would, descriptors left as
/// bytes (nothing is owned or closed). Returns how many messages it found.
#[cfg(target_os = "linux")]
pub fn control_messages(bytes: &[u8]) -> usize {
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks(8)) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        *word = u64::from_ne_bytes(b);
    }
    let aligned: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let mut count = 0;
    crate::sys::cmsg::walk_untrusted(&aligned[..bytes.len()], |level, ty, data| {
        let decoded = crate::net::cmsg::decode(level, ty, data);
        // Display every field, as a caller printing it would.
        let _ = format!("{decoded:?}");
        count += 1;
    });
    count
}

/// A socket address the kernel wrote as `bytes` and reported `len` for
/// (`accept`, `recvfrom`, `getsockname`…), as sockpoll turns it into a
/// `SockAddr`.
pub fn kernel_sockaddr(bytes: &[u8], len: u32) -> SockAddr {
    crate::sys::addr::RawAddr::written(bytes, len as libc::socklen_t).to_addr()
}

/// A `"host:port"` string's host and port, as `ToSockAddrs` splits it
/// before looking the host up (a `SocketAddr` string is parsed whole).
pub fn host_port(s: &str) -> Result<(Option<SocketAddr>, String, u16)> {
    let whole = s.parse::<SocketAddr>().ok();
    let (host, port) = crate::net::resolve::split_host_port(s)?;
    Ok((whole, host.to_owned(), port))
}
