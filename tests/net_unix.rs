//! `UnixListener`, `UnixStream` and `UnixDatagram` with file-system paths
//! (in a per-test temp dir) and Linux abstract names (unique per process and
//! test).

mod net_common;

use std::io::{self, Read, Write};
use std::net::Shutdown;

use net_common::*;
use sockpoll::{SockAddr, UnixDatagram, UnixListener, UnixStream};

#[test]
fn stream_over_a_path() {
    let dir = TempDir::new("stream_path");
    let path = dir.join("s.sock");
    let l = UnixListener::bind(&path).unwrap();
    assert_eq!(l.local_addr().unwrap().as_unix_path(), Some(path.as_path()));
    assert!(path.exists(), "bind creates the socket file");
    let mut c = UnixStream::connect(&path).unwrap();
    let (mut s, peer) = l.accept().unwrap();
    assert!(peer.is_unnamed(), "an unbound client is unnamed: {peer:?}");
    assert_eq!(peer.to_string(), "(unnamed)");
    assert!(c.local_addr().unwrap().is_unnamed());
    assert_eq!(c.peer_addr().unwrap(), SockAddr::unix(&path).unwrap());
    assert_eq!(s.peer_addr().unwrap(), peer);
    assert_cloexec(s.as_socket(), "UnixListener::accept");
    c.write_all(b"hello unix").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert_eq!(got, "hello unix");
    (&s).write_all(b"bye").unwrap();
    drop(s);
    let mut back = Vec::new();
    (&c).read_to_end(&mut back).unwrap();
    assert_eq!(back, b"bye");
}

#[test]
fn stream_over_an_abstract_name() {
    let name = unique_name("stream_abstract");
    let addr = SockAddr::abstract_name(&name).unwrap();
    let l = UnixListener::bind_addr(&addr).unwrap();
    assert_eq!(l.local_addr().unwrap(), addr);
    assert_eq!(l.local_addr().unwrap().to_string(), format!("@{name}"));
    let c = UnixStream::connect_addr(&addr).unwrap();
    let (s, peer) = l.accept().unwrap();
    assert!(peer.is_unnamed());
    assert_eq!(c.peer_addr().unwrap(), addr);
    assert_eq!(s.local_addr().unwrap(), addr);
    (&c).write_all(b"abstract").unwrap();
    let mut buf = [0u8; 8];
    (&s).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"abstract");
    // The name is taken while the listener lives.
    let err = UnixListener::bind_addr(&addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains(&format!("@{name}")), "{err}");
}

#[test]
fn stale_socket_file_is_addr_in_use_and_missing_path_is_not_found() {
    let dir = TempDir::new("stale");
    let path = dir.join("stale.sock");
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "the file stays after the listener drops");
    let err = UnixListener::bind(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
    // Nobody listens there any more.
    let err = UnixStream::connect(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    let err = UnixStream::connect(dir.join("missing.sock")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

#[test]
fn bad_paths_are_invalid_input_for_every_type() {
    let too_long = format!("/tmp/{}", "x".repeat(103));
    assert_eq!(too_long.len(), 108);
    for path in ["", "/tmp/nul\0here", too_long.as_str()] {
        assert_eq!(
            UnixListener::bind(path).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            UnixStream::connect(path).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            UnixDatagram::bind(path).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}

#[test]
fn stream_pair() {
    let (a, b) = UnixStream::pair().unwrap();
    assert_cloexec(a.as_socket(), "UnixStream::pair");
    assert!(a.peer_addr().unwrap().is_unnamed());
    (&a).write_all(b"pair").unwrap();
    a.shutdown(Shutdown::Both).unwrap();
    let mut got = Vec::new();
    (&b).read_to_end(&mut got).unwrap();
    assert_eq!(got, b"pair");
}

#[test]
fn datagrams_over_paths() {
    let dir = TempDir::new("dgram_path");
    let pa = dir.join("a.sock");
    let pb = dir.join("b.sock");
    let a = UnixDatagram::bind(&pa).unwrap();
    let b = UnixDatagram::bind(&pb).unwrap();
    set_timeouts(b.as_socket());
    set_timeouts(a.as_socket());
    let addr_b = b.local_addr().unwrap();
    assert_eq!(addr_b.as_unix_path(), Some(pb.as_path()));
    assert_eq!(a.send_to(b"to b", &addr_b).unwrap(), 4);
    let mut buf = [0u8; 16];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to b");
    assert_eq!(from, SockAddr::unix(&pa).unwrap());
    // Reply to the address we got.
    b.send_to(b"to a", &from).unwrap();
    let (n, from) = a.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"to a"[..], addr_b.clone()));
    // Empty datagrams are datagrams.
    a.send_to(b"", &addr_b).unwrap();
    assert_eq!(b.recv_from(&mut buf).unwrap().0, 0);
}

#[test]
fn datagrams_over_abstract_names_and_from_an_unbound_sender() {
    let addr = SockAddr::abstract_name(unique_name("dgram_abstract")).unwrap();
    let b = UnixDatagram::bind_addr(&addr).unwrap();
    set_timeouts(b.as_socket());
    assert_eq!(b.local_addr().unwrap(), addr);
    let unbound = UnixDatagram::unbound().unwrap();
    unbound.send_to(b"anon", &addr).unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"anon");
    assert!(from.is_unnamed(), "{from:?}");

    let named = SockAddr::abstract_name(unique_name("dgram_abstract_2")).unwrap();
    let a = UnixDatagram::bind_addr(&named).unwrap();
    a.send_to(b"named", &addr).unwrap();
    let (n, from) = b.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"named"[..], named));
}

#[test]
fn connected_datagrams_and_pairs() {
    let addr = SockAddr::abstract_name(unique_name("dgram_connected")).unwrap();
    let b = UnixDatagram::bind_addr(&addr).unwrap();
    set_timeouts(b.as_socket());
    let a = UnixDatagram::unbound().unwrap();
    a.connect_addr(&addr).unwrap();
    assert_eq!(a.send(b"one").unwrap(), 3);
    let mut buf = [0u8; 8];
    assert_eq!(b.recv(&mut buf).unwrap(), 3);

    let (x, y) = UnixDatagram::pair().unwrap();
    assert_cloexec(x.as_socket(), "UnixDatagram::pair");
    x.send(b"first").unwrap();
    x.send(b"second").unwrap();
    assert_eq!(y.recv(&mut buf).unwrap(), 5);
    assert_eq!(y.recv(&mut buf).unwrap(), 6);
    y.set_nonblocking(true).unwrap();
    assert!(y.recv(&mut buf).unwrap_err().is_would_block());
    // Datagram sockets keep boundaries and truncate silently on recv.
    x.send(b"longer than four").unwrap();
    assert_eq!(y.recv(&mut buf[..4]).unwrap(), 4);
    assert!(y.recv(&mut buf).unwrap_err().is_would_block());
    let (_, from) = {
        x.send(b"z").unwrap();
        y.recv_from(&mut buf).unwrap()
    };
    assert!(from.is_unnamed());
}

#[test]
fn conversions_with_std() {
    let (a, b) = UnixStream::pair().unwrap();
    let std_a = std::os::unix::net::UnixStream::from(a);
    let b = std::os::unix::net::UnixStream::from(b);
    let mut a = UnixStream::from(std_a);
    a.write_all(b"x").unwrap();
    let mut b = UnixStream::from(b);
    let mut one = [0u8; 1];
    b.read_exact(&mut one).unwrap();
    assert_eq!(&one, b"x");

    let addr = SockAddr::abstract_name(unique_name("conv_listener")).unwrap();
    let l = UnixListener::bind_addr(&addr).unwrap();
    let std_l = std::os::unix::net::UnixListener::from(l);
    let l = UnixListener::from(std_l);
    assert_eq!(l.local_addr().unwrap(), addr);

    let (d, _e) = UnixDatagram::pair().unwrap();
    let std_d = std::os::unix::net::UnixDatagram::from(d);
    let d = UnixDatagram::from(std_d);
    assert!(d.local_addr().unwrap().is_unnamed());
    d.close().unwrap();
}
