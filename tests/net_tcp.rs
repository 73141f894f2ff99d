//! `TcpListener` and `TcpStream` over IPv4 and IPv6 loopback.

mod util;

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr};
use std::time::Duration;

use sockpoll::{Domain, SockAddr, Socket, TcpListener, TcpStream, Type};
use util::bytes::pattern;
use util::net::*;
use util::stream::read_to_eof;

fn stream_pair(listen: &str) -> (TcpListener, TcpStream, TcpStream) {
    let l = TcpListener::bind(listen).unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, peer) = l.accept().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    for x in [&c, &s] {
        set_timeouts(x.as_socket());
    }
    (l, c, s)
}

#[test]
fn round_trip_v4_and_v6() {
    for listen in ["127.0.0.1:0", "[::1]:0"] {
        let (l, mut c, mut s) = stream_pair(listen);
        let laddr = l.local_addr().unwrap();
        assert!(laddr.ip().is_loopback());
        assert_eq!(c.peer_addr().unwrap(), laddr);
        assert_eq!(s.local_addr().unwrap(), laddr);
        assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
        c.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        (&s).write_all(b"pong").unwrap();
        (&c).read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"pong");
    }
}

#[test]
fn a_megabyte_arrives_byte_exact() {
    let (_l, c, s) = stream_pair("[::1]:0");
    let data = pattern(1, 1 << 20);
    let expect = data.clone();
    let writer = std::thread::spawn(move || {
        let mut c = c;
        c.write_all(&data).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
    });
    let mut got = Vec::new();
    (&s).read_to_end(&mut got).unwrap();
    writer.join().unwrap();
    assert_eq!(got.len(), expect.len());
    assert!(got == expect, "the stream was corrupted");
}

/// The typed listeners set `SO_REUSEADDR`, as std and libuv do, so a
/// restart is not blocked by `TIME_WAIT`.
#[test]
fn listener_sets_reuse_address() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    assert!(l.as_socket().reuse_address().unwrap());
    let l6 = TcpListener::bind("[::1]:0").unwrap();
    assert!(l6.as_socket().reuse_address().unwrap());
}

/// `TIME_WAIT` does not block a restart: the server closes first, so its side of the
/// connection (on the listening port) sits in TIME_WAIT; a new listener
/// binds the same port at once.
#[test]
fn listener_rebinds_its_port_while_a_connection_is_in_time_wait() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let c = TcpStream::connect(addr).unwrap();
    set_timeouts(c.as_socket());
    let (s, _) = l.accept().unwrap();
    s.close().unwrap(); // active close on the server side
    assert_eq!(c.as_socket().recv(&mut [0u8; 1]).unwrap(), 0);
    c.close().unwrap(); // the server side moves from FIN_WAIT_2 to TIME_WAIT
    drop(l);

    // Control: without SO_REUSEADDR the port is still taken.
    let plain = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let err = plain.bind(&SockAddr::from(addr)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err:?}");

    let again = TcpListener::bind(addr).unwrap();
    assert_eq!(again.local_addr().unwrap(), addr);
    // And it really serves.
    let c = TcpStream::connect(addr).unwrap();
    let (_s, peer) = again.accept().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
}

#[test]
fn two_listeners_on_one_port_is_addr_in_use_even_with_reuse_address() {
    let l = TcpListener::bind("[::1]:0").unwrap();
    let err = TcpListener::bind(l.local_addr().unwrap()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
}

#[test]
fn accept_gives_cloexec_streams() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let _c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s, _) = l.accept().unwrap();
    assert_cloexec(s.as_socket(), "TcpListener::accept");
    assert_cloexec(l.as_socket(), "TcpListener::bind");
    assert!(!s.as_socket().nonblocking().unwrap());
    let _c2 = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (s2, _) = l.accept_nonblocking().unwrap();
    assert_cloexec(s2.as_socket(), "TcpListener::accept_nonblocking");
    assert!(s2.as_socket().nonblocking().unwrap());
}

#[test]
fn nonblocking_listener_would_block_then_accepts() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let err = l.accept().unwrap_err();
    assert!(err.is_would_block(), "{err:?}");
    let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    // The connection is queued by the time connect returns on loopback, but
    // allow a bounded number of tries.
    let mut accepted = None;
    for _ in 0..1000 {
        match l.accept() {
            Ok(x) => {
                accepted = Some(x);
                break;
            }
            Err(e) if e.is_would_block() => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("{e}"),
        }
    }
    let (_s, peer) = accepted.expect("never accepted");
    assert_eq!(peer, c.local_addr().unwrap());
}

#[test]
fn connect_timeout_v4_and_v6() {
    for listen in ["127.0.0.1:0", "[::1]:0"] {
        let l = TcpListener::bind(listen).unwrap();
        let addr = l.local_addr().unwrap();
        let c = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        assert_eq!(c.peer_addr().unwrap(), addr);
        assert!(!c.as_socket().nonblocking().unwrap());
    }
}

#[test]
fn connect_tries_each_address_in_turn() {
    // The first address is refused, the second one listens.
    let closed = closed_port_v4().as_socket().unwrap();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addrs = [closed, l.local_addr().unwrap()];
    let c = TcpStream::connect(&addrs[..]).unwrap();
    assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
    // All refused: the last error.
    let err = TcpStream::connect(&[closed, closed][..]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    // An empty list is InvalidInput, not a panic.
    let err = TcpStream::connect(&[][..] as &[SocketAddr]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn connect_by_name_and_tuple() {
    let l = TcpListener::bind((std::net::IpAddr::from(Ipv4Addr::LOCALHOST), 0u16)).unwrap();
    let port = l.local_addr().unwrap().port();
    let c = TcpStream::connect(("localhost", port)).unwrap();
    assert!(c.peer_addr().unwrap().ip().is_loopback());
    let c = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    assert_eq!(c.peer_addr().unwrap().port(), port);
    let l6 = TcpListener::bind((std::net::IpAddr::from(Ipv6Addr::LOCALHOST), 0u16)).unwrap();
    let c6 = TcpStream::connect(l6.local_addr().unwrap()).unwrap();
    assert_eq!(c6.peer_addr().unwrap().ip(), Ipv6Addr::LOCALHOST);
}

/// `shutdown(Write)` then draining keeps every byte (a plain close with
/// unread data would send a reset), through the typed API.
#[test]
fn shutdown_write_then_drain_keeps_every_byte() {
    let (_l, c, s) = stream_pair("127.0.0.1:0");
    let data = pattern(1, 300_000);
    let expect = data.clone();
    let writer = std::thread::spawn(move || {
        (&c).write_all(&data).unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        // Half-closed: still reads the server's reply, then its EOF.
        let mut reply = Vec::new();
        (&c).read_to_end(&mut reply).unwrap();
        reply
    });
    let got = read_to_eof(&mut s.as_socket(), PATIENCE, 400_000);
    assert!(got == expect, "lost or changed bytes ({} read)", got.len());
    (&s).write_all(b"bye").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(writer.join().unwrap(), b"bye");
}

#[test]
fn peek_and_nodelay() {
    let (_l, c, s) = stream_pair("[::1]:0");
    assert!(!c.nodelay().unwrap());
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    (&c).write_all(b"look").unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(s.peek(&mut buf).unwrap(), 4);
    assert_eq!(&buf, b"look");
    let mut again = [0u8; 4];
    (&s).read_exact(&mut again).unwrap();
    assert_eq!(&again, b"look");
}

#[test]
fn take_error_and_close_on_typed_streams() {
    let (l, c, s) = stream_pair("127.0.0.1:0");
    assert!(c.take_error().unwrap().is_none());
    c.close().unwrap();
    assert_eq!(s.as_socket().recv(&mut [0u8; 1]).unwrap(), 0);
    s.close().unwrap();
    l.close().unwrap();
}

#[test]
fn conversions_with_std_and_socket() {
    let (l, c, s) = stream_pair("127.0.0.1:0");
    let laddr = l.local_addr().unwrap();
    let std_l = std::net::TcpListener::from(l);
    assert_eq!(std_l.local_addr().unwrap(), laddr);
    let l = TcpListener::from(std_l);
    assert_eq!(l.local_addr().unwrap(), laddr);

    let caddr = c.local_addr().unwrap();
    let mut std_c = std::net::TcpStream::from(c);
    std_c.write_all(b"std").unwrap();
    let mut s_sock: Socket = s.into();
    let mut buf = [0u8; 3];
    s_sock.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"std");
    let c = TcpStream::from(std_c);
    assert_eq!(c.local_addr().unwrap(), caddr);
    let inner = c.into_inner();
    assert_eq!(inner.local_addr().unwrap(), SockAddr::from(caddr));
    let owned: std::os::fd::OwnedFd = TcpStream::from(std::net::TcpStream::from(inner)).into();
    let c = TcpStream::from(owned);
    assert_eq!(c.local_addr().unwrap(), caddr);
    s_sock.write_all(b"!").unwrap();
    let mut one = [0u8; 1];
    (&c).read_exact(&mut one).unwrap();
    assert_eq!(&one, b"!");
}

#[test]
fn debug_names_the_type_and_addresses() {
    let (l, c, _s) = stream_pair("127.0.0.1:0");
    let text = format!("{c:?}");
    assert!(text.starts_with("TcpStream(Socket {"), "{text}");
    assert!(
        text.contains(&l.local_addr().unwrap().to_string()),
        "{text}"
    );
    assert!(format!("{l:?}").starts_with("TcpListener("));
}

// The typed streams' `Read` forwards `read_vectored` (std's default would
// fill only the first buffer: 4 of 10 bytes here).
#[test]
fn typed_streams_read_vectored_fills_every_buffer() {
    use std::io::IoSliceMut;
    let (mut a, mut b) = tcp_pair_typed();
    a.write_all(b"0123456789").unwrap();
    let mut peek = [0u8; 16];
    for _ in 0..1000 {
        if b.peek(&mut peek).unwrap() == 10 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let (mut x, mut y) = ([0u8; 4], [0u8; 16]);
    let n = b
        .read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
        .unwrap();
    assert_eq!(n, 10);
    assert_eq!((&x[..], &y[..6]), (&b"0123"[..], &b"456789"[..]));
    // And through a shared reference.
    a.write_all(b"abcdef").unwrap();
    for _ in 0..1000 {
        if b.peek(&mut peek).unwrap() == 6 {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let (mut x, mut y) = ([0u8; 2], [0u8; 16]);
    let n = (&b)
        .read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
        .unwrap();
    assert_eq!((n, &x[..], &y[..4]), (6, &b"ab"[..], &b"cdef"[..]));
}

fn tcp_pair_typed() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    (a, b)
}

/// `TCP_INFO` typed: a real loopback connection walked from ESTABLISHED
/// to CLOSE-WAIT (the peer sent its FIN) and FIN-WAIT-2 on the side that
/// shut down, with bytes acked and received counted; a listener is LISTEN.
#[cfg(target_os = "linux")]
#[test]
fn tcp_info_follows_a_connection_from_established_to_close_wait() {
    use sockpoll::TcpState;
    use std::time::Instant;
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    assert_eq!(l.as_socket().tcp_info().unwrap().state, TcpState::Listen);
    let (mut a, mut b) = tcp_pair_typed();
    let (ia, ib) = (a.tcp_info().unwrap(), b.tcp_info().unwrap());
    assert_eq!(
        (ia.state, ib.state),
        (TcpState::Established, TcpState::Established)
    );
    assert!(ia.send_mss > 0 && ia.congestion_window > 0, "{ia:?}");
    a.write_all(&[7u8; 1000]).unwrap();
    let mut buf = [0u8; 1000];
    b.read_exact(&mut buf).unwrap();
    // Bounded: the ACK comes back over loopback at once.
    let deadline = Instant::now() + Duration::from_secs(5);
    let until = |what: &str, done: &dyn Fn() -> bool| {
        while !done() {
            assert!(Instant::now() < deadline, "never: {what}");
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    until("1000 bytes acked", &|| {
        a.tcp_info().unwrap().bytes_acked >= 1000
    });
    assert!(b.tcp_info().unwrap().bytes_received >= 1000);
    a.shutdown(Shutdown::Write).unwrap();
    until("CLOSE-WAIT after the peer's FIN", &|| {
        b.tcp_info().unwrap().state == TcpState::CloseWait
    });
    until("FIN-WAIT-2 once our FIN is acked", &|| {
        a.tcp_info().unwrap().state == TcpState::FinWait2
    });
    assert_eq!(TcpState::CloseWait.to_string(), "CLOSE-WAIT");
    assert_eq!(TcpState::from_raw(200), TcpState::Other(200));
    // Not TCP: a typed OS error, no panic.
    let u = sockpoll::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert!(u.as_socket().tcp_info().is_err());
}

/// A blocking TCP connect bounded by a write timeout (`SO_SNDTIMEO`) keeps
/// that bound when signals interrupt it: it ends with the kernel's answer
/// for an expired connect, `EINPROGRESS`, near the timeout — not when the
/// kernel's SYN retries give up (minutes). The listener's accept queue is
/// full, so its SYNs are dropped.
#[test]
fn an_interrupted_tcp_connect_keeps_its_write_timeout() {
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
        .unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap();
    // Fill the accept queue: with a backlog of 0 one connection completes
    // and waits there; the kernel drops the next SYNs.
    let queued = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    queued
        .connect_timeout(&addr, Duration::from_secs(5))
        .unwrap();
    let timeout = Duration::from_millis(300);
    let (result, took) = util::signals::interrupted_every(
        Duration::from_millis(20),
        Duration::from_secs(10),
        move || {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            s.set_write_timeout(Some(timeout)).unwrap();
            s.connect(&addr).map_err(|e| e.raw_os_error())
        },
    )
    .expect("the connect outlived its write timeout by seconds");
    assert_eq!(result, Err(Some(libc_einprogress())), "after {took:?}");
    assert!(took >= timeout, "{took:?}");
    assert!(took < timeout * 4, "{took:?}");
    drop(l);
}

fn libc_einprogress() -> i32 {
    115
}
