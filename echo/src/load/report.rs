//! What `echo_load` counts, and the line it prints: msgs/s, MB/s,
//! latency percentiles and errors, as text or as one JSON object.

use super::args::Args;

/// What the run counted.
#[derive(Default)]
pub struct Tally {
    /// Messages (UDP: datagrams) echoed in time and byte-exact.
    pub messages: u64,
    pub bytes: u64,
    /// TCP: failed connections and wrong echoes; UDP: corrupt, unexpected
    /// or duplicated echoes.
    pub errors: u64,
    pub latencies: Vec<u64>,
    /// UDP: datagrams sent, given up on after the timeout, and of those
    /// how many came back afterwards.
    pub sent: u64,
    pub lost: u64,
    pub late: u64,
    /// UDP: failed sends and receives.
    pub socket_errors: u64,
}

impl Tally {
    /// The percentage of datagrams sent that were lost (0 for TCP).
    pub fn loss_pct(&self) -> f64 {
        if self.sent == 0 {
            0.0
        } else {
            self.lost as f64 * 100.0 / self.sent as f64
        }
    }
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
    let loss = t.loss_pct();
    if a.json {
        let udp = if a.udp {
            format!(
                ",\"sent\":{},\"lost\":{},\"late\":{},\"loss_pct\":{loss:.3},\"max_loss_pct\":{},\"socket_errors\":{}",
                t.sent, t.lost, t.late, a.max_loss, t.socket_errors
            )
        } else {
            String::new()
        };
        println!(
            "{{\"addr\":\"{}\",\"proto\":\"{proto}\",\"mode\":\"{style}\",\"connections\":{},\"size\":{},\"seconds\":{secs:.3},\"messages\":{},\"msgs_per_s\":{msgs:.1},\"mb_per_s\":{mbs:.3},\"p50_us\":{p50:.1},\"p99_us\":{p99:.1},\"max_us\":{max:.1},\"errors\":{}{udp}}}",
            a.addr, a.conns, a.size, t.messages, t.errors
        );
    } else if a.udp {
        println!(
            "udp {style} {} senders x {} B to {} for {secs:.2} s: {} datagrams echoed of {} sent, {msgs:.0} datagrams/s, {mbs:.2} MB/s, latency p50 {p50:.1} us p99 {p99:.1} us max {max:.1} us, {} lost ({loss:.3}%, bound {}%; {} late), {} corrupt, {} socket errors",
            a.conns, a.size, a.addr, t.messages, t.sent, t.lost, a.max_loss, t.late, t.errors, t.socket_errors
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
