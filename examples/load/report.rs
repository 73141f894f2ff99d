//! What `echo_load` counts, and the line it prints: msgs/s, MB/s,
//! latency percentiles and errors, as text or as one JSON object.

use crate::args::Args;

/// What the run counted.
#[derive(Default)]
pub struct Tally {
    pub messages: u64,
    pub bytes: u64,
    pub errors: u64,
    pub latencies: Vec<u64>,
}

/// Prints the result of a run of `secs` seconds.
pub fn print(a: &Args, t: &mut Tally, secs: f64) {
    t.latencies.sort_unstable();
    let (p50, p99, max) = (
        pct(&t.latencies, 0.50),
        pct(&t.latencies, 0.99),
        pct(&t.latencies, 1.0),
    );
    let msgs = t.messages as f64 / secs;
    let mbs = t.bytes as f64 / secs / 1e6;
    let proto = if a.udp { "udp" } else { "tcp" };
    let style = if a.pipeline { "pipeline" } else { "pingpong" };
    if a.json {
        println!(
            "{{\"addr\":\"{}\",\"proto\":\"{proto}\",\"mode\":\"{style}\",\"connections\":{},\"size\":{},\"seconds\":{secs:.3},\"messages\":{},\"msgs_per_s\":{msgs:.1},\"mb_per_s\":{mbs:.3},\"p50_us\":{p50:.1},\"p99_us\":{p99:.1},\"max_us\":{max:.1},\"errors\":{}}}",
            a.addr, a.conns, a.size, t.messages, t.errors
        );
    } else {
        println!(
            "{proto} {style} {} conns x {} B to {} for {secs:.2} s: {} msgs, {msgs:.0} msgs/s, {mbs:.2} MB/s, latency p50 {p50:.1} us p99 {p99:.1} us max {max:.1} us, {} errors",
            a.conns, a.size, a.addr, t.messages, t.errors
        );
    }
}

/// The `p` quantile of `sorted` nanoseconds, in microseconds.
fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[k.min(sorted.len() - 1)] as f64 / 1000.0
}
