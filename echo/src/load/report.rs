//! What `echo_load` counts, and the line it prints: msgs/s, MB/s,
//! latency percentiles and errors, as text or as one JSON object.
//! Latencies go into an HDR histogram (nanoseconds, three significant
//! digits, up to a minute; longer ones are recorded as a minute).

use hdrhistogram::Histogram;

use super::args::{Args, Shape};

/// The longest latency recorded as itself: one minute, in nanoseconds.
const LATENCY_MAX_NS: u64 = 60_000_000_000;

/// What the run counted.
pub struct Tally {
    /// Messages (UDP: datagrams) echoed in time and byte-exact.
    pub messages: u64,
    pub bytes: u64,
    /// TCP: failed connections and wrong echoes; UDP: corrupt, unexpected
    /// or duplicated echoes.
    pub errors: u64,
    /// Round trips (fixed-rate and churn: from each message's intended
    /// send time), nanoseconds.
    pub latency: Histogram<u64>,
    /// Churn: connections opened.
    pub connects: u64,
    /// UDP: datagrams sent, given up on after the timeout, and of those
    /// how many came back afterwards.
    pub sent: u64,
    pub lost: u64,
    pub late: u64,
    /// UDP: failed sends and receives.
    pub socket_errors: u64,
}

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            messages: 0,
            bytes: 0,
            errors: 0,
            // 1 ns to a minute at 3 significant digits: valid bounds.
            latency: Histogram::new_with_bounds(1, LATENCY_MAX_NS, 3)
                .unwrap_or_else(|_| unreachable!("valid histogram bounds")),
            connects: 0,
            sent: 0,
            lost: 0,
            late: 0,
            socket_errors: 0,
        }
    }
}

impl Tally {
    /// Records one round trip of `ns` nanoseconds (at least 1).
    pub fn record(&mut self, ns: u64) {
        self.latency.saturating_record(ns.clamp(1, LATENCY_MAX_NS));
    }

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
pub fn print(a: &Args, t: &Tally, secs: f64) {
    let q = |p: f64| pct(&t.latency, p);
    let (p50, p90, p99, p999, max) = (q(50.0), q(90.0), q(99.0), q(99.9), q(100.0));
    let msgs = t.messages as f64 / secs;
    let mbs = t.bytes as f64 / secs / 1e6;
    let proto = if a.udp { "udp" } else { "tcp" };
    let style = a.shape.name();
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
        let open = match a.shape {
            Shape::Rate(r) => format!(",\"rate\":{r}"),
            Shape::Churn(r) => format!(
                ",\"rate\":{r},\"connects\":{},\"connects_per_s\":{:.1}",
                t.connects,
                t.connects as f64 / secs
            ),
            Shape::PingPong | Shape::Pipeline => String::new(),
        };
        println!(
            "{{\"addr\":\"{}\",\"proto\":\"{proto}\",\"mode\":\"{style}\",\"connections\":{},\"size\":{},\"seconds\":{secs:.3},\"messages\":{},\"msgs_per_s\":{msgs:.1},\"mb_per_s\":{mbs:.3},\"p50_us\":{p50:.1},\"p90_us\":{p90:.1},\"p99_us\":{p99:.1},\"p999_us\":{p999:.1},\"max_us\":{max:.1},\"errors\":{}{open}{udp}}}",
            a.addr, a.conns, a.size, t.messages, t.errors
        );
    } else if a.udp {
        println!(
            "udp {style} {} senders x {} B to {} for {secs:.2} s: {} datagrams echoed of {} sent, {msgs:.0} datagrams/s, {mbs:.2} MB/s, latency p50 {p50:.1} us p99 {p99:.1} us max {max:.1} us, {} lost ({loss:.3}%, bound {}%; {} late), {} corrupt, {} socket errors",
            a.conns, a.size, a.addr, t.messages, t.sent, t.lost, a.max_loss, t.late, t.errors, t.socket_errors
        );
    } else {
        match a.shape {
            Shape::Rate(r) => println!(
                "{proto} rate {} conns x {} B to {} for {secs:.2} s: {} msgs at {r} msgs/s intended, {msgs:.0} msgs/s achieved, latency from intended send p50 {p50:.1} us p90 {p90:.1} us p99 {p99:.1} us p99.9 {p999:.1} us max {max:.1} us, {} errors",
                a.conns, a.size, a.addr, t.messages, t.errors
            ),
            Shape::Churn(r) => println!(
                "{proto} churn {} B to {} for {secs:.2} s: {} connections at {r}/s intended, {:.0}/s achieved, {} echoed, connect+echo from intended start p50 {p50:.1} us p90 {p90:.1} us p99 {p99:.1} us p99.9 {p999:.1} us max {max:.1} us, {} errors",
                a.size, a.addr, t.connects, t.connects as f64 / secs, t.messages, t.errors
            ),
            Shape::PingPong | Shape::Pipeline => println!(
                "{proto} {style} {} conns x {} B to {} for {secs:.2} s: {} msgs, {msgs:.0} msgs/s, {mbs:.2} MB/s, latency p50 {p50:.1} us p99 {p99:.1} us max {max:.1} us, {} errors",
                a.conns, a.size, a.addr, t.messages, t.errors
            ),
        }
    }
}

/// The `p` percentile (0 to 100) of `h`'s nanoseconds, in microseconds; 0
/// when nothing was recorded.
fn pct(h: &Histogram<u64>, p: f64) -> f64 {
    if h.is_empty() {
        return 0.0;
    }
    let ns = if p >= 100.0 {
        h.max()
    } else {
        h.value_at_percentile(p)
    };
    ns as f64 / 1000.0
}
