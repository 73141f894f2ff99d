//! The `echo_multi` example, black-box: two loops under each balance mode
//! all accept and echo, and SIGINT ends it with one parseable line per loop
//! and a summary line, exit 0.

#![cfg(not(any(target_os = "illumos", target_os = "solaris")))]

mod util;

use std::collections::HashMap;
use std::time::Duration;

use nix::sys::signal::Signal;
use util::echo::{roundtrip, Server};

/// Connections made per run; held open until all are made.
const CONNS: usize = 64;

/// The `key=value` fields of a report line after its first word.
fn fields(line: &str) -> HashMap<String, String> {
    line.split(' ')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn num(f: &HashMap<String, String>, key: &str, line: &str) -> f64 {
    f.get(key)
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
        .parse()
        .unwrap_or_else(|e| panic!("{key}= in {line:?}: {e}"))
}

/// Starts `echo_multi --loops 2 --balance BALANCE [extra]`, makes
/// `CONNS` connections with one round trip each, stops it with SIGINT and
/// returns how many connections each loop accepted.
fn run(balance: &str, extra: &[&str], backend: &'static str) -> Vec<u64> {
    let mut args: Vec<String> = ["--loops", "2", "--balance", balance, "--backend", backend]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
    args.push("127.0.0.1:0".to_string());
    let suffix = format!(" (tcp+udp, backend {backend}, loops 2, balance {balance})");
    let mut server = Server::spawn("echo_multi", &suffix, backend, &args, None);
    // Every loop blocked in its wait before the first connection: a loop
    // thread still starting would miss the connections an exclusive
    // listener offers it.
    server.wait_threads_asleep("loop-", 2, Duration::from_secs(10));
    let mut held = Vec::with_capacity(CONNS);
    for i in 0..CONNS {
        if balance == "exclusive" {
            // Both loops back in their waits: which one the kernel wakes
            // is then its queue order, not which loop happens to be busy.
            server.wait_threads_asleep("loop-", 2, Duration::from_secs(10));
        }
        let mut c = server.connect();
        roundtrip(&mut c, format!("message {i}").as_bytes());
        held.push(c);
    }
    // UDP is served too.
    let u = server.udp();
    u.send(b"datagram").unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(u.recv(&mut buf).unwrap(), 8);
    drop(held);

    server.signal(Signal::SIGINT);
    let status = server
        .wait_exit(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("echo_multi {balance} still running 5 s after SIGINT"));
    let (lines, stderr) = server.outputs_after_exit();
    assert_eq!(status.code(), Some(0), "{balance}: exit; stderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        lines.len(),
        3,
        "{balance}: two loop lines and a total: {lines:?}"
    );

    let mut accepted = Vec::new();
    for (i, line) in lines[..2].iter().enumerate() {
        assert!(line.starts_with(&format!("loop={i} ")), "{line:?}");
        let f = fields(line);
        accepted.push(num(&f, "accepted", line) as u64);
        assert!(
            num(&f, "messages", line) >= num(&f, "accepted", line),
            "{line:?}"
        );
        assert!(num(&f, "waits", line) >= 1.0, "{line:?}");
        assert!(num(&f, "events", line) >= 1.0, "{line:?}");
        // A loop that always found work waiting may have blocked for
        // under 0.05 ms in all: present, not necessarily positive.
        assert!(num(&f, "idle_ms", line) >= 0.0, "{line:?}");
    }
    let total = &lines[2];
    assert!(total.starts_with("total "), "{total:?}");
    let f = fields(total);
    assert_eq!(num(&f, "loops", total), 2.0);
    assert_eq!(f["balance"], balance);
    assert_eq!(f["backend"], backend);
    assert_eq!(num(&f, "accepted", total) as usize, CONNS, "{total:?}");
    assert!(num(&f, "messages", total) >= CONNS as f64, "{total:?}");
    let ratio = num(&f, "accept_max_min", total);
    let (max, min) = (
        accepted.iter().max().unwrap(),
        accepted.iter().min().unwrap(),
    );
    assert!(
        *min >= 1,
        "{balance}: a loop accepted nothing: {lines:?}; stderr:\n{stderr}"
    );
    assert!(
        (ratio - *max as f64 / *min as f64).abs() < 0.01,
        "{total:?} against {accepted:?}"
    );
    accepted
}

#[test]
fn reuseport_loops_all_accept() {
    run("reuseport", &[], "epoll");
}

/// Re-added every 8 accepts, the shared listener goes to the loops in
/// turns of 8 when each connection arrives with both loops idle.
#[test]
fn exclusive_loops_take_turns() {
    let accepted = run("exclusive", &["--rearm", "8"], "epoll");
    assert_eq!(accepted, [CONNS as u64 / 2; 2], "turns of 8");
}

#[test]
fn handoff_balances_held_connections() {
    // Every connection stays open: two choices among two loops pick the
    // one with fewer, so the loops end within a few of each other.
    let accepted = run("handoff", &[], "epoll");
    let diff = accepted[0].abs_diff(accepted[1]);
    assert!(diff <= 4, "{accepted:?}");
}

/// Any backend: poll has no EXCLUSIVE, but reuseport and handoff work.
#[test]
fn poll_backend_reuseport_and_handoff() {
    run("reuseport", &[], "poll");
    run("handoff", &[], "poll");
}

#[test]
fn exclusive_on_poll_is_refused() {
    let out = std::process::Command::new(util::echo::binary("echo_multi"))
        .args(["--balance", "exclusive", "--backend", "poll", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("EXCLUSIVE"), "{stderr}");
}
