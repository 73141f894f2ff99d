//! Helpers for a stream under test: read to EOF with a bound, reset
//! instead of closing.

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Reads until EOF, bounded by `limit` overall (and by the socket's read
/// timeout a read); `expect` is the length expected, for messages.
pub fn read_to_eof(c: &mut impl Read, limit: Duration, expect: usize) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::with_capacity(expect);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        assert!(
            Instant::now() < deadline,
            "no EOF within {limit:?} ({} of {expect} bytes back)",
            got.len()
        );
        match c.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("read after {} of {expect} bytes: {e}", got.len()),
        }
    }
}

/// Resets the connection on drop (SO_LINGER 0: close sends RST).
pub fn reset(c: TcpStream) {
    socket2::SockRef::from(&c)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(c);
}
