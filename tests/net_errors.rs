//! Errors: no SIGPIPE on a send to a dead peer (every send uses
//! `MSG_NOSIGNAL`), the typed busy-port error and its trip through
//! `io::Error` and back, and the helpers on `Error`.

mod util;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use nix::sys::pthread::{pthread_kill, pthread_self};
use nix::sys::signal::{SigSet, Signal};
use sockpoll::{Domain, Error, SockAddr, Socket, TcpListener, TcpStream, Type, UdpSocket};
use util::net::*;

/// Whether SIGPIPE is pending for the calling thread (`SigPnd` in
/// `/proc/thread-self/status`, a hex mask with bit `signo - 1`).
fn sigpipe_pending_here() -> bool {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("SigPnd:"))
        .unwrap()
        .trim();
    let mask = u64::from_str_radix(hex, 16).unwrap();
    mask & (1 << (Signal::SIGPIPE as i32 - 1)) != 0
}

/// Sends to a peer that is gone until the send fails (bounded), on a thread
/// that blocks SIGPIPE so that a SIGPIPE the kernel raised would stay
/// pending where we can see it. (Rust's runtime ignores SIGPIPE, so merely
/// surviving would prove nothing; Linux keeps a blocked signal pending even
/// when its disposition is "ignore".) The thread's mask is its own: other
/// tests are not affected.
fn assert_send_fails_without_sigpipe(send: impl Fn() -> sockpoll::Result<usize>) {
    let mut set = SigSet::empty();
    set.add(Signal::SIGPIPE);
    set.thread_block().unwrap();

    // The detector works: a SIGPIPE sent to this thread shows as pending,
    // and waiting for it consumes it.
    pthread_kill(pthread_self(), Signal::SIGPIPE).unwrap();
    assert!(sigpipe_pending_here(), "the SigPnd detector does not work");
    assert_eq!(set.wait().unwrap(), Signal::SIGPIPE);
    assert!(!sigpipe_pending_here());

    let mut last = None;
    for _ in 0..1000 {
        match send() {
            Ok(_) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let err = last.expect("sending to a dead peer never failed");
    let raised = sigpipe_pending_here();
    if raised {
        set.wait().unwrap();
    }
    set.thread_unblock().unwrap();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
    assert!(!raised, "send raised SIGPIPE (MSG_NOSIGNAL missing)");
}

#[test]
fn send_to_a_reset_peer_is_an_error_and_raises_no_sigpipe() {
    std::thread::spawn(|| {
        let (c, s) = tcp_pair(Domain::IPV4);
        s.set_linger(Some(Duration::ZERO)).unwrap();
        drop(s); // RST
        assert_send_fails_without_sigpipe(|| c.send(b"into the void"));
    })
    .join()
    .unwrap();
}

#[test]
fn send_to_a_closed_peer_is_an_error_and_raises_no_sigpipe() {
    std::thread::spawn(|| {
        let (c, s) = tcp_pair(Domain::IPV6);
        drop(s); // FIN; the first send draws an RST, a later one EPIPE
        assert_send_fails_without_sigpipe(|| c.send(b"still talking"));
    })
    .join()
    .unwrap();
}

#[test]
fn vectored_and_io_write_to_a_closed_peer_raise_no_sigpipe() {
    std::thread::spawn(|| {
        let (c, s) = Socket::pair(Domain::UNIX, Type::STREAM, None).unwrap();
        drop(s);
        assert_send_fails_without_sigpipe(|| c.send_vectored(&[io::IoSlice::new(b"v")]));
        let (c, s) = TcpStream::pair_for_test();
        drop(s);
        assert_send_fails_without_sigpipe(|| io::Write::write(&mut &c, b"w").map_err(Error::from));
    })
    .join()
    .unwrap();
}

/// A connected TCP stream pair through the typed API.
trait PairForTest {
    fn pair_for_test() -> (TcpStream, TcpStream);
}

impl PairForTest for TcpStream {
    fn pair_for_test() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (c, s)
    }
}

#[test]
fn busy_port_error_names_the_address_and_survives_io_error() {
    let first = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = first.local_addr().unwrap();
    let err = TcpListener::bind(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert_eq!(err.call(), "bind");
    assert_eq!(
        err.raw_os_error(),
        Some(nix::errno::Errno::EADDRINUSE as i32)
    );
    let text = err.to_string();
    // The C library's words for the errno (glibc: "Address already in
    // use", musl: "Address in use").
    let words = io::Error::from_raw_os_error(nix::errno::Errno::EADDRINUSE as i32).to_string();
    let words = words.split(" (os error").next().unwrap().to_owned();
    assert!(text.contains(&addr.to_string()), "{text}");
    assert!(text.contains(&words), "{text}");
    assert!(text.starts_with(&format!("bind {addr}: ")), "{text}");
    let Error::Os { subject, .. } = &err else {
        panic!("expected Os, got {err:?}")
    };
    assert_eq!(*subject, sockpoll::Subject::Addr(SockAddr::from(addr)));

    // Into io::Error: the kind and the message stay.
    let io_err = io::Error::from(err);
    assert_eq!(io_err.kind(), io::ErrorKind::AddrInUse);
    assert!(io_err.to_string().contains(&words));
    // And back: the same variant, call and subject.
    let back = Error::from(io_err);
    assert_eq!(back.call(), "bind");
    assert_eq!(back.kind(), io::ErrorKind::AddrInUse);
    assert!(matches!(back, Error::Os { .. }), "{back:?}");
    assert_eq!(back.to_string(), text);

    // UDP and IPv6 say the same.
    let u = UdpSocket::bind("[::1]:0").unwrap();
    let uaddr = u.local_addr().unwrap();
    let err = UdpSocket::bind(uaddr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert!(
        err.to_string().contains(&format!("[::1]:{}", uaddr.port())),
        "{err}"
    );
}

// A foreign io::Error becomes `Error::Io`, which names no call (no made-up
// "io" call).
#[test]
fn a_plain_io_error_becomes_error_io_and_claims_no_call() {
    let e = Error::from(io::Error::from(io::ErrorKind::TimedOut));
    assert!(matches!(e, Error::Io(_)), "{e:?}");
    assert_eq!(e.call(), "unknown");
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    let reset = io::Error::from_raw_os_error(nix::errno::Errno::ECONNRESET as i32);
    let e = Error::from(io::Error::from_raw_os_error(
        nix::errno::Errno::ECONNRESET as i32,
    ));
    assert_eq!(
        e.to_string(),
        reset.to_string(),
        "the io::Error's own message"
    );
    assert_eq!(e.raw_os_error(), Some(nix::errno::Errno::ECONNRESET as i32));
    assert_eq!(e.into_std().raw_os_error(), reset.raw_os_error());
    let e = Error::from(io::Error::from_raw_os_error(
        nix::errno::Errno::EAGAIN as i32,
    ));
    assert!(e.is_would_block());
    assert!(!e.is_in_progress());
    assert!(!e.is_fd_exhausted());
    let e = Error::from(io::Error::from_raw_os_error(
        nix::errno::Errno::EMFILE as i32,
    ));
    assert!(e.is_fd_exhausted());
    let e = Error::from(io::Error::from_raw_os_error(
        nix::errno::Errno::EINPROGRESS as i32,
    ));
    assert!(e.is_in_progress());
}

#[test]
fn would_block_survives_the_round_trip() {
    let (_c, s) = tcp_pair(Domain::IPV4);
    s.set_nonblocking(true).unwrap();
    let err = s.recv(&mut [0u8; 1]).unwrap_err();
    assert!(err.is_would_block());
    let io_err = io::Error::from(err);
    assert_eq!(io_err.kind(), io::ErrorKind::WouldBlock);
    let back = Error::from(io_err);
    assert!(back.is_would_block());
    assert_eq!(back.call(), "recv");
}

#[test]
fn invalid_input_and_resolve_errors_keep_their_variant_through_io_error() {
    let err = SockAddr::unix("").unwrap_err();
    let back = Error::from(io::Error::from(err));
    assert!(matches!(back, Error::InvalidInput { .. }), "{back:?}");
    assert_eq!(back.call(), "sockaddr_un");
    assert_eq!(back.raw_os_error(), None);

    let err = TcpListener::bind("nonexistent.invalid:0").unwrap_err();
    let kind = err.kind();
    let back = Error::from(io::Error::from(err));
    assert!(matches!(back, Error::Resolve(_)), "{back:?}");
    assert_eq!(back.kind(), kind);
}

#[test]
fn connection_refused_names_the_address() {
    let addr = closed_port_v4().as_socket().unwrap();
    let err = TcpStream::connect(addr).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    let err = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused);
    let zero: SocketAddr = addr;
    let err = TcpStream::connect_timeout(&zero, Duration::ZERO).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn error_is_send_sync_and_a_std_error() {
    fn check<E: std::error::Error + Send + Sync + 'static>() {}
    check::<Error>();
    let err = TcpListener::bind("localhost").unwrap_err();
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
    assert!(boxed.to_string().contains("localhost"));
}

// `io::Read`/`io::Write` on sockets give the bare OS error, as std's
// sockets do, so that code ported from std that checks errno sees it on a
// reset (an `io::Error::new(kind, sockpoll::Error)` would say None).
#[test]
fn std_read_and_write_keep_errno_on_a_reset() {
    use std::io::{Read, Write};
    let reset = nix::errno::Errno::ECONNRESET as i32;
    for typed in [false, true] {
        let (c, s) = tcp_pair(Domain::IPV4);
        set_timeouts(&s);
        c.set_linger(Some(Duration::ZERO)).unwrap();
        c.close().unwrap(); // RST
        let mut buf = [0u8; 8];
        let err = if typed {
            let mut stream = TcpStream::from(std::os::fd::OwnedFd::from(s));
            let err = stream.read(&mut buf).unwrap_err();
            let werr = (0..100)
                .find_map(|_| stream.write(b"x").err())
                .expect("writes to a reset connection fail");
            assert!(werr.raw_os_error().is_some(), "write: {werr:?}");
            err
        } else {
            let err = (&s).read(&mut buf).unwrap_err();
            let werr = (0..100)
                .find_map(|_| (&s).write(b"x").err())
                .expect("writes to a reset connection fail");
            assert!(werr.raw_os_error().is_some(), "write: {werr:?}");
            err
        };
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        assert_eq!(err.raw_os_error(), Some(reset), "typed={typed}: {err:?}");
    }
    // The crate's own methods say which call, and expose errno too.
    let (c, s) = tcp_pair(Domain::IPV4);
    set_timeouts(&s);
    c.set_linger(Some(Duration::ZERO)).unwrap();
    c.close().unwrap();
    let err = s.recv(&mut [0u8; 8]).unwrap_err();
    assert_eq!(err.call(), "recv");
    assert_eq!(err.raw_os_error(), Some(reset));
}
