//! `echo_load --udp` black-box: many senders against a real echo server,
//! and against stand-in servers that corrupt or drop datagrams, so that
//! the load generator is seen to catch both.

use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::harness::{binary, Cfg};
use crate::util::process::run_bounded;

/// Runs `echo_load --udp --json ARGS ADDR` to its end (bounded); its exit
/// code and its one JSON line.
fn udp_load(addr: SocketAddr, args: &[&str]) -> (Option<i32>, String) {
    let addr = addr.to_string();
    let (status, out, err) = run_bounded(
        Command::new(binary("echo_load"))
            .args(["--udp", "--json"])
            .args(args)
            .arg(&addr),
        b"",
    );
    assert!(!err.contains("panicked"), "{err}");
    let line = out.lines().last().unwrap_or_default().to_string();
    assert!(
        line.starts_with('{') && line.contains("\"proto\":\"udp\""),
        "no JSON report: stdout {out:?}, stderr {err:?}"
    );
    (status.code(), line)
}

/// The number after `"key":` in a one-line JSON object.
fn field(json: &str, key: &str) -> f64 {
    let at = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key:?} in {json}"));
    let rest = &json[at + key.len() + 3..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{key:?} in {json}: {e}"))
}

/// `senders` senders, ping-pong, for one second against the server of
/// `cfg`: everything echoed byte-exact, every datagram accounted for, and
/// the server still serving afterwards.
pub fn many_senders(cfg: Cfg, senders: usize) {
    let mut server = cfg.start();
    let c = senders.to_string();
    let (code, json) = udp_load(server.addr, &["-c", &c, "-t", "1", "-s", "100"]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(field(&json, "connections"), senders as f64, "{json}");
    assert_eq!(field(&json, "size"), 100.0, "{json}");
    let (sent, echoed, lost) = (
        field(&json, "sent"),
        field(&json, "messages"),
        field(&json, "lost"),
    );
    assert!(
        echoed >= senders as f64,
        "fewer echoes than senders: {json}"
    );
    assert_eq!(field(&json, "errors"), 0.0, "{json}");
    assert_eq!(echoed + lost, sent, "a datagram unaccounted for: {json}");
    assert!(field(&json, "loss_pct") <= 1.0, "{json}");
    assert!(field(&json, "msgs_per_s") > 0.0, "{json}");
    let (p50, p99, max) = (
        field(&json, "p50_us"),
        field(&json, "p99_us"),
        field(&json, "max_us"),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{json}");
    server.assert_alive();
    server.assert_serves();
}

// The stand-in checks below test echo_load itself, not a backend, so only
// tests/echo_epoll.rs runs them; the other echo test binaries compile them
// unused.

/// A stand-in UDP echo server on 127.0.0.1 that passes each datagram (by
/// its number, from 0) through `mangle` first: false drops it. Stops and
/// is joined on drop.
#[allow(dead_code)]
struct FakeEcho {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

#[allow(dead_code)]
impl FakeEcho {
    fn start(mangle: fn(u64, &mut Vec<u8>) -> bool) -> FakeEcho {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("bind the stand-in server");
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut buf = vec![0u8; 65_536];
            let mut n = 0u64;
            while !flag.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((len, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let mut d = buf[..len].to_vec();
                if mangle(n, &mut d) {
                    let _ = sock.send_to(&d, from);
                }
                n += 1;
            }
        });
        FakeEcho {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for FakeEcho {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One echo in 50 with its last byte flipped: exit 1, counted as errors,
/// not as loss.
#[allow(dead_code)]
pub fn corruption_is_an_error() {
    let fake = FakeEcho::start(|n, d| {
        if n % 50 == 7 {
            if let Some(b) = d.last_mut() {
                *b ^= 0x40;
            }
        }
        true
    });
    let (code, json) = udp_load(fake.addr, &["-c", "5", "-t", "0.5", "--max-loss", "100"]);
    assert_eq!(code, Some(1), "{json}");
    let errors = field(&json, "errors");
    assert!(errors >= 1.0, "{json}");
    assert_eq!(field(&json, "lost"), 0.0, "{json}");
    assert_eq!(
        field(&json, "messages") + errors,
        field(&json, "sent"),
        "{json}"
    );
}

/// One datagram in 10 dropped: counted lost (about 10 %), no error; exit 1
/// under the default 1 % bound, 0 under a 50 % one.
#[allow(dead_code)]
pub fn loss_is_counted_and_bounded() {
    let fake = FakeEcho::start(|n, _| n % 10 != 3);
    for (bound, want) in [(None, 1), (Some("50"), 0)] {
        let mut args = vec!["-c", "5", "-t", "0.5"];
        if let Some(bound) = bound {
            args.extend(["--max-loss", bound]);
        }
        let (code, json) = udp_load(fake.addr, &args);
        assert_eq!(code, Some(want), "bound {bound:?}: {json}");
        assert_eq!(field(&json, "errors"), 0.0, "{json}");
        let (sent, echoed, lost) = (
            field(&json, "sent"),
            field(&json, "messages"),
            field(&json, "lost"),
        );
        assert_eq!(echoed + lost, sent, "{json}");
        let pct = field(&json, "loss_pct");
        assert!((5.0..=15.0).contains(&pct), "about 10 % lost: {json}");
    }
}

/// Runs `echo_load --json ARGS ADDR` (TCP) to its end (bounded); its exit
/// code and its one JSON line.
fn tcp_load(addr: SocketAddr, args: &[&str]) -> (Option<i32>, String) {
    let (status, out, err) = run_bounded(
        Command::new(binary("echo_load"))
            .arg("--json")
            .args(args)
            .arg(addr.to_string()),
        b"",
    );
    assert!(!err.contains("panicked"), "{err}");
    let line = out.lines().last().unwrap_or_default().to_string();
    assert!(
        line.starts_with('{') && line.contains("\"proto\":\"tcp\""),
        "no JSON report: stdout {out:?}, stderr {err:?}"
    );
    (status.code(), line)
}

/// The percentiles of a report, in order: p50 <= p90 <= p99 <= p99.9 <= max.
fn assert_percentiles_ordered(json: &str) {
    let p: Vec<f64> = ["p50_us", "p90_us", "p99_us", "p999_us", "max_us"]
        .iter()
        .map(|k| field(json, k))
        .collect();
    assert!(p[0] > 0.0 && p.windows(2).all(|w| w[0] <= w[1]), "{json}");
}

/// `--rate`: an open loop at 2,000 messages a second over 4 connections
/// for one second, every one echoed byte-exact.
pub fn fixed_rate(cfg: Cfg) {
    let server = cfg.start();
    let (code, json) = tcp_load(server.addr, &["--rate", "2000", "-c", "4", "-t", "1"]);
    assert_eq!(code, Some(0), "{json}");
    assert!(json.contains("\"mode\":\"rate\""), "{json}");
    assert_eq!(field(&json, "rate"), 2000.0, "{json}");
    assert_eq!(field(&json, "errors"), 0.0, "{json}");
    // Messages still in flight at the end are not counted; the rest are.
    let messages = field(&json, "messages");
    assert!((1600.0..=2001.0).contains(&messages), "{json}");
    assert_percentiles_ordered(&json);
}

/// `--churn`: 500 connections a second for one second, one echo each.
pub fn churn(cfg: Cfg) {
    let mut server = cfg.start();
    let (code, json) = tcp_load(server.addr, &["--churn", "500", "-t", "1", "-s", "100"]);
    assert_eq!(code, Some(0), "{json}");
    assert!(json.contains("\"mode\":\"churn\""), "{json}");
    let (connects, messages) = (field(&json, "connects"), field(&json, "messages"));
    assert_eq!(field(&json, "errors"), 0.0, "{json}");
    assert!((400.0..=501.0).contains(&connects), "{json}");
    // Each connection still waiting for its echo at the end is the only
    // difference.
    assert!(
        messages <= connects && messages >= connects - 50.0,
        "{json}"
    );
    assert_percentiles_ordered(&json);
    server.assert_alive();
    server.assert_serves();
}

/// A stand-in TCP echo server for one connection that stops echoing for
/// `stall` once, after `after` bytes; joined on drop.
#[allow(dead_code)]
struct StallingEcho {
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

#[allow(dead_code)]
impl StallingEcho {
    fn start(after: usize, stall: Duration) -> StallingEcho {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        let thread = thread::spawn(move || {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            conn.set_read_timeout(Some(Duration::from_secs(20)))
                .unwrap();
            let _ = conn.set_nodelay(true);
            let (mut seen, mut stalled) = (0, false);
            let mut buf = [0u8; 65_536];
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 || conn.write_all(&buf[..n]).is_err() {
                    break;
                }
                seen += n;
                if seen >= after && !stalled {
                    stalled = true;
                    thread::sleep(stall);
                }
            }
        });
        StallingEcho {
            addr,
            thread: Some(thread),
        }
    }
}

impl Drop for StallingEcho {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// No coordinated omission: a server that stalls 300 ms once. The open
/// loop keeps its schedule, so the ~300 messages due during the stall each
/// wait part of it and the p90 shows it; ping-pong waits with the server
/// and records one slow round trip, hidden below its p90.
#[allow(dead_code)]
pub fn rate_mode_charges_a_stall_to_every_delayed_message() {
    let stall = Duration::from_millis(300);
    let args = ["-c", "1", "-t", "1.5", "-s", "64"];
    let fake = StallingEcho::start(200 * 64, stall);
    let (code, open) = tcp_load(fake.addr, &[&args[..], &["--rate", "1000"]].concat());
    drop(fake);
    assert_eq!(code, Some(0), "{open}");
    assert!(
        field(&open, "p90_us") >= 100_000.0,
        "the stall is missing: {open}"
    );
    let fake = StallingEcho::start(200 * 64, stall);
    let (code, closed) = tcp_load(fake.addr, &args);
    drop(fake);
    assert_eq!(code, Some(0), "{closed}");
    assert!(field(&closed, "max_us") >= 250_000.0, "{closed}");
    assert!(field(&closed, "p90_us") < 100_000.0, "{closed}");
}
