//! The behaviour tests of an `echo_<backend>` example under load and
//! faults, as functions of its configuration ([`behaviour_tests!`](super::behaviour_tests)
//! makes the `#[test]`s).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, TcpStream, UdpSocket};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::harness::{message, raise_own_fd_limit, roundtrip, udp_roundtrip, Cfg};
use crate::util::bytes::{assert_same, pattern};
use crate::util::stream::{read_to_eof, reset};

/// 8 MiB of pseudo-random bytes come back byte-exact, then EOF after our
/// FIN; another client is served meanwhile.
pub fn large_stream(cfg: Cfg) {
    const TOTAL: usize = 8 << 20;
    let mut server = cfg.start();
    let data = Arc::new(pattern(1, TOTAL));
    let mut c = server.connect();
    let mut writer = c.try_clone().unwrap();
    let sent = Arc::clone(&data);
    let w = thread::spawn(move || -> io::Result<()> {
        for chunk in sent.chunks(100_000) {
            writer.write_all(chunk)?;
        }
        writer.shutdown(Shutdown::Write)
    });
    // While the big stream is in flight, another client is served.
    server.assert_serves();
    let got = read_to_eof(&mut c, Duration::from_secs(60), TOTAL);
    w.join().unwrap().expect("writer");
    assert_same(&got, &data, "8 MiB stream");
    server.assert_alive();
}

/// Hundreds of clients connected at once, each gets its own message back.
pub fn many_clients(cfg: Cfg, n: usize) {
    let mut server = cfg.start();
    let mut clients: Vec<TcpStream> = (0..n).map(|_| server.connect()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(&message(i)).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let want = message(i);
        let mut back = vec![0; want.len()];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("client {i} of {n}: {e}"));
        assert_same(&back, &want, &format!("client {i}"));
    }
    server.assert_alive();
}

/// Write, shutdown(Write), then every byte back and EOF: a short message,
/// and 2 MiB so that output is still queued when the FIN arrives.
pub fn half_close(cfg: Cfg) {
    let server = cfg.start();
    let mut c = server.connect();
    c.write_all(b"hello, half-closed world").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let got = read_to_eof(&mut c, Duration::from_secs(10), 24);
    assert_eq!(got, b"hello, half-closed world");

    let data = Arc::new(pattern(2, 2 << 20));
    let mut c = server.connect();
    let mut writer = c.try_clone().unwrap();
    let sent = Arc::clone(&data);
    let w = thread::spawn(move || -> io::Result<()> {
        writer.write_all(&sent)?;
        writer.shutdown(Shutdown::Write)
    });
    let got = read_to_eof(&mut c, Duration::from_secs(30), data.len());
    w.join().unwrap().expect("writer");
    assert_same(&got, &data, "half-closed 2 MiB");
    // Half-closed at once, nothing sent: EOF.
    let mut c = server.connect();
    c.shutdown(Shutdown::Write).unwrap();
    assert!(read_to_eof(&mut c, Duration::from_secs(10), 0).is_empty());
}

/// Clients that reset (RST) at various points; another client keeps being
/// served throughout and no descriptor is left behind.
pub fn reset_mid_stream(cfg: Cfg) {
    let mut server = cfg.start();
    let mut steady = server.connect();
    roundtrip(&mut steady, b"steady");
    let baseline = server.fd_count();
    for round in 0..12 {
        let mut c = server.connect();
        match round % 4 {
            // Reset right after connecting.
            0 => {}
            // Reset with echoed data unread and output queued at the server.
            1 => {
                c.set_nonblocking(true).unwrap();
                let chunk = pattern(round, 64 * 1024);
                for _ in 0..64 {
                    if c.write(&chunk).is_err() {
                        break;
                    }
                }
            }
            // Reset after reading part of the echo.
            2 => {
                c.write_all(&pattern(round, 300_000)).unwrap();
                let mut some = [0u8; 1000];
                c.read_exact(&mut some).unwrap();
            }
            // Reset after a half-close, mid-flush.
            _ => {
                c.write_all(&pattern(round, 500_000)).unwrap();
                c.shutdown(Shutdown::Write).unwrap();
            }
        }
        reset(c);
        roundtrip(&mut steady, format!("after reset {round}").as_bytes());
    }
    server.assert_alive();
    let fds = server.wait_fd_count(baseline, Duration::from_secs(5));
    assert_eq!(fds, baseline, "descriptors left after resets");
    roundtrip(&mut steady, b"still here");
}

/// A client that sends a lot and never reads: its writes eventually block,
/// the server's memory stays bounded, others are served, and once it reads
/// it gets every byte back.
pub fn never_reading_client(cfg: Cfg) {
    const CAP: usize = 1 << 30;
    const RSS_GROWTH_MAX_KIB: u64 = 64 * 1024;
    let mut server = cfg.start();
    server.assert_serves();
    let rss_before = server.rss_kib();

    let mut c = server.connect();
    c.set_nonblocking(true).unwrap();
    let chunk = pattern(4, 64 * 1024);
    let mut sent = 0usize;
    let mut last_progress = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Stalled for half a second: the server stopped reading from us.
        if last_progress.elapsed() > Duration::from_millis(500) {
            break;
        }
        assert!(
            sent < CAP && Instant::now() < deadline,
            "the client never blocked: {sent} bytes accepted"
        );
        let growth = server.rss_kib().saturating_sub(rss_before);
        assert!(
            growth < RSS_GROWTH_MAX_KIB,
            "server RSS grew {growth} KiB while {sent} bytes were unread"
        );
        let off = sent % chunk.len();
        match c.write(&chunk[off..]) {
            Ok(n) => {
                sent += n;
                last_progress = Instant::now();
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("write after {sent} bytes: {e}"),
        }
    }
    let growth = server.rss_kib().saturating_sub(rss_before);
    assert!(growth < RSS_GROWTH_MAX_KIB, "server RSS grew {growth} KiB");
    server.assert_alive();
    // Another client is served while this one is stuck.
    server.assert_serves();

    // Now read: every byte comes back, then EOF after our FIN.
    c.set_nonblocking(false).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let got = read_to_eof(&mut c, Duration::from_secs(60), sent);
    let want: Vec<u8> = chunk.iter().copied().cycle().take(sent).collect();
    assert_same(&got, &want, "the never-reading client's echo");
}

/// One byte at a time, each read back before the next; then 200 single
/// bytes sent apart and read back at once.
pub fn trickle(cfg: Cfg) {
    let server = cfg.start();
    let mut c = server.connect();
    let data = pattern(5, 300);
    for (i, b) in data.iter().enumerate() {
        c.write_all(&[*b]).unwrap();
        let mut back = [0u8];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("byte {i}: {e}"));
        assert_eq!(back[0], *b, "byte {i}");
    }
    for b in &data[..200] {
        c.write_all(&[*b]).unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    let mut back = vec![0u8; 200];
    c.read_exact(&mut back).unwrap();
    assert_same(&back, &data[..200], "trickled bytes");
}

/// Out of descriptors (EMFILE): the server neither dies nor spins, serves
/// what it accepted, and serves the waiting clients once others leave.
pub fn emfile(cfg: Cfg) {
    const NOFILE: u64 = 64;
    const CLIENTS: usize = 90;
    // A correct server wakes ~10 times a second to retry; a spinning one
    // burns whatever CPU it gets. 0.25 s leaves a wide margin both ways.
    const MAX_TICKS_PER_SECOND: u64 = 25;
    let mut server = cfg.start_with_nofile(NOFILE);
    let mut clients: Vec<TcpStream> = (0..CLIENTS).map(|_| server.connect()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(&message(i)).unwrap();
    }
    thread::sleep(Duration::from_millis(300));
    let before = server.cpu_ticks();
    thread::sleep(Duration::from_secs(1));
    let spent = server.cpu_ticks() - before;
    server.assert_alive();
    assert!(
        spent < MAX_TICKS_PER_SECOND,
        "{spent} ticks of CPU in 1 s of EMFILE overload: spinning"
    );
    assert!(
        server.stderr_now().contains("Too many open files"),
        "no EMFILE episode logged: {}",
        server.stderr_now()
    );

    // Who has been served so far (their echo is waiting)?
    let mut served = Vec::new();
    let mut waiting = Vec::new();
    for (i, mut c) in clients.drain(..).enumerate() {
        c.set_nonblocking(true).unwrap();
        let mut first = [0u8; 1];
        let got = match c.read(&mut first) {
            Ok(1) => true,
            Ok(_) => panic!("client {i}: EOF before its echo"),
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(e) => panic!("client {i}: {e}"),
        };
        c.set_nonblocking(false).unwrap();
        if got {
            let want = message(i);
            let mut rest = vec![0u8; want.len() - 1];
            c.read_exact(&mut rest).unwrap();
            assert_eq!(first[0], want[0]);
            assert_same(&rest, &want[1..], &format!("client {i}"));
            served.push(c);
        } else {
            waiting.push((i, c));
        }
    }
    assert!(!served.is_empty(), "nobody served under the fd limit");
    assert!(
        !waiting.is_empty(),
        "all {CLIENTS} served under a limit of {NOFILE}: the limit was not reached"
    );
    // Recovery: the accepted clients leave, the waiting ones are served.
    drop(served);
    for (i, mut c) in waiting {
        let want = message(i);
        let mut back = vec![0u8; want.len()];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("waiting client {i} never served: {e}"));
        assert_same(&back, &want, &format!("client {i}"));
    }
    server.assert_alive();
    server.assert_serves();
}

/// An empty datagram comes back empty; the largest IPv4 datagram whole.
pub fn udp_sizes(cfg: Cfg) {
    let server = cfg.start();
    let s = server.udp();
    for _ in 0..3 {
        udp_roundtrip(&s, b"");
        udp_roundtrip(&s, b"x");
    }
    let max = pattern(8, sockpoll::MAX_UDP_PAYLOAD_V4);
    assert_eq!(max.len(), 65_507);
    udp_roundtrip(&s, &max);
    udp_roundtrip(&s, b"");
}

/// Bound to a wildcard address, the server answers each datagram from the
/// address it was sent to: a client `connect`ed to 127.0.0.2 (or ::1 over a
/// `[::]` bind) only accepts a reply from there, and gets it. Several
/// datagrams in a row, so a batched path is exercised too.
pub fn udp_reply_from_destination(cfg: Cfg) {
    for (bind, local, dest) in [
        ("0.0.0.0:0", "127.0.0.1:0", "127.0.0.2"),
        ("0.0.0.0:0", "127.0.0.1:0", "127.0.0.1"),
        ("[::]:0", "[::1]:0", "::1"),
    ] {
        let server = cfg.start_on(bind);
        let port = server.addr.port();
        let s = UdpSocket::bind(local).unwrap();
        let to: IpAddr = dest.parse().unwrap();
        s.connect((to, port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        for i in 0..8u8 {
            udp_roundtrip(&s, &[i; 33]);
        }
        // Several in flight at once: each comes back, from `dest`.
        for i in 0..8u8 {
            s.send(&[i; 7]).unwrap();
        }
        let mut buf = [0u8; 64];
        for _ in 0..8 {
            let n = s
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("no reply from {dest} (bound {bind}): {e}"));
            assert_eq!(n, 7);
        }
    }
}

/// 200 datagrams at once: most come back, each one byte-exact.
pub fn udp_burst(cfg: Cfg) {
    const N: usize = 200;
    let server = cfg.start();
    let s = server.udp();
    // Room for the whole burst on our side (capped by rmem_max).
    let _ = socket2::SockRef::from(&s).set_recv_buffer_size(4 << 20);
    let datagram = |i: usize| {
        let mut d = (i as u32).to_be_bytes().to_vec();
        d.extend(pattern(i as u64 + 1000, 1 + i * 7));
        d
    };
    for i in 0..N {
        s.send(&datagram(i)).unwrap();
    }
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut seen = [false; N];
    let mut buf = vec![0u8; 65_536];
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.iter().any(|s| !s) && Instant::now() < deadline {
        let n = match s.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("recv: {e}"),
        };
        assert!(n >= 4, "a {n}-byte datagram that was never sent");
        let i = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
        assert!(i < N && !seen[i], "datagram {i} unexpected or twice");
        assert_same(&buf[..n], &datagram(i), &format!("datagram {i}"));
        seen[i] = true;
    }
    let got = seen.iter().filter(|s| **s).count();
    assert!(got >= N * 9 / 10, "only {got} of {N} datagrams came back");
}

/// Idle, the server sleeps: at most 2 clock ticks of CPU in a second, and
/// no timer waking it up (a few wake-ups of slack).
pub fn idle_cpu(cfg: Cfg) {
    let mut server = cfg.start();
    let mut c = server.connect();
    roundtrip(&mut c, b"then nothing");
    udp_roundtrip(&server.udp(), b"then nothing");
    thread::sleep(Duration::from_millis(200));
    let (ticks, wakeups) = (server.cpu_ticks(), server.wakeups());
    thread::sleep(Duration::from_secs(1));
    let spent = server.cpu_ticks() - ticks;
    let woke = server.wakeups() - wakeups;
    assert!(spent <= 2, "{spent} ticks of CPU in 1 s idle");
    assert!(woke <= 5, "woke up {woke} times in 1 s idle");
    server.assert_alive();
}

/// 200 connections come and go (clean close, half-close, reset, silent):
/// the descriptor count returns to its baseline.
pub fn no_fd_leak(cfg: Cfg) {
    let mut server = cfg.start();
    // Before any connection: nothing can be pending a close yet.
    let baseline = server.fd_count();
    server.assert_serves();
    for batch in 0..4 {
        let mut conns: Vec<TcpStream> = (0..50).map(|_| server.connect()).collect();
        for (i, mut c) in conns.drain(..).enumerate() {
            match (batch * 50 + i) % 4 {
                0 => roundtrip(&mut c, &message(i)),
                1 => {
                    c.write_all(&message(i)).unwrap();
                    c.shutdown(Shutdown::Write).unwrap();
                    let got = read_to_eof(&mut c, Duration::from_secs(10), 0);
                    assert_same(&got, &message(i), "half-closed");
                }
                2 => {
                    c.write_all(&message(i)).unwrap();
                    reset(c);
                }
                _ => drop(c),
            }
        }
    }
    let fds = server.wait_fd_count(baseline, Duration::from_secs(5));
    assert_eq!(fds, baseline, "descriptors left after 200 connections");
    server.assert_alive();
}

/// 10,000 connections open at once, each served (batches of 500 connect,
/// send and read back; then every one once more).
pub fn ten_thousand(cfg: Cfg) {
    const N: usize = 10_000;
    const BATCH: usize = 500;
    raise_own_fd_limit(N as u64 + 1000);
    let mut server = cfg.start();
    let mut clients: Vec<TcpStream> = Vec::with_capacity(N);
    while clients.len() < N {
        let start = clients.len();
        for _ in 0..BATCH {
            clients.push(server.connect());
        }
        for (i, c) in clients[start..].iter_mut().enumerate() {
            c.write_all(&((start + i) as u64).to_be_bytes()).unwrap();
        }
        for (i, c) in clients[start..].iter_mut().enumerate() {
            let mut back = [0u8; 8];
            c.read_exact(&mut back)
                .unwrap_or_else(|e| panic!("client {}: {e}", start + i));
            assert_eq!(u64::from_be_bytes(back), (start + i) as u64);
        }
    }
    assert!(
        server.fd_count() >= N,
        "the server holds {} descriptors",
        server.fd_count()
    );
    for (i, c) in clients.iter_mut().enumerate() {
        c.write_all(&(!(i as u64)).to_be_bytes()).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let mut back = [0u8; 8];
        c.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("client {i}, second round: {e}"));
        assert_eq!(u64::from_be_bytes(back), !(i as u64));
    }
    server.assert_alive();
    drop(clients);
    server.assert_serves();
}
