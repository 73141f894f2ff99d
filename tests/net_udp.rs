//! `UdpSocket` over IPv4 and IPv6 loopback, and the datagram edge cases
//! where truncation would be silent: the largest IPv4 payload, one byte
//! more, truncation, and zero-length datagrams (which are not end of
//! file).

mod util;

use std::io::{self, IoSliceMut};

use sockpoll::{UdpSocket, MAX_UDP_PAYLOAD_V4};
use util::bytes::pattern;
use util::net::*;

fn bound(addr: &str) -> UdpSocket {
    let s = UdpSocket::bind(addr).unwrap();
    set_timeouts(s.as_socket());
    s
}

#[test]
fn round_trip_v4_and_v6() {
    for addr in ["127.0.0.1:0", "[::1]:0"] {
        let a = bound(addr);
        let b = bound(addr);
        assert_eq!(a.send_to(b"ping", b.local_addr().unwrap()).unwrap(), 4);
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr().unwrap()));
        b.send_to(b"pong", from).unwrap();
        let (n, from) = a.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"pong"[..], b.local_addr().unwrap()));
    }
}

#[test]
fn connected_send_recv_and_peer_addr() {
    let a = bound("[::1]:0");
    let b = bound("[::1]:0");
    assert_eq!(
        a.peer_addr().unwrap_err().kind(),
        io::ErrorKind::NotConnected
    );
    a.connect(b.local_addr().unwrap()).unwrap();
    b.connect(a.local_addr().unwrap()).unwrap();
    assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
    a.send(b"connected").unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(b.recv(&mut buf).unwrap(), 9);
    assert_eq!(&buf[..9], b"connected");
}

#[test]
fn connected_socket_sees_port_unreachable_as_refused() {
    let a = bound("127.0.0.1:0");
    let gone = closed_port_v4().as_socket().unwrap();
    a.connect(gone).unwrap();
    a.send(b"anyone?").unwrap();
    // The ICMP port-unreachable comes back as ECONNREFUSED on the next call.
    let err = a.recv(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}

#[test]
fn peek_from_then_recv_from() {
    let a = bound("127.0.0.1:0");
    let b = bound("127.0.0.1:0");
    a.send_to(b"peeked", b.local_addr().unwrap()).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = b.peek_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"peeked"[..], a.local_addr().unwrap()));
    let (n, _) = b.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"peeked");
    b.set_nonblocking(true).unwrap();
    assert!(b.recv_from(&mut buf).unwrap_err().is_would_block());
}

/// 65,535 − 8 − 20: the largest IPv4 UDP payload echoes whole.
#[test]
fn largest_v4_datagram_round_trips_whole() {
    assert_eq!(MAX_UDP_PAYLOAD_V4, 65_507);
    let a = bound("127.0.0.1:0");
    let b = bound("127.0.0.1:0");
    for s in [&a, &b] {
        s.as_socket().set_send_buffer_size(1 << 18).unwrap();
        s.as_socket().set_recv_buffer_size(1 << 18).unwrap();
    }
    let data = pattern(1, MAX_UDP_PAYLOAD_V4);
    assert_eq!(
        a.send_to(&data, b.local_addr().unwrap()).unwrap(),
        MAX_UDP_PAYLOAD_V4
    );
    let mut buf = vec![0u8; 70_000];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!(n, MAX_UDP_PAYLOAD_V4);
    assert_eq!(from, a.local_addr().unwrap());
    assert!(buf[..n] == data[..], "the datagram was changed");
    // And back the other way, truncation-aware.
    b.send_to(&buf[..n], from).unwrap();
    let mut back = vec![0u8; 70_000];
    let got = a
        .as_socket()
        .recv_from_vectored(&mut [IoSliceMut::new(&mut back)])
        .unwrap();
    assert_eq!((got.len, got.truncated), (MAX_UDP_PAYLOAD_V4, false));
}

#[test]
fn one_byte_over_the_v4_maximum_is_emsgsize() {
    let a = bound("127.0.0.1:0");
    let b = bound("127.0.0.1:0");
    let data = vec![0u8; MAX_UDP_PAYLOAD_V4 + 1];
    let err = a.send_to(&data, b.local_addr().unwrap()).unwrap_err();
    assert_eq!(
        err.raw_os_error(),
        Some(nix::errno::Errno::EMSGSIZE as i32),
        "{err:?}"
    );
    assert_eq!(err.call(), "sendto");
    assert!(
        err.to_string()
            .contains(&b.local_addr().unwrap().to_string()),
        "{err}"
    );
}

#[test]
fn recv_from_vectored_reports_truncation_and_the_copied_length() {
    let a = bound("127.0.0.1:0");
    let b = bound("127.0.0.1:0");
    a.send_to(b"0123456789", b.local_addr().unwrap()).unwrap();
    let (mut x, mut y) = ([0u8; 3], [0u8; 4]);
    let got = b
        .as_socket()
        .recv_from_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)])
        .unwrap();
    assert!(got.truncated);
    assert_eq!(got.len, 7);
    assert_eq!(got.addr.as_socket(), Some(a.local_addr().unwrap()));
    assert_eq!((&x, &y), (b"012", b"3456"));
    // The tail is gone: the next datagram is a new one.
    a.send_to(b"next", b.local_addr().unwrap()).unwrap();
    let mut buf = [0u8; 16];
    let (n, _) = b.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"next");
    // A datagram that fits exactly is not truncated.
    a.send_to(b"fits", b.local_addr().unwrap()).unwrap();
    let mut four = [0u8; 4];
    let got = b
        .as_socket()
        .recv_from_vectored(&mut [IoSliceMut::new(&mut four)])
        .unwrap();
    assert_eq!((got.len, got.truncated), (4, false));
}

#[test]
fn zero_length_datagram_is_not_eof() {
    for addr in ["127.0.0.1:0", "[::1]:0"] {
        let a = bound(addr);
        let b = bound(addr);
        assert_eq!(a.send_to(b"", b.local_addr().unwrap()).unwrap(), 0);
        a.send_to(b"after", b.local_addr().unwrap()).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert_eq!(n, 0);
        assert_eq!(from, a.local_addr().unwrap());
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"after"[..], a.local_addr().unwrap()));
        // Vectored, too.
        a.send_to(b"", b.local_addr().unwrap()).unwrap();
        let got = b
            .as_socket()
            .recv_from_vectored(&mut [IoSliceMut::new(&mut buf)])
            .unwrap();
        assert_eq!((got.len, got.truncated), (0, false));
    }
}

#[test]
fn broadcast_option_on_the_typed_socket() {
    let a = bound("127.0.0.1:0");
    assert!(!a.broadcast().unwrap());
    a.set_broadcast(true).unwrap();
    assert!(a.broadcast().unwrap());
}

#[test]
fn send_to_a_name_and_a_v6_socket() {
    let a = bound("127.0.0.1:0");
    let b = bound("127.0.0.1:0");
    let port = b.local_addr().unwrap().port();
    a.send_to(b"by string", format!("127.0.0.1:{port}"))
        .unwrap();
    let mut buf = [0u8; 16];
    let (n, _) = b.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"by string");
    // A v4 destination from a v6 socket bound to ::1 is an error, not a panic.
    let v6 = bound("[::1]:0");
    assert!(v6.send_to(b"x", b.local_addr().unwrap()).is_err());
}

#[test]
fn conversions_with_std() {
    let a = bound("[::1]:0");
    let addr = a.local_addr().unwrap();
    let std_a = std::net::UdpSocket::from(a);
    assert_eq!(std_a.local_addr().unwrap(), addr);
    let b = bound("[::1]:0");
    std_a.send_to(b"std", b.local_addr().unwrap()).unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"std"[..], addr));
    let a = UdpSocket::from(std_a);
    assert_eq!(a.local_addr().unwrap(), addr);
    assert_cloexec(a.as_socket(), "UdpSocket::bind");
}

// `send_to` takes the first resolved address of the socket's family: an
// IPv4 socket given [::1, 127.0.0.1] sends to 127.0.0.1 (not
// EAFNOSUPPORT for the first).
#[test]
fn send_to_picks_an_address_of_the_sockets_family() {
    use sockpoll::SockAddr;
    use std::net::SocketAddr;
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    set_timeouts(rx.as_socket());
    let port = rx.local_addr().unwrap().port();
    let v6: SocketAddr = format!("[::1]:{port}").parse().unwrap();
    let v4: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    assert_eq!(tx.send_to(b"mixed", &[v6, v4][..]).unwrap(), 5);
    let mut buf = [0u8; 16];
    let (n, from) = rx.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"mixed"[..], tx.local_addr().unwrap()));

    // No address of the socket's family among several: said plainly.
    let unix = SockAddr::unix("/nonexistent/x.sock").unwrap();
    let err = tx
        .send_to(b"x", &[unix, SockAddr::from(v6)][..])
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert!(err.to_string().contains("family"), "{err}");
    let err = tx.send_to(b"x", &[][..] as &[SocketAddr]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.call(), "sendto");
}
