//! The single-threaded cases: levels, modes, errors, closed and reused fds,
//! timeouts, wakers, signals, socket kinds, capacities, bursts.

use std::io::{self, ErrorKind, Write};
use std::net::UdpSocket;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sockpoll::event::{Events, Interest, Mode, Selector, Token, Waker};
use sockpoll::{Domain, Error, Result};

use super::{make, readable, writable, EEXIST};
use crate::support::net::nonblocking_tcp_pair;
use crate::support::*;
use crate::Capabilities;

/// The declaration matches what the backend says of itself: its name (if
/// declared), level and oneshot supported, the edge modes as declared, the
/// fd limit as declared, a timeout resolution above zero and no coarser
/// than declared.
pub fn declared_capabilities_match<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let name = sel.name();
    assert!(!name.is_empty(), "an empty name");
    assert!(
        sel.supports(Mode::Level),
        "{name}: Mode::Level is the contract"
    );
    assert!(
        sel.supports(Mode::Oneshot),
        "{name}: Mode::Oneshot is the contract"
    );
    assert_eq!(
        sel.supports(Mode::Edge),
        caps.edge,
        "{name}: supports(Mode::Edge) against the declared capabilities"
    );
    assert_eq!(
        sel.supports(Mode::EdgeOneshot),
        caps.edge_oneshot,
        "{name}: supports(Mode::EdgeOneshot) against the declared capabilities"
    );
    let resolution = sel.timeout_resolution();
    assert!(resolution > Duration::ZERO, "{name}: zero resolution");
    assert!(
        resolution <= caps.max_timeout_resolution,
        "{name}: resolution {resolution:?}, declared at most {:?}",
        caps.max_timeout_resolution
    );
    assert_eq!(
        sel.fd_limit(),
        caps.fd_limit,
        "{name}: fd_limit() against the declared capabilities"
    );
}

/// Level mode reports a readable fd on every `wait` until it is drained, then
/// nothing.
pub fn level_refires_until_drained<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let (mut a, mut b) = uds_pair();
    let mut ev = Events::with_capacity(8);
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    expect_no_event(&sel, &mut ev, Token(1));
    b.write_all(b"ping").unwrap();
    for _ in 0..3 {
        let e = expect_event(&sel, &mut ev, Token(1), readable, SOON);
        assert!(
            !e.is_read_closed() && !e.is_error() && !e.is_invalid(),
            "{e:?}"
        );
    }
    drain(&mut a);
    expect_no_event(&sel, &mut ev, Token(1));
    sel.deregister(a.as_fd()).unwrap();
}

/// A `WRITABLE` interest reports writable and nothing it was not asked for;
/// `READABLE | WRITABLE` reports both.
pub fn writable_and_both<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let (a, mut b) = uds_pair();
    let mut ev = Events::with_capacity(8);
    sel.register(a.as_fd(), Token(7), Interest::WRITABLE, Mode::Level)
        .unwrap();
    let e = expect_event(&sel, &mut ev, Token(7), writable, SOON);
    assert!(!e.is_readable(), "not asked for: {e:?}");
    b.write_all(b"x").unwrap();
    sel.reregister(
        a.as_fd(),
        Token(8),
        Interest::READABLE | Interest::WRITABLE,
        Mode::Level,
    )
    .unwrap();
    expect_event(
        &sel,
        &mut ev,
        Token(8),
        |e| readable(e) && writable(e),
        SOON,
    );
}

/// `reregister` changes the token and the interest: only the new ones are
/// reported.
pub fn reregister_changes_token_and_interest<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let (a, _b) = uds_pair();
    let mut ev = Events::with_capacity(8);
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    sel.reregister(a.as_fd(), Token(2), Interest::WRITABLE, Mode::Level)
        .unwrap();
    let got = collect(&sel, &mut ev, QUIET);
    assert!(!got.is_empty(), "{}: writable expected", sel.name());
    for e in &got {
        assert_eq!(e.token(), Token(2), "{e:?}");
        assert!(e.is_writable() && !e.is_readable(), "{e:?}");
    }
}

/// `Mode::Oneshot` reports once, then nothing until `reregister` re-arms it
/// (oneshot again, or level).
pub fn oneshot_fires_once_then_rearms<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let (_a, mut b) = uds_pair();
    let (mut c, _d) = uds_pair();
    let mut ev = Events::with_capacity(8);
    // c stays readable: oneshot must still report it only once.
    sel.register(_a.as_fd(), Token(3), Interest::READABLE, Mode::Oneshot)
        .unwrap();
    b.write_all(b"data").unwrap();
    let got = collect(&sel, &mut ev, Duration::from_millis(100));
    let ours = got.iter().filter(|e| e.token() == Token(3)).count();
    assert_eq!(ours, 1, "{}: oneshot fired {ours} times", sel.name());
    expect_no_event(&sel, &mut ev, Token(3));
    sel.reregister(_a.as_fd(), Token(4), Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_event(&sel, &mut ev, Token(4), readable, SOON);
    expect_no_event(&sel, &mut ev, Token(4));
    // Re-arm into level mode: fires repeatedly again.
    sel.reregister(_a.as_fd(), Token(5), Interest::READABLE, Mode::Level)
        .unwrap();
    expect_event(&sel, &mut ev, Token(5), readable, SOON);
    expect_event(&sel, &mut ev, Token(5), readable, SOON);
    drain(&mut c);
}

/// `Mode::Edge` reports once per edge where declared; elsewhere
/// `register` and `reregister` into it are a typed `Unsupported` naming the
/// call, the backend and the mode, and nothing is registered.
pub fn edge_once_per_edge_or_unsupported<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let name = sel.name();
    let (a, mut b) = uds_pair();
    let mut ev = Events::with_capacity(8);
    assert_eq!(
        sel.supports(Mode::Edge),
        caps.edge,
        "{name}: supports(Mode::Edge)"
    );
    let res = sel.register(a.as_fd(), Token(9), Interest::READABLE, Mode::Edge);
    if !caps.edge {
        assert_unsupported(res, name, "register", "Mode::Edge");
        let err = sel
            .register(a.as_fd(), Token(9), Interest::READABLE, Mode::Edge)
            .unwrap_err();
        assert!(err.to_string().contains(name), "{err}");
        // Nothing was registered.
        let err = sel.deregister(a.as_fd()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        // And reregister into Edge is refused the same way, naming itself
        // (`Error::call()` once said "register" for both).
        sel.register(a.as_fd(), Token(9), Interest::READABLE, Mode::Level)
            .unwrap();
        let res = sel.reregister(a.as_fd(), Token(9), Interest::READABLE, Mode::Edge);
        assert_unsupported(res, name, "reregister", "Mode::Edge");
        let err = sel
            .reregister(a.as_fd(), Token(9), Interest::READABLE, Mode::Edge)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Unsupported {
                    call: "reregister",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(name), "{err}");
        return;
    }
    res.unwrap_or_else(|e| panic!("{name}: declares Mode::Edge but refused it: {e}"));
    b.write_all(b"1").unwrap();
    let got = collect(&sel, &mut ev, Duration::from_millis(100));
    assert_eq!(got.iter().filter(|e| e.token() == Token(9)).count(), 1);
    // Not drained, no new edge: silence.
    expect_no_event(&sel, &mut ev, Token(9));
    b.write_all(b"2").unwrap();
    expect_event(&sel, &mut ev, Token(9), readable, SOON);
}

/// A second `register` of a file is `AlreadyExists` (errno `EEXIST`);
/// `deregister`/`reregister` of an unregistered fd is `NotFound`; the kinds
/// survive the conversion to `io::Error`.
pub fn already_exists_and_not_found<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let (a, b) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    let err = sel
        .register(a.as_fd(), Token(2), Interest::WRITABLE, Mode::Level)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    assert_eq!(err.raw_os_error(), Some(EEXIST));
    let err = sel.deregister(b.as_fd()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    let err = sel
        .reregister(b.as_fd(), Token(3), Interest::READABLE, Mode::Level)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    sel.deregister(a.as_fd()).unwrap();
    let err = sel.deregister(a.as_fd()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // Registering again after deregister works.
    sel.register(a.as_fd(), Token(4), Interest::READABLE, Mode::Level)
        .unwrap();
    // io::Error keeps the kind.
    let io_err: io::Error = sel
        .register(a.as_fd(), Token(4), Interest::READABLE, Mode::Level)
        .unwrap_err()
        .into();
    assert_eq!(io_err.kind(), ErrorKind::AlreadyExists);
}

/// A peer that closes (Unix stream) or shuts down its write side (TCP over
/// IPv4, and IPv6 where available, with data queued before the FIN) makes the
/// fd readable and read-closed.
pub fn peer_close_is_read_closed<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    // Unix stream: peer closes.
    let (a, b) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    drop(b);
    expect_event(
        &sel,
        &mut ev,
        Token(1),
        |e| e.is_readable() && e.is_read_closed(),
        SOON,
    );
    // TCP: peer shuts down its write side only.
    let (client, server) = nonblocking_tcp_pair(Domain::IPV4);
    sel.register(server.as_fd(), Token(2), Interest::READABLE, Mode::Level)
        .unwrap();
    expect_no_event(&sel, &mut ev, Token(2));
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let e = expect_event(&sel, &mut ev, Token(2), |e| e.is_read_closed(), SOON);
    assert!(e.is_readable() && !e.is_invalid(), "{e:?}");
    // IPv6 loopback too, with data queued before the FIN.
    if let Ok(l) = std::net::TcpListener::bind("[::1]:0") {
        drop(l);
        let (mut client, mut server) = nonblocking_tcp_pair(Domain::IPV6);
        sel.register(server.as_fd(), Token(3), Interest::READABLE, Mode::Level)
            .unwrap();
        client.write_all(b"bye").unwrap();
        client.shutdown(std::net::Shutdown::Write).unwrap();
        expect_event(&sel, &mut ev, Token(3), readable, SOON);
        drain(&mut server);
        expect_event(&sel, &mut ev, Token(3), |e| e.is_read_closed(), SOON);
    }
}

/// A reset connection (`SO_LINGER` 0) is readable and read-closed, perhaps with
/// error, never invalid.
pub fn reset_is_error_or_read_closed<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    let (client, server) = nonblocking_tcp_pair(Domain::IPV4);
    sel.register(server.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    client.set_linger(Some(Duration::ZERO)).unwrap();
    drop(client); // RST
    let e = expect_event(
        &sel,
        &mut ev,
        Token(1),
        |e| e.is_readable() && (e.is_error() || e.is_read_closed()),
        SOON,
    );
    assert!(!e.is_invalid(), "{e:?}");
    // The common contract: read-closed on every backend.
    assert!(e.is_read_closed(), "{}: {e:?}", sel.name());
}

/// An fd closed while registered is reported invalid at most once, never spins
/// the wait, never reports another file under its token; once its number is
/// reused, the new file registers as usual.
pub fn closed_registered_fd_does_not_spin<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    let (a, b) = uds_pair();
    let (c, d) = uds_pair();
    let number = a.as_fd().as_raw_fd();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    sel.register(c.as_fd(), Token(2), Interest::READABLE, Mode::Level)
        .unwrap();
    drop(a); // closed while registered: the bug being survived
    drop(b);
    let start = Instant::now();
    let mut invalid = 0;
    let mut waits = 0;
    while start.elapsed() < Duration::from_millis(300) && waits < 1000 {
        waits += 1;
        sel.wait(&mut ev, Some(Duration::from_millis(50))).unwrap();
        while let Some(e) = sel.next_event(&mut ev) {
            assert_eq!(e.token(), Token(1), "{e:?}");
            // Only "invalid", once. Even if a test running in parallel took
            // the number before a wait saw it closed, its file's readiness
            // is never reported under the old token (poll and select check
            // the file's identity; epoll dropped the closed file).
            assert!(
                e.is_invalid(),
                "{}: old token for another file: {e:?}",
                sel.name()
            );
            invalid += 1;
        }
    }
    assert!(
        invalid <= 1,
        "{}: invalid reported {invalid} times",
        sel.name()
    );
    // No spin: each quiet wait took its 50ms, so few waits in 300ms.
    assert!(
        waits <= 10,
        "{}: {waits} waits in 300ms: spinning",
        sel.name()
    );
    // The other registration still works.
    drop(d);
    expect_event(&sel, &mut ev, Token(2), |e| e.is_read_closed(), SOON);
    // Once we hold an fd with that number again (bounded attempts; other
    // tests run in parallel and may take the number first), the new file is
    // not watched under the old token — poll and select stopped watching the
    // number when they reported it invalid, or drop the event when the
    // file's identity differs; epoll watched the closed file —
    // and registering it succeeds: the stale registration is replaced.
    let mut held = Vec::new();
    for _ in 0..256 {
        let (x, y) = uds_pair();
        let hit = [&x, &y]
            .into_iter()
            .position(|s| s.as_fd().as_raw_fd() == number);
        held.push((x, y));
        if let Some(i) = hit {
            let (x, y) = held.last().unwrap();
            let (fd, mut peer) = if i == 0 {
                (x.as_fd(), y)
            } else {
                (y.as_fd(), x)
            };
            peer.write_all(b"x").unwrap();
            // Whether or not a wait saw the number closed (parallel tests
            // may take it first), the new file is not watched under the
            // old token.
            expect_no_event(&sel, &mut ev, Token(1));
            sel.register(fd, Token(3), Interest::WRITABLE, Mode::Level)
                .unwrap();
            expect_event(&sel, &mut ev, Token(3), writable, SOON);
            let err = sel
                .register(fd, Token(4), Interest::READABLE, Mode::Level)
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
            sel.deregister(fd).unwrap();
            return;
        }
    }
    eprintln!("{}: fd {number} was not reused in 256 tries", sel.name());
}

/// A socket closed without `deregister` whose number a new socket takes
/// before any `wait` saw it closed: the new socket's readiness is never
/// reported under the old token, on any backend (poll and select compare
/// the file's identity at each event; epoll dropped the closed file).
pub fn reused_number_is_never_reported_under_the_old_token<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    let (a, _a_peer) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    let (b, mut b_peer) = reuse_number(a);
    b_peer.write_all(b"someone else's").unwrap();
    let old: Vec<_> = collect(&sel, &mut ev, QUIET)
        .into_iter()
        .filter(|e| e.token() == Token(1))
        .collect();
    assert!(old.is_empty(), "{}: {old:?}", sel.name());
    // Registering the new socket then works as usual.
    sel.register(b.as_fd(), Token(2), Interest::READABLE, Mode::Level)
        .unwrap();
    expect_event(&sel, &mut ev, Token(2), readable, SOON);
    sel.deregister(b.as_fd()).unwrap();
}

/// The same after a `reregister` (oneshot's re-arm, which `poll` and
/// `uring` make without a system call): a socket re-registered, then closed
/// without `deregister`, its number reused by a new socket — the new one's
/// readiness never comes under the old token, and registering it succeeds,
/// with or without a `wait` in between.
pub fn reused_number_after_reregister_is_never_reported_under_the_old_token<
    S: Selector,
    F: Fn() -> Result<S>,
>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let name = sel.name();
    let mut ev = Events::with_capacity(8);
    for wait_between in [true, false] {
        let (a, _a_peer) = uds_pair();
        sel.register(a.as_fd(), Token(1), Interest::WRITABLE, Mode::Oneshot)
            .unwrap();
        expect_event(&sel, &mut ev, Token(1), writable, SOON);
        sel.reregister(a.as_fd(), Token(1), Interest::WRITABLE, Mode::Oneshot)
            .unwrap();
        let (b, _b_peer) = reuse_number(a);
        if wait_between {
            let old: Vec<_> = collect(&sel, &mut ev, QUIET)
                .into_iter()
                .filter(|e| e.token() == Token(1))
                .collect();
            assert!(
                old.is_empty(),
                "{name}: another file under the old token: {old:?}"
            );
        }
        sel.register(b.as_fd(), Token(2), Interest::WRITABLE, Mode::Level)
            .unwrap_or_else(|e| panic!("{name}: wait_between {wait_between}: {e}"));
        let got = collect(&sel, &mut ev, QUIET);
        assert!(
            got.iter().any(|e| e.token() == Token(2)) && got.iter().all(|e| e.token() == Token(2)),
            "{name}: {got:?}"
        );
        sel.deregister(b.as_fd()).unwrap();
    }
}

/// A socket closed without `deregister`, its number reused by a new one:
/// registering the new socket succeeds, replaces the stale registration,
/// and only the new token is ever delivered — not even the old
/// registration's events collected before the reuse. Registering the same
/// socket twice is still `AlreadyExists`.
pub fn reused_number_registers_afresh<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    let (a, mut a_peer) = uds_pair();
    let number = a.as_fd().as_raw_fd();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    a_peer.write_all(b"old").unwrap();
    // A batch holding the old registration's event, not yet handed out.
    let deadline = Instant::now() + SOON;
    while !ev.iter().any(|e| e.token() == Token(1)) && Instant::now() < deadline {
        sel.wait(&mut ev, Some(Duration::from_millis(100))).unwrap();
    }
    assert!(ev.iter().any(|e| e.token() == Token(1)), "{}", sel.name());

    let (b, mut b_peer) = reuse_number(a);
    assert_eq!(b.as_fd().as_raw_fd(), number);
    sel.register(b.as_fd(), Token(2), Interest::READABLE, Mode::Level)
        .unwrap();
    assert_eq!(sel.next_event(&mut ev), None, "{}: stale event", sel.name());

    b_peer.write_all(b"new").unwrap();
    let e = expect_event(&sel, &mut ev, Token(2), readable, SOON);
    assert!(!e.is_invalid(), "{}: {e:?}", sel.name());
    let old: Vec<_> = collect(&sel, &mut ev, QUIET)
        .into_iter()
        .filter(|e| e.token() != Token(2))
        .collect();
    assert!(old.is_empty(), "{}: {old:?}", sel.name());

    let err = sel
        .register(b.as_fd(), Token(3), Interest::WRITABLE, Mode::Level)
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::AlreadyExists,
        "{}: {err}",
        sel.name()
    );
    assert_eq!(err.raw_os_error(), Some(EEXIST));
    // Still the one registration, under its token.
    expect_event(&sel, &mut ev, Token(2), readable, SOON);
    sel.deregister(b.as_fd()).unwrap();
    expect_no_event(&sel, &mut ev, Token(2));
}

/// A registration whose fd the caller no longer has is dropped by number
/// (`deregister_raw`) or by token (`deregister_token`), whether the number
/// is closed or reused by a file nobody registered.
pub fn deregister_raw_and_by_token<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    // Closed: the number may be anyone's by now (tests run in parallel);
    // only this selector's registration is touched.
    let (a, _a_peer) = uds_pair();
    let number = a.as_fd().as_raw_fd();
    sel.register(a.as_fd(), Token(1), Interest::WRITABLE, Mode::Level)
        .unwrap();
    drop(a);
    sel.deregister_raw(number).unwrap();
    let err = sel.deregister_raw(number).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{}: {err}", sel.name());
    expect_no_event(&sel, &mut ev, Token(1));

    // Reused by a file that is not registered: no longer watched under the
    // old token, and free to be registered.
    let (c, _c_peer) = uds_pair();
    let number = c.as_fd().as_raw_fd();
    sel.register(c.as_fd(), Token(4), Interest::READABLE, Mode::Level)
        .unwrap();
    let (d, mut d_peer) = reuse_number(c);
    d_peer.write_all(b"x").unwrap();
    sel.deregister_raw(number).unwrap();
    expect_no_event(&sel, &mut ev, Token(4));
    sel.register(d.as_fd(), Token(5), Interest::READABLE, Mode::Level)
        .unwrap();
    expect_event(&sel, &mut ev, Token(5), readable, SOON);
    // An open, registered fd: deregister_raw is deregister.
    sel.deregister_raw(number).unwrap();
    expect_no_event(&sel, &mut ev, Token(5));
    let err = sel.deregister(d.as_fd()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    // By token: every registration carrying it, closed or not; others stay.
    let (e, _e_peer) = uds_pair();
    let (f, _f_peer) = uds_pair();
    let (g, _g_peer) = uds_pair();
    sel.register(e.as_fd(), Token(6), Interest::WRITABLE, Mode::Level)
        .unwrap();
    sel.register(f.as_fd(), Token(6), Interest::WRITABLE, Mode::Level)
        .unwrap();
    sel.register(g.as_fd(), Token(7), Interest::WRITABLE, Mode::Level)
        .unwrap();
    drop(e);
    assert_eq!(sel.deregister_token(Token(6)).unwrap(), 2, "{}", sel.name());
    let err = sel.deregister_token(Token(6)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{}: {err}", sel.name());
    assert!(err.to_string().contains("token 6"), "{err}");
    let got = collect(&sel, &mut ev, QUIET);
    assert!(got.iter().any(|e| e.token() == Token(7)), "{got:?}");
    assert!(got.iter().all(|e| e.token() == Token(7)), "{got:?}");
    let err = sel
        .register(g.as_fd(), Token(8), Interest::WRITABLE, Mode::Level)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{err}");
    sel.register(f.as_fd(), Token(8), Interest::WRITABLE, Mode::Level)
        .unwrap();
    expect_event(&sel, &mut ev, Token(8), writable, SOON);

    // Look-alikes (Linux): every anonymous-inode fd has the same identity,
    // so an eventfd on the number of a closed one looks like the same file:
    // AlreadyExists, as documented; deregister_raw clears the way.
    #[cfg(target_os = "linux")]
    {
        use nix::sys::eventfd::EventFd;
        use std::os::fd::{AsRawFd, OwnedFd};
        let mut slot = OwnedFd::from(EventFd::new().unwrap());
        let number = slot.as_raw_fd();
        sel.register(slot.as_fd(), Token(10), Interest::READABLE, Mode::Level)
            .unwrap();
        let new = EventFd::from_value(1).unwrap();
        nix::unistd::dup2(&new, &mut slot).expect("dup2");
        drop(new);
        let err = sel
            .register(slot.as_fd(), Token(11), Interest::READABLE, Mode::Level)
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::AlreadyExists,
            "{}: {err}",
            sel.name()
        );
        sel.deregister_raw(number).unwrap();
        sel.register(slot.as_fd(), Token(11), Interest::READABLE, Mode::Level)
            .unwrap();
        expect_event(&sel, &mut ev, Token(11), readable, SOON);
        sel.deregister(slot.as_fd()).unwrap();
    }
}

/// An event of a registration that was deregistered or re-registered after the
/// `wait` that collected it is never handed out by `next_event` (the raw
/// `Events::iter` still shows it).
pub fn stale_events_are_skipped<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    let (a, mut a_peer) = uds_pair();
    let (b, mut b_peer) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    sel.register(b.as_fd(), Token(2), Interest::READABLE, Mode::Level)
        .unwrap();
    a_peer.write_all(b"a").unwrap();
    b_peer.write_all(b"b").unwrap();
    // Wait until one batch holds both.
    let deadline = Instant::now() + SOON;
    loop {
        sel.wait(&mut ev, Some(Duration::from_millis(100))).unwrap();
        if ev.len() >= 2 || Instant::now() > deadline {
            break;
        }
    }
    assert_eq!(ev.len(), 2, "{}: {ev:?}", sel.name());
    let first = sel.next_event(&mut ev).unwrap();
    let other = if first.token() == Token(1) { &b } else { &a };
    // Handling the first event deregisters the other, and registers the same
    // fd number again with a new token: the old event must not come out.
    sel.deregister(other.as_fd()).unwrap();
    sel.register(other.as_fd(), Token(99), Interest::WRITABLE, Mode::Level)
        .unwrap();
    assert_eq!(sel.next_event(&mut ev), None, "{}: stale event", sel.name());
    // The raw view still shows both.
    assert_eq!(ev.iter().count(), 2);
    // Same for reregister.
    sel.wait(&mut ev, Some(SOON)).unwrap();
    let n = ev.len();
    assert!(n >= 1);
    sel.reregister(other.as_fd(), Token(100), Interest::WRITABLE, Mode::Level)
        .unwrap();
    while let Some(e) = sel.next_event(&mut ev) {
        assert_ne!(e.token(), Token(99), "{}: stale {e:?}", sel.name());
    }
    expect_event(&sel, &mut ev, Token(100), writable, SOON);
}

/// `wait(Some(0))` returns at once; a wait with nothing ready never returns
/// before its timeout (1 ns to 50 ms); huge timeouts neither overflow nor
/// panic.
pub fn timeouts<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    let (a, _b) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    // Some(0): at once.
    let t = Instant::now();
    assert_eq!(sel.wait(&mut ev, Some(Duration::ZERO)).unwrap(), 0);
    assert!(t.elapsed() < Duration::from_secs(2));
    // Never early.
    for want in [
        Duration::from_millis(50),
        Duration::from_micros(100),
        Duration::from_micros(1500),
        Duration::from_nanos(1),
    ] {
        let t = Instant::now();
        assert_eq!(sel.wait(&mut ev, Some(want)).unwrap(), 0);
        let took = t.elapsed();
        assert!(
            took >= want,
            "{}: asked {want:?}, took {took:?}",
            sel.name()
        );
    }
    // Huge timeouts do not overflow or panic when something is ready.
    let (c, _d) = uds_pair();
    sel.register(c.as_fd(), Token(2), Interest::WRITABLE, Mode::Level)
        .unwrap();
    for huge in [
        Duration::MAX,
        Duration::from_secs(u64::MAX / 2),
        Duration::from_secs(86_400 * 365 * 100),
        Duration::new(i32::MAX as u64, 999_999_999),
    ] {
        let n = sel.wait(&mut ev, Some(huge)).unwrap();
        assert!(n >= 1);
    }
    assert!(sel.wait(&mut ev, None).unwrap() >= 1);
}

/// A `Waker` woken from another thread ends a `wait(None)`, and after `reset`
/// it is quiet.
pub fn waker_ends_infinite_wait<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    let waker = Arc::new(Waker::new().unwrap());
    sel.register(waker.as_fd(), Token(42), Interest::READABLE, Mode::Level)
        .unwrap();
    let remote = Arc::clone(&waker);
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        remote.wake().unwrap();
    });
    let start = Instant::now();
    let n = sel.wait(&mut ev, None).unwrap();
    assert!(n >= 1);
    assert!(start.elapsed() >= Duration::from_millis(40));
    let e = sel.next_event(&mut ev).unwrap();
    assert_eq!(e.token(), Token(42));
    assert!(e.is_readable());
    t.join().unwrap();
    waker.reset().unwrap();
    expect_no_event(&sel, &mut ev, Token(42));
}

/// A thousand wakes of a `Waker` are one readiness; after `reset` it works
/// again.
pub fn wakes_coalesce<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    let waker = Waker::new().unwrap();
    sel.register(waker.as_fd(), Token(5), Interest::READABLE, Mode::Oneshot)
        .unwrap();
    for _ in 0..1000 {
        waker.wake().unwrap();
    }
    let got = collect(&sel, &mut ev, Duration::from_millis(100));
    assert_eq!(got.len(), 1, "{}: {got:?}", sel.name());
    waker.reset().unwrap();
    sel.reregister(waker.as_fd(), Token(5), Interest::READABLE, Mode::Level)
        .unwrap();
    expect_no_event(&sel, &mut ev, Token(5));
    // Works again after reset.
    waker.wake().unwrap();
    expect_event(&sel, &mut ev, Token(5), readable, SOON);
}

/// `wait_interruptible`: a signal handled by the waiting thread ends the
/// wait with `Interrupted` (bounded or not), long before its timeout; the
/// registrations are untouched and a plain `wait` goes on as usual. Where
/// not declared, the call is a typed `Unsupported`.
pub fn signals_end_an_interruptible_wait<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    use nix::sys::signal::Signal;
    let sel = make(&new, &caps);
    let name = sel.name();
    let mut ev = Events::with_capacity(8);
    if !caps.interruptible {
        let res = sel.wait_interruptible(&mut ev, Some(Duration::ZERO));
        assert_unsupported(res, name, "wait_interruptible", "signal");
        return;
    }
    let flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&flag)).unwrap();
    let (a, mut b) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    for timeout in [Some(Duration::from_secs(10)), None] {
        let me = ThreadHandle::current();
        let done = Arc::new(AtomicBool::new(false));
        let done2 = Arc::clone(&done);
        // Again and again, so that one lands while the wait is in the
        // kernel (one sent just before it would be missed, as documented).
        let killer = std::thread::spawn(move || {
            for _ in 0..250 {
                std::thread::sleep(Duration::from_millis(20));
                if done2.load(Ordering::SeqCst) {
                    break;
                }
                me.signal(Signal::SIGUSR1).unwrap();
            }
        });
        let start = Instant::now();
        let res = sel.wait_interruptible(&mut ev, timeout);
        let took = start.elapsed();
        done.store(true, Ordering::SeqCst);
        killer.join().unwrap();
        let err = res.expect_err("a signal must end the wait");
        assert_eq!(err.kind(), ErrorKind::Interrupted, "{name}: {err}");
        assert!(
            took < Duration::from_secs(5),
            "{name}: {timeout:?}: {took:?}"
        );
        assert!(flag.load(Ordering::SeqCst), "the signal was delivered");
        assert!(ev.is_empty(), "{name}: {ev:?}");
    }
    // Nothing lost: the registration reports as before, on either wait.
    b.write_all(b"x").unwrap();
    assert_eq!(
        sel.wait_interruptible(&mut ev, Some(SOON)).unwrap(),
        1,
        "{name}"
    );
    expect_event(&sel, &mut ev, Token(1), readable, SOON);
    sel.deregister(a.as_fd()).unwrap();
}

/// Signals (`SIGUSR1` sent to the waiting thread) do not end a timed wait
/// early: `EINTR` is retried with the remaining time.
pub fn signals_do_not_end_the_wait<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    use nix::sys::signal::Signal;
    let flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, Arc::clone(&flag)).unwrap();
    let mut ev = Events::with_capacity(8);
    let (a, _b) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    let me = ThreadHandle::current();
    let done = Arc::new(AtomicBool::new(false));
    let done2 = Arc::clone(&done);
    let killer = std::thread::spawn(move || {
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(40));
            if done2.load(Ordering::SeqCst) {
                break;
            }
            me.signal(Signal::SIGUSR1).unwrap();
        }
    });
    let want = Duration::from_millis(300);
    let start = Instant::now();
    let n = sel.wait(&mut ev, Some(want)).unwrap();
    let took = start.elapsed();
    done.store(true, Ordering::SeqCst);
    killer.join().unwrap();
    assert_eq!(n, 0, "{}: {ev:?}", sel.name());
    assert!(took >= want, "{}: returned after {took:?}", sel.name());
    assert!(flag.load(Ordering::SeqCst), "the signal was delivered");
}

/// UDP (an empty datagram is not end of file), Unix datagrams and pipes
/// (readable, writable, then read-closed when the writer goes).
pub fn udp_unix_and_pipes<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    // UDP, including an empty datagram (not EOF, not read-closed).
    let u1 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let u2 = UdpSocket::bind("127.0.0.1:0").unwrap();
    u1.set_nonblocking(true).unwrap();
    sel.register(u1.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    u2.send_to(b"", u1.local_addr().unwrap()).unwrap();
    let e = expect_event(&sel, &mut ev, Token(1), readable, SOON);
    assert!(
        !e.is_read_closed(),
        "{}: empty datagram is not EOF: {e:?}",
        sel.name()
    );
    // Unix datagram.
    let (d1, d2) = UnixDatagram::pair().unwrap();
    sel.register(d1.as_fd(), Token(2), Interest::READABLE, Mode::Level)
        .unwrap();
    d2.send(b"dgram").unwrap();
    expect_event(&sel, &mut ev, Token(2), readable, SOON);
    // Pipe: read end readable, then read-closed when the writer goes away.
    let (mut r, mut w) = pipe();
    sel.register(r.as_fd(), Token(3), Interest::READABLE, Mode::Level)
        .unwrap();
    sel.register(w.as_fd(), Token(4), Interest::WRITABLE, Mode::Level)
        .unwrap();
    expect_event(&sel, &mut ev, Token(4), writable, SOON);
    w.write_all(b"pipe").unwrap();
    let e = expect_event(&sel, &mut ev, Token(3), readable, SOON);
    assert!(!e.is_read_closed(), "{e:?}");
    drain(&mut r);
    sel.deregister(w.as_fd()).unwrap();
    drop(w);
    expect_event(&sel, &mut ev, Token(3), |e| e.is_read_closed(), SOON);
}

/// A listening socket with a pending connection is readable, not read-closed
/// nor error; quiet once accepted.
pub fn listener_is_readable_not_read_closed<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(8);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    sel.register(listener.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    expect_no_event(&sel, &mut ev, Token(1));
    let _client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let e = expect_event(&sel, &mut ev, Token(1), readable, SOON);
    // A pending connection is not end of file (select's FIONREAD check
    // must not mistake a listener for a closed stream).
    assert!(
        !e.is_read_closed() && !e.is_error(),
        "{}: {e:?}",
        sel.name()
    );
    let (accepted, _) = listener.accept().unwrap();
    drop(accepted);
    expect_no_event(&sel, &mut ev, Token(1));
}

/// `Events::with_capacity(0)` holds one event, `wait` collects at most the
/// capacity, and no ready fd is starved across waits.
pub fn events_capacity_and_fairness<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let mut ev = Events::with_capacity(0);
    assert_eq!(ev.capacity(), 1);
    let pairs: Vec<_> = (0..3).map(|_| uds_pair()).collect();
    for (i, (a, _)) in pairs.iter().enumerate() {
        sel.register(a.as_fd(), Token(i), Interest::WRITABLE, Mode::Level)
            .unwrap();
    }
    let mut seen = [0usize; 3];
    for _ in 0..30 {
        let n = sel.wait(&mut ev, Some(SOON)).unwrap();
        assert_eq!(n, 1, "maxevents is the capacity");
        assert_eq!(ev.len(), 1);
        while let Some(e) = sel.next_event(&mut ev) {
            seen[e.token().0] += 1;
        }
    }
    assert!(
        seen.iter().all(|&s| s > 0),
        "{}: starved: {seen:?}",
        sel.name()
    );
    ev.clear();
    assert!(ev.is_empty());
    assert_eq!(sel.next_event(&mut ev), None);
}

/// `Events::with_capacity(usize::MAX)` panicked ("capacity overflow"), and
/// epoll clamped `maxevents` to `c_int::MAX` (the kernel refuses anything
/// above `INT_MAX / sizeof(struct epoll_event)` with EINVAL) after reserving
/// a buffer that size. Every capacity now clamps, works, and costs memory
/// only as registrations need it.
pub fn huge_capacities_clamp_and_work<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let (a, _b) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::WRITABLE, Mode::Level)
        .unwrap();
    for cap in [
        usize::MAX,
        i32::MAX as usize,
        Events::MAX_CAPACITY + 1,
        Events::MAX_CAPACITY,
        100_000,
    ] {
        let mut ev = Events::with_capacity(cap);
        assert_eq!(ev.capacity(), cap.min(Events::MAX_CAPACITY));
        for _ in 0..2 {
            let n = sel.wait(&mut ev, Some(SOON)).unwrap();
            assert_eq!(n, 1, "{}: capacity {cap}", sel.name());
            let e = sel.next_event(&mut ev).unwrap();
            assert_eq!(e.token(), Token(1));
        }
    }
    #[cfg(target_os = "linux")]
    assert_eq!(
        Events::MAX_CAPACITY,
        i32::MAX as usize
            / if cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
                12
            } else {
                16
            }
    );
}

/// `Debug` of interests and events prints constant names (`READABLE |
/// WRITABLE`, `Token(6)`, `READ_CLOSED`).
pub fn debug_output<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    assert_eq!(
        format!("{:?}", Interest::READABLE | Interest::WRITABLE),
        "READABLE | WRITABLE"
    );
    assert_eq!(format!("{:?}", Interest::WRITABLE), "WRITABLE");
    let (a, b) = uds_pair();
    let mut ev = Events::with_capacity(4);
    sel.register(a.as_fd(), Token(6), Interest::READABLE, Mode::Level)
        .unwrap();
    drop(b);
    let e = expect_event(&sel, &mut ev, Token(6), |e| e.is_read_closed(), SOON);
    let s = format!("{e:?}");
    assert!(s.contains("Token(6)") && s.contains("READABLE | "), "{s}");
    assert!(s.contains("READ_CLOSED"), "{s}");
}

/// A burst: 1,000 registered fds made ready together (all written to
/// before the wait) are all reported by one `wait` whose `Events` has room
/// for them, on every backend — none is left for a later wait. (io_uring
/// rings that defer their completions post only a few per system call:
/// the backend must keep asking until the kernel has none left.) Where the
/// backend declares an fd limit, as many as fit under it.
pub fn a_burst_is_reported_by_one_wait<S: Selector, F: Fn() -> Result<S>>(
    new: F,
    caps: Capabilities,
) {
    let sel = make(&new, &caps);
    let name = sel.name();
    let _guard = big_fd_lock();
    let limit = raise_fd_limit(4_000);
    assert!(
        limit >= 2_100,
        "{name}: fd limit too low for the case: {limit}"
    );
    let mut pairs = Vec::with_capacity(1_000);
    for _ in 0..1_000 {
        let (a, b) = uds_pair();
        if caps
            .fd_limit
            .is_some_and(|l| usize::try_from(b.as_fd().as_raw_fd()).map_or(true, |n| n >= l))
        {
            break;
        }
        pairs.push((a, b));
    }
    let n = pairs.len();
    assert!(
        n >= 100,
        "{name}: only {n} pairs fit under {:?}",
        caps.fd_limit
    );
    for (i, (a, _)) in pairs.iter().enumerate() {
        sel.register(a.as_fd(), Token(i), Interest::READABLE, Mode::Level)
            .unwrap();
    }
    let mut ev = Events::with_capacity(2 * n);
    // Armed and quiet; then all of them at once.
    assert_eq!(sel.wait(&mut ev, Some(Duration::ZERO)).unwrap(), 0);
    for (_, b) in &pairs {
        (&*b).write_all(b"x").unwrap();
    }
    let got = sel.wait(&mut ev, Some(SOON)).unwrap();
    let mut seen = vec![false; n];
    while let Some(e) = sel.next_event(&mut ev) {
        assert!(e.is_readable(), "{name}: {e:?}");
        seen[e.token().0] = true;
    }
    let reported = seen.iter().filter(|&&s| s).count();
    assert_eq!(
        (got, reported),
        (n, n),
        "{name}: one wait reported {got} of {n} ready fds"
    );
    for (a, _) in &pairs {
        sel.deregister(a.as_fd()).unwrap();
    }
}

/// 10,000 registered fds (select included: numbers far above 1024), the
/// highest one reported. Serialised with the other big-fd tests.
/// 10,000 registered fds (select included: numbers far above 1024), the
/// highest one reported. With a declared fd limit, every fd at or above it
/// is refused at `register` with kind `InvalidInput` and the rest work.
/// Serialised with the other big-fd cases ([`big_fd_lock`]).
pub fn ten_thousand_fds<S: Selector, F: Fn() -> Result<S>>(new: F, caps: Capabilities) {
    let sel = make(&new, &caps);
    let name = sel.name();
    let _guard = big_fd_lock();
    let limit = raise_fd_limit(20_000);
    assert!(limit >= 10_500, "hard limit too low: {limit}");
    let over = |fd: BorrowedFd<'_>| {
        caps.fd_limit
            .is_some_and(|l| usize::try_from(fd.as_raw_fd()).map_or(true, |n| n >= l))
    };
    let mut pairs = Vec::with_capacity(5_000);
    for _ in 0..5_000 {
        pairs.push(uds_pair());
    }
    // The pairs whose both ends are registered.
    let mut watched = Vec::new();
    for (i, (a, b)) in pairs.iter().enumerate() {
        let mut both = true;
        for (fd, token) in [(a.as_fd(), Token(2 * i)), (b.as_fd(), Token(2 * i + 1))] {
            let res = sel.register(fd, token, Interest::READABLE, Mode::Level);
            if over(fd) {
                let err = res.expect_err("an fd at or above the declared limit must be refused");
                assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name}: {err}");
                both = false;
            } else {
                res.unwrap_or_else(|e| panic!("{name}: register fd {}: {e}", fd.as_raw_fd()));
            }
        }
        if both {
            watched.push(i);
        }
    }
    let mut ev = Events::with_capacity(64);
    assert_eq!(sel.wait(&mut ev, Some(Duration::ZERO)).unwrap(), 0);
    // Wake the last (highest-numbered) and the first.
    let (first, last) = match (watched.first(), watched.last()) {
        (Some(&f), Some(&l)) => (f, l),
        _ => panic!("{name}: no pair under the fd limit {:?}", caps.fd_limit),
    };
    (&pairs[last].0).write_all(b"x").unwrap();
    (&pairs[first].1).write_all(b"y").unwrap();
    expect_event(&sel, &mut ev, Token(2 * last + 1), readable, SOON);
    expect_event(&sel, &mut ev, Token(2 * first), readable, SOON);
    for &i in &watched {
        sel.deregister(pairs[i].0.as_fd()).unwrap();
        sel.deregister(pairs[i].1.as_fd()).unwrap();
    }
    assert_eq!(sel.wait(&mut ev, Some(Duration::ZERO)).unwrap(), 0);
}
