//! `Socket`: every public call over real loopback sockets and socketpairs,
//! in roughly the order of `src/net/socket.rs`.

mod util;

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use sockpoll::{Domain, Protocol, SockAddr, Socket, Type};
use util::bytes::pattern;
use util::net::*;
use util::stream::read_to_eof;

#[test]
fn new_is_blocking_cloexec_and_has_its_domain_and_type() {
    for (domain, ty) in [
        (Domain::IPV4, Type::STREAM),
        (Domain::IPV4, Type::DGRAM),
        (Domain::IPV6, Type::STREAM),
        (Domain::IPV6, Type::DGRAM),
        (Domain::UNIX, Type::STREAM),
        (Domain::UNIX, Type::DGRAM),
        (Domain::UNIX, Type::SEQPACKET),
    ] {
        let s = Socket::new(domain, ty, None).unwrap();
        assert_eq!(s.domain().unwrap(), domain);
        assert_eq!(s.socket_type().unwrap(), ty);
        assert!(
            !s.nonblocking().unwrap(),
            "{domain:?} {ty:?} starts blocking"
        );
        assert_cloexec(&s, "Socket::new");
    }
    let tcp = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).unwrap();
    assert_eq!(tcp.socket_type().unwrap(), Type::STREAM);
    let udp = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    assert_eq!(udp.socket_type().unwrap(), Type::DGRAM);
}

#[test]
fn new_with_mismatched_protocol_is_an_os_error() {
    let err = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::UDP)).unwrap_err();
    assert_eq!(err.call(), "socket");
    assert!(err.raw_os_error().is_some(), "{err:?}");
    assert!(err.to_string().starts_with("socket: "), "{err}");
}

#[test]
fn new_nonblocking_starts_nonblocking_and_cloexec() {
    let s = Socket::new_nonblocking(Domain::IPV4, Type::STREAM, None).unwrap();
    assert!(s.nonblocking().unwrap());
    assert_cloexec(&s, "Socket::new_nonblocking");
    s.set_nonblocking(false).unwrap();
    assert!(!s.nonblocking().unwrap());
}

#[test]
fn pair_is_connected_cloexec_and_unnamed() {
    for ty in [Type::STREAM, Type::DGRAM, Type::SEQPACKET] {
        let (a, b) = Socket::pair(Domain::UNIX, ty, None).unwrap();
        assert_cloexec(&a, "pair a");
        assert_cloexec(&b, "pair b");
        assert!(a.local_addr().unwrap().is_unnamed());
        assert!(a.peer_addr().unwrap().is_unnamed());
        assert_eq!(a.send(b"over the pair").unwrap(), 13);
        let mut buf = [0u8; 32];
        assert_eq!(b.recv(&mut buf).unwrap(), 13);
        assert_eq!(&buf[..13], b"over the pair");
    }
}

#[test]
fn pair_of_inet_domain_is_an_os_error() {
    let err = Socket::pair(Domain::IPV4, Type::STREAM, None).unwrap_err();
    assert_eq!(err.call(), "socketpair");
    assert_eq!(
        err.raw_os_error(),
        Some(nix::errno::Errno::EOPNOTSUPP as i32),
        "{err}"
    );
}

#[test]
fn bind_port_zero_gets_a_real_port_and_local_addr_reports_it() {
    for domain in [Domain::IPV4, Domain::IPV6] {
        let s = Socket::new(domain, Type::STREAM, None).unwrap();
        s.bind(&loopback(domain)).unwrap();
        let addr = s.local_addr().unwrap().as_socket().unwrap();
        assert!(addr.ip().is_loopback(), "{addr}");
        assert_ne!(addr.port(), 0);
        assert_eq!(s.local_addr().unwrap().family(), domain);
    }
}

#[test]
fn bind_twice_is_invalid_and_names_the_address() {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
    s.bind(&v4_any()).unwrap();
    let err = s.bind(&v4_any()).unwrap_err();
    assert_eq!(err.call(), "bind");
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().starts_with("bind 127.0.0.1:0: "), "{err}");
}

#[test]
fn listen_on_a_datagram_socket_fails() {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
    s.bind(&v4_any()).unwrap();
    let err = s.listen(4).unwrap_err();
    assert_eq!(err.call(), "listen");
    assert_eq!(
        err.raw_os_error(),
        Some(nix::errno::Errno::EOPNOTSUPP as i32)
    );
    assert!(
        err.to_string()
            .starts_with(&format!("listen fd {}: ", s.as_raw_fd())),
        "{err}"
    );
}

#[test]
fn accept_gives_a_blocking_cloexec_socket_and_the_peer_address() {
    for domain in [Domain::IPV4, Domain::IPV6] {
        let l = listener(domain);
        let c = Socket::new(domain, Type::STREAM, None).unwrap();
        c.connect(&l.local_addr().unwrap()).unwrap();
        let (s, peer) = l.accept().unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
        assert_eq!(s.local_addr().unwrap(), l.local_addr().unwrap());
        assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
        assert!(!s.nonblocking().unwrap());
        assert_cloexec(&s, "accept");
    }
}

#[test]
fn accept_nonblocking_gives_a_nonblocking_cloexec_socket() {
    let l = listener(Domain::IPV4);
    let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    c.connect(&l.local_addr().unwrap()).unwrap();
    let (s, peer) = l.accept_nonblocking().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    assert!(s.nonblocking().unwrap());
    assert_cloexec(&s, "accept_nonblocking");
    let err = s.recv(&mut [0u8; 4]).unwrap_err();
    assert!(err.is_would_block(), "{err:?}");
}

#[test]
fn accept_on_nonblocking_listener_with_nothing_pending_would_block() {
    let l = listener(Domain::IPV4);
    l.set_nonblocking(true).unwrap();
    let err = l.accept().unwrap_err();
    assert!(err.is_would_block(), "{err:?}");
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(err.call(), "accept4");
}

#[test]
fn blocking_connect_v4_and_v6() {
    for domain in [Domain::IPV4, Domain::IPV6] {
        let l = listener(domain);
        let c = Socket::new(domain, Type::STREAM, None).unwrap();
        c.connect(&l.local_addr().unwrap()).unwrap();
        assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
        assert!(c.take_error().unwrap().is_none());
    }
}

#[test]
fn blocking_connect_to_a_closed_port_is_refused_and_names_the_address() {
    let addr = closed_port_v4();
    let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let err = c.connect(&addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    assert_eq!(err.call(), "connect");
    assert!(
        err.to_string().starts_with(&format!("connect {addr}: ")),
        "{err}"
    );
}

/// A non-blocking connect: EINPROGRESS is not failure, writable is not success.
#[test]
fn nonblocking_connect_reports_in_progress_then_take_error_decides() {
    for domain in [Domain::IPV4, Domain::IPV6] {
        let l = listener(domain);
        let c = Socket::new_nonblocking(domain, Type::STREAM, None).unwrap();
        match c.connect(&l.local_addr().unwrap()) {
            Ok(()) => {} // loopback may complete at once
            Err(e) => {
                assert!(e.is_in_progress(), "{e:?}");
                assert!(!e.is_would_block());
            }
        }
        let flags = wait_writable(&c).expect("connect never became writable");
        assert!(flags.contains(nix::poll::PollFlags::POLLOUT));
        assert!(c.take_error().unwrap().is_none());
        assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
        let (s, _) = l.accept().unwrap();
        c.send(b"x").unwrap();
        s.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut b = [0u8; 1];
        assert_eq!(s.recv(&mut b).unwrap(), 1);
    }
}

#[test]
fn nonblocking_connect_to_a_closed_port_is_writable_but_take_error_says_refused() {
    let addr = closed_port_v4();
    let c = Socket::new_nonblocking(Domain::IPV4, Type::STREAM, None).unwrap();
    match c.connect(&addr) {
        // Loopback may refuse at once.
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return,
        Err(e) => assert!(e.is_in_progress(), "{e:?}"),
        Ok(()) => panic!("connect to a closed port succeeded"),
    }
    wait_writable(&c).expect("a refused connect still wakes the writer");
    let pending = c.take_error().unwrap().expect("SO_ERROR holds the refusal");
    assert_eq!(pending.kind(), io::ErrorKind::ConnectionRefused);
    // take_error clears it.
    assert!(c.take_error().unwrap().is_none());
    assert_eq!(
        c.peer_addr().unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
}

#[test]
fn connect_timeout_succeeds_on_loopback_and_keeps_blocking_mode() {
    for domain in [Domain::IPV4, Domain::IPV6] {
        let l = listener(domain);
        let c = Socket::new(domain, Type::STREAM, None).unwrap();
        c.connect_timeout(&l.local_addr().unwrap(), Duration::from_secs(5))
            .unwrap();
        assert!(!c.nonblocking().unwrap(), "blocking mode restored");
        assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());

        let n = Socket::new_nonblocking(domain, Type::STREAM, None).unwrap();
        n.connect_timeout(&l.local_addr().unwrap(), Duration::from_secs(5))
            .unwrap();
        assert!(n.nonblocking().unwrap(), "non-blocking mode kept");
    }
}

#[test]
fn connect_timeout_zero_is_invalid_input_without_a_syscall() {
    let l = listener(Domain::IPV4);
    let addr = l.local_addr().unwrap();
    let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let err = c.connect_timeout(&addr, Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(
        matches!(err, sockpoll::Error::InvalidInput { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("zero"), "{err}");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    // Nothing happened: the socket is still unconnected and blocking.
    assert_eq!(
        c.peer_addr().unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
    assert!(!c.nonblocking().unwrap());
}

#[test]
fn connect_timeout_to_a_closed_port_is_refused() {
    let addr = closed_port_v4();
    let c = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let err = c
        .connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
    assert_eq!(err.call(), "connect");
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    assert!(!c.nonblocking().unwrap(), "blocking mode restored on error");
}

#[test]
fn send_and_recv_round_trip_v4_and_v6() {
    for domain in [Domain::IPV4, Domain::IPV6] {
        let (c, s) = tcp_pair(domain);
        assert_eq!(c.send(b"hello").unwrap(), 5);
        let mut buf = [0u8; 16];
        assert_eq!(s.recv(&mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(s.send(b"back").unwrap(), 4);
        assert_eq!(c.recv(&mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"back");
    }
}

#[test]
fn send_to_and_recv_from_on_udp_v4_and_v6() {
    for domain in [Domain::IPV4, Domain::IPV6] {
        let a = Socket::new(domain, Type::DGRAM, None).unwrap();
        let b = Socket::new(domain, Type::DGRAM, None).unwrap();
        a.bind(&loopback(domain)).unwrap();
        b.bind(&loopback(domain)).unwrap();
        b.set_read_timeout(Some(PATIENCE)).unwrap();
        assert_eq!(a.send_to(b"dgram", &b.local_addr().unwrap()).unwrap(), 5);
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"dgram"[..], a.local_addr().unwrap()));
    }
}

#[test]
fn vectored_send_and_recv_on_a_stream() {
    let (c, s) = tcp_pair(Domain::IPV4);
    let n = c
        .send_vectored(&[
            IoSlice::new(b"ab"),
            IoSlice::new(b""),
            IoSlice::new(b"cdef"),
        ])
        .unwrap();
    assert_eq!(n, 6);
    let (mut x, mut y) = ([0u8; 3], [0u8; 8]);
    let mut got = 0;
    for _ in 0..10 {
        if got == 6 {
            break;
        }
        // A stream may deliver in pieces; read the rest into a fresh pair.
        let mut bufs = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
        let n = s.recv_vectored(&mut bufs).unwrap();
        assert!(n > 0);
        got += n;
    }
    assert_eq!(got, 6);
    assert_eq!(&x, b"abc");
    assert_eq!(&y[..3], b"def");
}

#[test]
fn vectored_send_to_and_recv_from_on_udp() {
    for domain in [Domain::IPV4, Domain::IPV6] {
        let a = Socket::new(domain, Type::DGRAM, None).unwrap();
        let b = Socket::new(domain, Type::DGRAM, None).unwrap();
        a.bind(&loopback(domain)).unwrap();
        b.bind(&loopback(domain)).unwrap();
        b.set_read_timeout(Some(PATIENCE)).unwrap();
        let to = b.local_addr().unwrap();
        let n = a
            .send_to_vectored(&[IoSlice::new(b"one "), IoSlice::new(b"datagram")], &to)
            .unwrap();
        assert_eq!(n, 12);
        let (mut x, mut y) = ([0u8; 4], [0u8; 20]);
        let got = b
            .recv_from_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
            .unwrap();
        assert_eq!(got.len, 12);
        assert!(!got.truncated);
        assert_eq!(got.addr, a.local_addr().unwrap());
        assert_eq!(&x, b"one ");
        assert_eq!(&y[..8], b"datagram");
    }
}

#[test]
fn peek_leaves_stream_data_queued() {
    let (c, s) = tcp_pair(Domain::IPV6);
    c.send(b"peekaboo").unwrap();
    let mut buf = [0u8; 4];
    // The first peek may see fewer bytes only if they have not all arrived;
    // on loopback a single small send arrives whole.
    assert_eq!(s.peek(&mut buf).unwrap(), 4);
    assert_eq!(&buf, b"peek");
    let mut all = [0u8; 8];
    assert_eq!(s.recv(&mut all).unwrap(), 8);
    assert_eq!(&all, b"peekaboo");
}

#[test]
fn peek_from_leaves_the_datagram_queued() {
    let a = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
    let b = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
    a.bind(&v4_any()).unwrap();
    b.bind(&v4_any()).unwrap();
    b.set_read_timeout(Some(PATIENCE)).unwrap();
    a.send_to(b"first", &b.local_addr().unwrap()).unwrap();
    a.send_to(b"second", &b.local_addr().unwrap()).unwrap();
    let mut buf = [0u8; 16];
    for _ in 0..2 {
        let (n, from) = b.peek_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], &from),
            (&b"first"[..], &a.local_addr().unwrap())
        );
    }
    assert_eq!(b.recv_from(&mut buf).unwrap().0, 5);
    let (n, _) = b.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"second");
}

/// shutdown(Write) sends FIN after all queued data; the
/// half-closed side can still read.
#[test]
fn shutdown_write_delivers_all_data_then_eof_and_half_close_still_reads() {
    for domain in [Domain::IPV4, Domain::IPV6] {
        let (c, s) = tcp_pair(domain);
        let data = pattern(1, 200_000);
        let writer = std::thread::spawn(move || {
            let mut off = 0;
            while off < data.len() {
                off += c.send(&data[off..]).unwrap();
            }
            c.shutdown(Shutdown::Write).unwrap();
            // Our write side is closed; sending again is EPIPE, not SIGPIPE.
            let err = c.send(b"late").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err:?}");
            // Half-close: we can still read what the peer sends back.
            let mut reply = [0u8; 16];
            let n = c.recv(&mut reply).unwrap();
            assert_eq!(&reply[..n], b"got it");
            assert_eq!(c.recv(&mut reply).unwrap(), 0);
        });
        let got = read_to_eof(&mut &s, PATIENCE, 300_000);
        assert_eq!(got, pattern(1, 200_000));
        // EOF is sticky.
        assert_eq!(s.recv(&mut [0u8; 4]).unwrap(), 0);
        s.send(b"got it").unwrap();
        s.shutdown(Shutdown::Both).unwrap();
        writer.join().unwrap();
    }
}

#[test]
fn shutdown_read_makes_recv_return_eof() {
    let (_c, s) = tcp_pair(Domain::IPV4);
    s.shutdown(Shutdown::Read).unwrap();
    assert_eq!(s.recv(&mut [0u8; 4]).unwrap(), 0);
}

#[test]
fn shutdown_of_an_unconnected_socket_is_not_connected() {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let err = s.shutdown(Shutdown::Both).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotConnected);
    assert_eq!(err.call(), "shutdown");
}

/// close consumes the socket and reports Ok; the descriptor is gone (no
/// double close, no use of a reused number).
#[test]
fn close_returns_ok_and_releases_the_descriptor() {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let fd = s.as_raw_fd();
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
    assert!(link.to_string_lossy().starts_with("socket:["), "{link:?}");
    s.close().unwrap();
    // The number may have been reused by a parallel test, but never by the
    // same socket inode.
    match std::fs::read_link(format!("/proc/self/fd/{fd}")) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::NotFound),
        Ok(now) => assert_ne!(now, link, "fd {fd} still refers to the closed socket"),
    }

    let (a, b) = Socket::pair(Domain::UNIX, Type::STREAM, None).unwrap();
    a.close().unwrap();
    assert_eq!(
        b.recv(&mut [0u8; 1]).unwrap(),
        0,
        "peer sees EOF after close"
    );
}

#[test]
fn set_nonblocking_makes_empty_recv_would_block() {
    let (c, s) = tcp_pair(Domain::IPV4);
    s.set_nonblocking(true).unwrap();
    assert!(s.nonblocking().unwrap());
    let err = s.recv(&mut [0u8; 8]).unwrap_err();
    assert!(err.is_would_block());
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(err.call(), "recv");
    // ... and WouldBlock survives the trip into io::Error.
    assert_eq!(io::Error::from(err).kind(), io::ErrorKind::WouldBlock);
    // Through io::Read too.
    let err = (&s).read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    // Data makes it readable again.
    c.send(b"z").unwrap();
    s.set_nonblocking(false).unwrap();
    assert_eq!(s.recv(&mut [0u8; 8]).unwrap(), 1);
}

#[test]
fn read_timeout_expires_as_would_block() {
    let (_c, s) = tcp_pair(Domain::IPV4);
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let err = s.recv(&mut [0u8; 8]).unwrap_err();
    assert!(err.is_would_block(), "{err:?}");
}

#[test]
fn peer_addr_of_an_unconnected_socket_is_not_connected() {
    let s = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
    let err = s.peer_addr().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotConnected);
    assert_eq!(err.call(), "getpeername");
    // An unbound IPv6 socket's name is the wildcard.
    let local = s.local_addr().unwrap().as_socket().unwrap();
    assert!(local.ip().is_unspecified() && local.port() == 0, "{local}");
}

#[test]
fn take_error_is_none_on_a_healthy_socket() {
    let (c, s) = tcp_pair(Domain::IPV4);
    assert!(c.take_error().unwrap().is_none());
    assert!(s.take_error().unwrap().is_none());
}

#[test]
fn io_read_and_write_on_socket_and_shared_reference() {
    let (mut c, mut s) = tcp_pair(Domain::IPV4);
    c.write_all(b"owned ").unwrap();
    (&c).write_all(b"shared").unwrap();
    c.flush().unwrap();
    let n = c
        .write_vectored(&[IoSlice::new(b"+"), IoSlice::new(b"vec")])
        .unwrap();
    assert_eq!(n, 4);
    c.shutdown(Shutdown::Write).unwrap();
    let mut first = [0u8; 6];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"owned ");
    let mut rest = Vec::new();
    (&s).read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"shared+vec");

    // read_vectored on &Socket.
    s.write_all(b"abcdef").unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let (mut x, mut y) = ([0u8; 2], [0u8; 10]);
    let mut total = 0;
    for _ in 0..10 {
        let n = (&c)
            .read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
            .unwrap();
        if n == 0 || total + n >= 6 {
            total += n;
            break;
        }
        total += n;
    }
    assert_eq!(total, 6);
    assert_eq!(&x, b"ab");
}

#[test]
fn std_tcp_stream_converts_into_socket_and_back() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let std_client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (mut std_server, _) = l.accept().unwrap();
    let local = std_client.local_addr().unwrap();

    let sock = Socket::from(std_client);
    assert_eq!(sock.local_addr().unwrap(), SockAddr::from(local));
    assert_eq!(sock.socket_type().unwrap(), Type::STREAM);
    sock.send(b"via sockpoll").unwrap();
    let mut buf = [0u8; 12];
    std_server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"via sockpoll");

    let mut back = std::net::TcpStream::from(sock);
    assert_eq!(back.local_addr().unwrap(), local);
    back.write_all(b"via std").unwrap();
    let mut buf = [0u8; 7];
    std_server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"via std");
}

#[test]
fn std_listener_and_udp_and_unix_types_convert_both_ways() {
    let l = Socket::from(std::net::TcpListener::bind("[::1]:0").unwrap());
    let addr = l.local_addr().unwrap();
    let std_l = std::net::TcpListener::from(l);
    assert_eq!(SockAddr::from(std_l.local_addr().unwrap()), addr);

    let u = Socket::from(std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
    assert_eq!(u.socket_type().unwrap(), Type::DGRAM);
    let std_u = std::net::UdpSocket::from(u);
    assert!(std_u.local_addr().unwrap().ip().is_loopback());

    let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
    let a = Socket::from(a);
    a.send(b"u").unwrap();
    let mut b = Socket::from(b);
    let mut one = [0u8; 1];
    b.read_exact(&mut one).unwrap();
    assert_eq!(&one, b"u");
    let _ = std::os::unix::net::UnixStream::from(b);

    let (d1, d2) = std::os::unix::net::UnixDatagram::pair().unwrap();
    let d1 = Socket::from(d1);
    d1.send(b"dg").unwrap();
    let d2 = std::os::unix::net::UnixDatagram::from(Socket::from(d2));
    let mut two = [0u8; 2];
    assert_eq!(d2.recv(&mut two).unwrap(), 2);
}

#[test]
fn owned_fd_conversions_keep_the_descriptor() {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
    s.bind(&v4_any()).unwrap();
    let addr = s.local_addr().unwrap();
    let fd_num = s.as_raw_fd();
    let owned = OwnedFd::from(s);
    assert_eq!(owned.as_raw_fd(), fd_num);
    let s = Socket::from(owned);
    assert_eq!(s.as_fd().as_raw_fd(), fd_num);
    assert_eq!(s.local_addr().unwrap(), addr);
    // (IntoRawFd is not exercised: taking the number back into an owner
    // needs OwnedFd::from_raw_fd, which tests may not call, and a test must
    // not leak the descriptor.)
}

#[test]
fn calls_on_a_non_socket_fail_with_enotsock_not_ub() {
    let file = std::fs::File::open("/proc/self/status").unwrap();
    let s = Socket::from(OwnedFd::from(file));
    let err = s.local_addr().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(nix::errno::Errno::ENOTSOCK as i32));
    assert!(s.nodelay().is_err());
}

#[test]
fn debug_shows_fd_and_addresses() {
    let (c, s) = tcp_pair(Domain::IPV4);
    let text = format!("{c:?}");
    assert!(text.starts_with("Socket {"), "{text}");
    assert!(text.contains(&format!("fd: {}", c.as_raw_fd())), "{text}");
    assert!(
        text.contains(&format!("local: {}", c.local_addr().unwrap())),
        "{text}"
    );
    assert!(
        text.contains(&format!("peer: {}", s.local_addr().unwrap())),
        "{text}"
    );
}

#[test]
fn seqpacket_pair_keeps_message_boundaries() {
    let (a, b) = Socket::pair(Domain::UNIX, Type::SEQPACKET, None).unwrap();
    a.send(b"one").unwrap();
    a.send(b"two!").unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(b.recv(&mut buf).unwrap(), 3);
    assert_eq!(b.recv(&mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"two!");
}
