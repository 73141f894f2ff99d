//! Socket pairs for the readiness benches (`backends`, `wait`): how many
//! fit, the pairs themselves, and the mio baseline watching them.

use std::os::unix::net::UnixStream;

use super::quick;

/// The largest pair count that fits: 10,000 pairs are 20,000 fds, and the
/// hard limit here is 20,000, so leave room for stdio, selectors and
/// criterion's report files (9,950 pairs, as BENCHMARKS.md says).
pub fn largest_n(limit: u64) -> usize {
    let wanted = if quick() { 2_000 } else { 10_000 };
    let fit = usize::try_from(limit.saturating_sub(100) / 2).unwrap_or(usize::MAX);
    wanted.min(fit).min(9_950)
}

/// `n` AF_UNIX stream socket pairs, both ends non-blocking.
pub fn pairs(n: usize) -> (Vec<UnixStream>, Vec<UnixStream>) {
    let mut reads = Vec::with_capacity(n);
    let mut writes = Vec::with_capacity(n);
    for _ in 0..n {
        let (r, w) = UnixStream::pair().expect("socketpair (raise the fd limit?)");
        r.set_nonblocking(true).expect("O_NONBLOCK");
        w.set_nonblocking(true).expect("O_NONBLOCK");
        reads.push(r);
        writes.push(w);
    }
    (reads, writes)
}

/// A mio `Poll` watching every fd of `reads` for readability, token = index:
/// the baseline registration every readiness bench compares with.
pub fn mio_poll_for(reads: &[UnixStream]) -> mio::Poll {
    use std::os::fd::AsRawFd;
    let poll = mio::Poll::new().expect("mio");
    for (i, s) in reads.iter().enumerate() {
        poll.registry()
            .register(
                &mut mio::unix::SourceFd(&s.as_raw_fd()),
                mio::Token(i),
                mio::Interest::READABLE,
            )
            .expect("mio register");
    }
    poll
}
