//! What every bench shares: quick mode, the Criterion settings, the fd
//! limit. The readiness benches also pull in `pairs.rs` (socket pairs, the
//! mio baseline), so no bench compiles a helper it does not use.

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
