//! What every bench shares: quick mode, the Criterion settings, the fd
//! limit; and one helper a module, each used by some of the benches:
//! `pairs` (socket pairs, the mio baseline: the readiness benches), `cpu`
//! (pinning, a thread's CPU time) and `echo_thread` (the echo loop on a
//! thread of its own: the echo and udp benches).
// Every bench compiles every helper and uses a subset.
#![allow(dead_code)]

pub mod cpu;
pub mod echo_thread;
pub mod pairs;

use std::time::Duration;

use criterion::Criterion;

/// `SOCKPOLL_BENCH_QUICK=1` (any value but empty or `0`): few samples, short
/// measurement, smaller largest N, so all of `cargo bench` fits in minutes.
pub fn quick() -> bool {
    std::env::var_os("SOCKPOLL_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The Criterion every bench starts from: criterion's defaults, or the quick
/// settings (which also skip criterion's per-benchmark plots: drawing them
/// with plotters costs seconds per benchmark; `benches/process/report.py` draws the
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

pub use sockpoll_conformance::support::raise_fd_limit;
