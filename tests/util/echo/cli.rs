//! The command-line tests of an `echo_<backend>` example, as functions of
//! its configuration ([`cli_tests!`](super::cli_tests) makes the `#[test]`s).

use std::io::Write;
use std::net::{IpAddr, UdpSocket};
use std::process::Command;

use nix::sys::signal::Signal;

use super::harness::{binary, roundtrip, udp_roundtrip, Cfg};
use crate::util::bytes::pattern;
use crate::util::process::run_bounded;

/// The `listening on` line names the real port, UDP is on the same port,
/// and SIGTERM ends it with 0 and no second line.
pub fn listening_line(cfg: Cfg) {
    let server = cfg.start();
    assert_eq!(server.addr.ip(), IpAddr::from([127, 0, 0, 1]));
    // UDP answers on the very port number the line names.
    let udp = server.udp();
    udp_roundtrip(&udp, b"same port");
    let mut c = server.connect();
    roundtrip(&mut c, b"tcp too");
    server.assert_clean_exit_on(Signal::SIGTERM);
}

pub fn ipv6(cfg: Cfg) {
    let server = cfg.start_on("[::1]:0");
    assert_eq!(
        server.addr.ip(),
        IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
    );
    let mut c = server.connect();
    roundtrip(&mut c, b"over IPv6");
    udp_roundtrip(&server.udp(), b"datagram over IPv6");
    let big = pattern(6, sockpoll::MAX_UDP_PAYLOAD_V4);
    udp_roundtrip(&server.udp(), &big);
    server.assert_clean_exit_on(Signal::SIGTERM);
}

pub fn host_name(cfg: Cfg) {
    let server = cfg.start_on("localhost:0");
    assert!(server.addr.ip().is_loopback(), "{}", server.addr);
    let mut c = server.connect();
    roundtrip(&mut c, b"by name");
    udp_roundtrip(&server.udp(), b"datagram by name");
    server.assert_clean_exit_on(Signal::SIGTERM);
}

/// SIGINT or SIGTERM, with a client connected and data in flight: exit 0
/// within a second.
pub fn signal_exits_zero(cfg: Cfg, signal: Signal) {
    let server = cfg.start();
    let mut c = server.connect();
    roundtrip(&mut c, b"before the signal");
    c.write_all(&pattern(3, 100_000)).unwrap();
    server.assert_clean_exit_on(signal);
}

pub fn help_mentions_default(cfg: Cfg) {
    let (status, out, err) = run_bounded(
        Command::new(binary(&format!("echo_{}", cfg.backend))).arg("--help"),
        b"",
    );
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(out.contains("127.0.0.1:7007"), "usage: {out:?}");
    assert!(out.contains("--mode"), "usage: {out:?}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Runs the server with `args`, which it must refuse: exit 2, one stderr
/// line naming `bad`, nothing on stdout, no panic.
pub fn assert_refused(backend: &str, args: &[&str], bad: &str, code: i32) -> String {
    let (status, out, err) = run_bounded(
        Command::new(binary(&format!("echo_{backend}"))).args(args),
        b"",
    );
    assert_eq!(status.code(), Some(code), "{args:?}: stderr {err:?}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(out.is_empty(), "{args:?}: stdout {out:?}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "{args:?}: want one stderr line, got {err:?}"
    );
    assert!(
        lines[0].to_lowercase().contains(&bad.to_lowercase()),
        "{args:?}: {err:?} does not name {bad:?}"
    );
    err
}

pub fn bad_arguments(cfg: Cfg) {
    let cases: [(&[&str], &str); 6] = [
        (&["127.0.0.1:99999"], "99999"),
        (&["not-an-address"], "not-an-address"),
        (&["--bogus"], "--bogus"),
        (&["--mode", "sideways"], "sideways"),
        (&["--mode"], "--mode"),
        (&["127.0.0.1:0", "127.0.0.1:0"], "127.0.0.1:0"),
    ];
    for (args, bad) in cases {
        assert_refused(cfg.backend, args, bad, 2);
    }
}

/// A TCP port someone else listens on: a nonzero exit naming the address.
pub fn busy_tcp_port(cfg: Cfg) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = assert_busy(cfg, &addr);
    drop(taken);
    assert!(err.contains(&addr), "{err:?}");
}

/// The port is free for TCP but taken for UDP: the same.
pub fn busy_udp_port(cfg: Cfg) {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let err = assert_busy(cfg, &addr);
    drop(taken);
    assert!(err.contains(&addr), "{err:?}");
}

fn assert_busy(cfg: Cfg, addr: &str) -> String {
    let (status, out, err) = run_bounded(
        Command::new(binary(&format!("echo_{}", cfg.backend))).args(cfg.args(addr)),
        b"",
    );
    assert!(!status.success(), "started on a busy port: {out:?}");
    assert!(status.code().is_some(), "killed by a signal: {status}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.is_empty(), "stdout {out:?}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "want one stderr line, got {err:?}");
    assert!(lines[0].contains("Address already in use"), "{err:?}");
    err
}

/// The `echo_client` example against this server: TCP and UDP, one
/// message and lines from stdin.
pub fn echo_client(cfg: Cfg) {
    let server = cfg.start();
    let addr = server.addr.to_string();
    let client = binary("echo_client");
    let (status, out, err) =
        run_bounded(Command::new(&client).args([&addr, "hello", "world"]), b"");
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(out, "hello world\n");
    let (status, out, err) = run_bounded(
        Command::new(&client).args(["--udp", &addr, "hello", "udp"]),
        b"",
    );
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(out, "hello udp\n");
    let (status, out, err) = run_bounded(Command::new(&client).arg(&addr), b"one\ntwo\n");
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(out, "one\ntwo\n");
    assert!(!err.contains("panicked"));
}
