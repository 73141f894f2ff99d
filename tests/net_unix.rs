//! `UnixListener`, `UnixStream` and `UnixDatagram` with file-system paths
//! (in a per-test temp dir) and Linux abstract names (unique per process and
//! test).

mod util;

use std::io::{self, Read, Write};
use std::net::Shutdown;

use sockpoll::{Domain, SockAddr, Socket, Type, UnixDatagram, UnixListener, UnixStream};
use util::net::*;

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

/// A Unix stream listener at `path` whose backlog is already full: one
/// connection is queued and never accepted (Linux queues backlog + 1).
/// Returns the listener and the queued client, which must stay open.
fn full_unix_listener(path: &std::path::Path) -> (Socket, Socket) {
    let listener = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    listener.bind(&SockAddr::unix(path).unwrap()).unwrap();
    listener.listen(0).unwrap();
    let filler = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    filler.connect(&SockAddr::unix(path).unwrap()).unwrap();
    (listener, filler)
}

// A blocking AF_UNIX connect waiting for backlog room and interrupted by a
// handled signal (SO_SNDTIMEO set, so SA_RESTART does not restart it) is
// abandoned by the kernel: polling the socket then shows POLLOUT|POLLHUP
// and SO_ERROR 0 on a socket that is not connected (peer_addr: ENOTCONN).
// `connect` must start it again, never report it connected.
#[test]
fn an_interrupted_unix_connect_is_retried_and_never_reports_a_false_success() {
    use nix::sys::signal::Signal;
    use sockpoll_conformance::support::ThreadHandle;
    use std::sync::atomic::AtomicBool;
    use std::sync::{mpsc, Arc};
    use std::time::{Duration, Instant};

    signal_hook::flag::register(
        signal_hook::consts::SIGUSR2,
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let dir = TempDir::new("eintr_connect");
    let path = dir.join("s.sock");
    let (listener, _filler) = full_unix_listener(&path);

    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let target = SockAddr::unix(&path).unwrap();
    let client = std::thread::spawn(move || {
        let s = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
        tid_tx.send(ThreadHandle::current()).unwrap();
        let result = s.connect(&target).map(|()| s.peer_addr());
        done_tx.send(()).unwrap();
        (result, s)
    });
    let tid = tid_rx.recv().unwrap();
    // Interrupt the blocked connect many times (bounded: 30 × 10 ms). The
    // old code returned at the first one.
    let mut done = false;
    for _ in 0..30 {
        std::thread::sleep(Duration::from_millis(10));
        if done_rx.try_recv().is_ok() {
            done = true;
            break;
        }
        tid.signal(Signal::SIGUSR2).unwrap();
    }
    // Make room: the retried connect can now complete.
    let (_first, _) = listener.accept().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done {
        done = done_rx.try_recv().is_ok();
        assert!(done || Instant::now() < deadline, "connect never completed");
        std::thread::sleep(Duration::from_millis(5));
    }
    let (result, s) = client.join().unwrap();
    let peer = result
        .expect("connect")
        .expect("a connected socket has a peer");
    assert_eq!(peer, SockAddr::unix(&path).unwrap());
    s.send(b"x").unwrap();
    let (second, _) = listener.accept().unwrap();
    let mut buf = [0u8; 1];
    assert_eq!(second.recv(&mut buf).unwrap(), 1);
}

// Documents the kernel's convention: a non-blocking AF_UNIX connect to a
// full backlog is EAGAIN (nothing started), never EINPROGRESS.
#[test]
fn a_nonblocking_unix_connect_to_a_full_backlog_would_block_and_is_not_in_progress() {
    let dir = TempDir::new("full_backlog_nb");
    let path = dir.join("s.sock");
    let (_listener, _filler) = full_unix_listener(&path);
    let s = Socket::new_nonblocking(Domain::UNIX, Type::STREAM, None).unwrap();
    let err = s.connect(&SockAddr::unix(&path).unwrap()).unwrap_err();
    assert!(err.is_would_block(), "{err}");
    assert!(!err.is_in_progress(), "{err}");
}

// connect_timeout on a Unix socket to a full backlog waits for its timeout
// (not WouldBlock after microseconds).
#[test]
fn unix_connect_timeout_waits_for_the_whole_timeout_then_times_out() {
    use std::time::{Duration, Instant};
    let dir = TempDir::new("full_backlog_timeout");
    let path = dir.join("s.sock");
    let (_listener, _filler) = full_unix_listener(&path);
    let s = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    let timeout = Duration::from_millis(200);
    let start = Instant::now();
    let err = s
        .connect_timeout(&SockAddr::unix(&path).unwrap(), timeout)
        .unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
    assert!(took >= timeout, "gave up early, after {took:?}");
    assert!(err.to_string().contains("s.sock"), "{err}");
    // The socket is as it was: blocking, no send timeout.
    assert!(!s.nonblocking().unwrap());
    assert_eq!(s.write_timeout().unwrap(), None);
}

// The same from the other side: room appears while connect_timeout waits,
// and the connect then succeeds.
#[test]
fn unix_connect_timeout_connects_once_the_backlog_has_room() {
    use std::time::Duration;
    let dir = TempDir::new("full_backlog_room");
    let path = dir.join("s.sock");
    let (listener, _filler) = full_unix_listener(&path);
    let s = Socket::new_nonblocking(Domain::UNIX, Type::STREAM, None).unwrap();
    let acceptor = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let first = listener.accept().unwrap();
        (listener, first)
    });
    s.connect_timeout(&SockAddr::unix(&path).unwrap(), Duration::from_secs(20))
        .expect("connects once room frees");
    assert_eq!(s.peer_addr().unwrap(), SockAddr::unix(&path).unwrap());
    assert!(s.nonblocking().unwrap(), "non-blocking mode restored");
    drop(acceptor.join().unwrap());
}

#[test]
fn unix_datagram_connects_to_a_path_and_peeks() {
    let dir = TempDir::new("dgram_connect_peek");
    let server_path = dir.join("server.sock");
    let server = UnixDatagram::bind(&server_path).unwrap();
    let client = UnixDatagram::bind(dir.join("client.sock")).unwrap();
    client.connect(&server_path).unwrap();
    client.send(b"one").unwrap();
    let mut buf = [0u8; 8];
    let (n, from) = server.peek_from(&mut buf).unwrap();
    assert_eq!(
        (&buf[..n], from.as_unix_path()),
        (&b"one"[..], Some(dir.join("client.sock").as_path()))
    );
    // Peeking left it queued.
    let (n, _) = server.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"one");
    server
        .send_to(b"two", &client.local_addr().unwrap())
        .unwrap();
    assert_eq!(client.peek(&mut buf).unwrap(), 3);
    assert_eq!(client.recv(&mut buf).unwrap(), 3);
    assert_eq!(&buf[..3], b"two");
    let err = client.connect(dir.join("nobody.sock")).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
    assert_eq!(
        UnixDatagram::unbound()
            .unwrap()
            .connect("")
            .unwrap_err()
            .kind(),
        io::ErrorKind::InvalidInput
    );
}

/// A blocking Unix connect to a full backlog, bounded by a write timeout
/// (`SO_SNDTIMEO`), keeps that bound when signals keep interrupting it: it
/// ends with the kernel's `EAGAIN` near the timeout instead of starting the
/// whole timeout again after every signal.
#[test]
fn an_interrupted_unix_connect_keeps_its_write_timeout() {
    let dir = TempDir::new("eintr_sndtimeo");
    let path = dir.join("s.sock");
    let (_listener, _filler) = full_unix_listener(&path);
    let target = SockAddr::unix(&path).unwrap();
    let timeout = std::time::Duration::from_millis(300);
    let (result, took) = util::signals::interrupted_every(
        std::time::Duration::from_millis(20),
        std::time::Duration::from_secs(10),
        move || {
            let s = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
            s.set_write_timeout(Some(timeout)).unwrap();
            let r = s.connect(&target).map_err(|e| e.kind());
            // The socket's own timeout is as it was.
            assert_eq!(s.write_timeout().unwrap(), Some(timeout));
            r
        },
    )
    .expect("the connect outlived its write timeout by seconds");
    assert_eq!(
        result,
        Err(std::io::ErrorKind::WouldBlock),
        "after {took:?}"
    );
    assert!(took >= timeout, "{took:?}");
    assert!(took < timeout * 4, "{took:?}");
}
