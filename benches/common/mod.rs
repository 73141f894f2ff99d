//! What every bench shares: quick mode, the fd limit, socket pairs, pinning.
#![allow(dead_code)] // each bench uses a different part

use std::os::unix::net::UnixStream;
use std::time::Duration;

use criterion::Criterion;

/// `SOCKPOLL_BENCH_QUICK=1` (any value but empty or `0`): few samples, short
/// measurement, smaller largest N, so all of `cargo bench` fits in minutes.
pub fn quick() -> bool {
    std::env::var_os("SOCKPOLL_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The Criterion every bench starts from: criterion's defaults, or the quick
/// settings (which also skip criterion's per-benchmark plots: drawing them
/// with plotters costs seconds per benchmark; `benches/report.py` draws the
/// scaling charts from the estimates either way).
pub fn criterion() -> Criterion {
    let c = Criterion::default();
    let c = if quick() {
        c.sample_size(10)
            .measurement_time(Duration::from_secs(1))
            .warm_up_time(Duration::from_millis(200))
            .without_plots()
    } else {
        c
    };
    c.configure_from_args()
}

#[path = "../../examples/support/fdlimit.rs"]
mod fdlimit;
pub use fdlimit::raise_fd_limit;

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

/// Pins the calling thread to `cpu` when the machine has it; a failure is
/// only noise, never an error.
pub fn pin_to(cpu: usize) {
    use nix::sched::{sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    let have = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpu >= have {
        return;
    }
    let mut set = CpuSet::new();
    if set.set(cpu).is_ok() {
        let _ = sched_setaffinity(Pid::from_raw(0), &set);
    }
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
