//! What only the io_uring backend has to survive (the shared contract is
//! the conformance suite's, `tests/conformance.rs`, which runs it on uring
//! too): completion-queue overflow with a full submission queue, a wait
//! from another thread than the ring's, a deregistered file let go at once
//! — from any thread —, the level probe, a priority-only request that must
//! not spin, and the fallback ladder under a real seccomp denial, in a
//! helper process (this test binary, re-executed).
#![cfg(uring)]

mod util;

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sockpoll::event::{
    AnySelector, BackendKind, Events, Interest, Mode, RingSetup, Selector, Token, UringSelector,
};
use sockpoll::{Error, TcpListener, TcpStream};
use util::*;

/// 2,000 fds ready at once in a ring of 4 submission entries and 8
/// completions: the submission queue fills 500 times (each time submitted
/// and refilled), and almost every completion overflows into the kernel's
/// list (IORING_FEAT_NODROP). The first wait still delivers every one of
/// them — the harvest drains the queue and asks the kernel for the
/// overflowed ones until the batch is full — and the ring then grows to
/// fit the registrations. Oneshot fds are reported exactly once, edge
/// (multishot) ones at least once: nothing lost, nothing doubled that must
/// not be.
#[test]
fn overflow_of_a_tiny_ring_loses_no_readiness_and_grows_it() {
    let _guard = big_fd_lock();
    let limit = raise_fd_limit(8_000);
    assert!(limit >= 4_500, "hard limit too low: {limit}");
    let sel = UringSelector::with_entries(4).unwrap();
    assert_eq!(sel.ring_entries(), (4, 8));
    let pairs: Vec<_> = (0..1_000).map(|_| uds_pair()).collect();
    for (i, (a, b)) in pairs.iter().enumerate() {
        sel.register(a.as_fd(), Token(2 * i), Interest::WRITABLE, Mode::Oneshot)
            .unwrap();
        sel.register(b.as_fd(), Token(2 * i + 1), Interest::WRITABLE, Mode::Edge)
            .unwrap();
    }
    let mut ev = Events::with_capacity(4_096);
    let n = sel.wait(&mut ev, Some(SOON)).unwrap();
    assert_eq!(n, 2_000, "the first wait delivers all of them");
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_millis(300);
    loop {
        while let Some(e) = sel.next_event(&mut ev) {
            assert!(e.is_writable(), "{e:?}");
            *seen.entry(e.token().0).or_default() += 1;
        }
        if Instant::now() >= deadline {
            break;
        }
        sel.wait(&mut ev, Some(Duration::from_millis(50))).unwrap();
    }
    for t in 0..2_000 {
        let count = seen.get(&t).copied().unwrap_or(0);
        if t % 2 == 0 {
            assert_eq!(count, 1, "oneshot token {t} seen {count} times");
        } else {
            assert!(count >= 1, "edge token {t} lost");
        }
    }
    let (sq, cq) = sel.ring_entries();
    assert!(
        sq >= 2_001 && cq >= 4_002,
        "the ring did not grow: {sq}/{cq}"
    );
    // The grown ring works as before: a oneshot re-armed fires again.
    sel.reregister(
        pairs[0].0.as_fd(),
        Token(0),
        Interest::WRITABLE,
        Mode::Oneshot,
    )
    .unwrap();
    expect_event(&sel, &mut ev, Token(0), |e| e.is_writable(), SOON);
}

/// The ring is single-issuer on this kernel (6.1+): only the thread it was
/// enabled for may submit. A wait from another thread rebuilds it for that
/// thread from the registry — level readiness reported there too, a fired
/// oneshot still disarmed — and the first thread can wait again after.
#[test]
fn a_wait_from_another_thread_gets_a_ring_of_its_own() {
    let sel = Arc::new(UringSelector::new().unwrap());
    assert_eq!(sel.ring_setup(), RingSetup::SingleIssuerDeferTaskrun);
    let (a, mut a_peer) = uds_pair();
    let (c, _c_peer) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    sel.register(c.as_fd(), Token(2), Interest::WRITABLE, Mode::Oneshot)
        .unwrap();
    a_peer.write_all(b"level").unwrap();
    let mut ev = Events::with_capacity(8);
    expect_event(&*sel, &mut ev, Token(2), |e| e.is_writable(), SOON);
    expect_event(&*sel, &mut ev, Token(1), |e| e.is_readable(), SOON);
    for round in 0..3 {
        let remote = Arc::clone(&sel);
        let tokens = std::thread::spawn(move || {
            let mut ev = Events::with_capacity(8);
            let got = collect(&*remote, &mut ev, QUIET);
            got.iter().map(|e| e.token()).collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        assert!(tokens.contains(&Token(1)), "round {round}: {tokens:?}");
        assert!(
            !tokens.contains(&Token(2)),
            "round {round}: oneshot refired"
        );
        let got = collect(&*sel, &mut ev, QUIET);
        assert!(got.iter().any(|e| e.token() == Token(1)), "{got:?}");
        assert!(got.iter().all(|e| e.token() != Token(2)), "{got:?}");
    }
    sel.reregister(c.as_fd(), Token(3), Interest::WRITABLE, Mode::Oneshot)
        .unwrap();
    expect_event(&*sel, &mut ev, Token(3), |e| e.is_writable(), SOON);
}

/// On a single-issuer ring only the waiting thread may submit, so a change
/// made from another thread while it is blocked is queued and the waiter,
/// woken, submits it: a ready fd registered from here is delivered by the
/// blocked `wait(None)`; a deregistered one is never delivered after
/// `deregister` returns, and the woken waiter's round removes its request,
/// so the file closed right after is let go without anyone calling `wait`
/// again (its peer reads end of file). A `register` that submitted from
/// this thread would fail with EEXIST on this ring.
#[test]
fn changes_from_another_thread_are_submitted_by_the_woken_waiter() {
    let sel = Arc::new(UringSelector::new().unwrap());
    assert_eq!(sel.ring_setup(), RingSetup::SingleIssuerDeferTaskrun);
    let (idle, _idle_peer) = uds_pair();
    sel.register(idle.as_fd(), Token(0), Interest::READABLE, Mode::Level)
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let remote = Arc::clone(&sel);
    let waiter = std::thread::spawn(move || {
        let mut ev = Events::with_capacity(8);
        // Two waits: the first is ended by the registration below; the
        // second is woken by the next registration and the deregistration
        // (no event: it goes on) and ended by `notify`.
        let mut got = Vec::new();
        for _ in 0..2 {
            remote.wait(&mut ev, None).unwrap();
            while let Some(e) = remote.next_event(&mut ev) {
                got.push(e.token());
            }
            tx.send(got.clone()).unwrap();
        }
        got
    });
    // Let the waiter block (bounded; a later start is also fine).
    std::thread::sleep(Duration::from_millis(50));
    let (a, a_peer) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::WRITABLE, Mode::Oneshot)
        .unwrap();
    let first = rx.recv_timeout(SOON).expect("the waiter was not woken");
    assert_eq!(first, [Token(1)]);
    let (b, mut b_peer) = uds_pair();
    sel.register(b.as_fd(), Token(2), Interest::READABLE, Mode::Level)
        .unwrap();
    std::thread::sleep(Duration::from_millis(50));
    sel.deregister(b.as_fd()).unwrap();
    drop(b);
    let mut buf = [0u8; 4];
    let deadline = Instant::now() + Duration::from_millis(500);
    let read = loop {
        match b_peer.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => break other.map_err(|e| e.kind()),
        }
    };
    assert_eq!(read, Ok(0), "the waiter did not submit the removal");
    sel.notify().unwrap();
    let all = waiter.join().unwrap();
    assert_eq!(all, [Token(1)], "nothing for the deregistered fd");
    drop(a_peer);
}

/// What `peer` reads once the socket at its other end is closed: end of
/// file, a reset (data was left unread), or — if the ring still holds the
/// file — `WouldBlock` after 500 ms. Sets `peer` non-blocking.
fn read_after_close(peer: &mut std::os::unix::net::UnixStream) -> Result<usize, ErrorKind> {
    peer.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 8];
    let deadline = Instant::now() + Duration::from_millis(500);
    loop {
        match peer.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            other => return other.map_err(|e| e.kind()),
        }
    }
}

/// A request holds its own reference to the file. `deregister` called on
/// the ring's thread with no wait running submits the cancel (of the
/// original user_data) at once, so a socket closed right after is really
/// closed: its peer reads end of file without another wait. (Queued until
/// the next wait, the peer would read WouldBlock; a cancel of the
/// wrong user_data would leave the file held for good.)
#[test]
fn deregister_then_close_lets_the_kernel_drop_the_file() {
    let sel = UringSelector::new().unwrap();
    let mut ev = Events::with_capacity(8);
    for mode in [Mode::Level, Mode::Edge, Mode::Oneshot] {
        let (a, mut peer) = uds_pair();
        sel.register(a.as_fd(), Token(1), Interest::READABLE, mode)
            .unwrap();
        // The request is in the kernel now (nothing is ready).
        assert_eq!(
            sel.wait(&mut ev, Some(Duration::from_millis(10))).unwrap(),
            0
        );
        sel.deregister(a.as_fd()).unwrap();
        drop(a);
        let got = read_after_close(&mut peer);
        assert_eq!(got, Ok(0), "{mode:?}: the peer must see the close");
    }
}

/// The same with a wake-up pending: the peer writes after the wait armed
/// the request, so the kernel has queued the poll's wake-up work, which a
/// `DEFER_TASKRUN` ring runs only when its thread next enters the ring. A
/// `POLL_REMOVE` would answer `EALREADY` then and leave the request armed,
/// holding the file (the echo server's edge mode hung on it); the removal
/// must still let go of the file.
#[test]
fn deregister_with_a_wakeup_pending_lets_the_kernel_drop_the_file() {
    let sel = UringSelector::new().unwrap();
    let mut ev = Events::with_capacity(8);
    for mode in [Mode::Level, Mode::Edge, Mode::Oneshot] {
        for _ in 0..20 {
            let (a, mut peer) = uds_pair();
            sel.register(a.as_fd(), Token(1), Interest::READABLE, mode)
                .unwrap();
            assert_eq!(
                sel.wait(&mut ev, Some(Duration::from_millis(1))).unwrap(),
                0
            );
            peer.write_all(b"x").unwrap();
            sel.deregister(a.as_fd()).unwrap();
            drop(a);
            let got = read_after_close(&mut peer);
            // Closed with our byte unread: a reset, or end of file.
            assert!(
                matches!(got, Ok(0) | Err(ErrorKind::ConnectionReset)),
                "{mode:?}: the peer must see the close, got {got:?}"
            );
        }
    }
}

/// `deregister` from a thread that does not own the ring, while the owner
/// is blocked in `wait`: it returns only once the owner's round has
/// cancelled the request and run its completion, so the socket closed next
/// is closed at once — the peer reads end of file without any delay. Also
/// through `deregister_raw` and `deregister_token`.
#[test]
fn deregister_from_another_thread_during_a_wait_lets_go_before_it_returns() {
    let sel = Arc::new(UringSelector::new().unwrap());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut socks = Vec::new();
    for (i, mode) in [Mode::Level, Mode::Edge, Mode::Oneshot]
        .into_iter()
        .enumerate()
    {
        let (a, peer) = uds_pair();
        sel.register(a.as_fd(), Token(i), Interest::READABLE, mode)
            .unwrap();
        socks.push((a, peer));
    }
    let (remote, quit) = (Arc::clone(&sel), Arc::clone(&stop));
    let owner = std::thread::spawn(move || {
        let mut ev = Events::with_capacity(8);
        // Bounded: stopped below within seconds.
        for _ in 0..100_000 {
            if quit.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            remote.wait(&mut ev, None).unwrap();
        }
    });
    // Let the owner arm the requests and block.
    std::thread::sleep(Duration::from_millis(50));
    for (i, (a, mut peer)) in socks.into_iter().enumerate() {
        match i {
            0 => sel.deregister(a.as_fd()).unwrap(),
            1 => sel.deregister_raw(a.as_raw_fd()).unwrap(),
            _ => assert_eq!(sel.deregister_token(Token(i)).unwrap(), 1),
        }
        drop(a);
        peer.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 4];
        let got = peer.read(&mut buf).map_err(|e| e.kind());
        assert_eq!(got, Ok(0), "#{i}: the ring still held the socket");
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    sel.notify().unwrap();
    owner.join().unwrap();
}

/// `deregister` from a thread that does not own the ring while the owner
/// is not waiting (busy elsewhere, or gone): the kernel must still let go
/// of the file. The owner's next wait would do it; when none comes within
/// a moment, the ring is replaced and the old one closed.
#[test]
fn deregister_from_another_thread_while_the_owner_is_away_lets_go() {
    let sel = Arc::new(UringSelector::new().unwrap());
    assert_eq!(sel.ring_setup(), RingSetup::SingleIssuerDeferTaskrun);
    let (a, mut peer) = uds_pair();
    let (b, mut b_peer) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    sel.register(b.as_fd(), Token(2), Interest::READABLE, Mode::Level)
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let remote = Arc::clone(&sel);
    let owner = std::thread::spawn(move || {
        let mut ev = Events::with_capacity(4);
        // Owns the ring and arms the requests, then stays away.
        remote
            .wait(&mut ev, Some(Duration::from_millis(10)))
            .unwrap();
        rx.recv_timeout(Duration::from_secs(10)).ok();
    });
    std::thread::sleep(Duration::from_millis(50));
    sel.deregister(a.as_fd()).unwrap();
    drop(a);
    let got = read_after_close(&mut peer);
    // The other registration still works, from any thread's wait.
    b_peer.write_all(b"b").unwrap();
    let mut ev = Events::with_capacity(4);
    let n = sel.wait(&mut ev, Some(Duration::from_secs(5))).unwrap();
    tx.send(()).unwrap();
    owner.join().unwrap();
    assert_eq!(got, Ok(0), "the peer must see the close");
    assert_eq!(n, 1);
    assert_eq!(sel.next_event(&mut ev).map(|e| e.token()), Some(Token(2)));
    drop(b);
}

/// Level mode is a multishot poll plus a probe: data left unread is
/// reported at every wait with no new wake-up of the file (the peer writes
/// once), stops being reported once read, and is reported again when more
/// comes. A registered socket closed without `deregister` while it is in
/// the probe is reported invalid once (the probe's `poll` finds the number
/// closed), never as readable, and the cancel that follows lets the kernel
/// drop the file the multishot poll held: its peer sees the close.
#[test]
fn level_probe_reports_unread_data_and_a_closed_number() {
    let sel = UringSelector::new().unwrap();
    let mut ev = Events::with_capacity(8);
    let soon = Some(Duration::from_secs(5));
    let quiet = Some(Duration::from_millis(30));
    let (a, mut peer) = uds_pair();
    let (c, _c_peer) = uds_pair();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    // Another registration, idle: the probe must not make it appear.
    sel.register(c.as_fd(), Token(2), Interest::READABLE, Mode::Level)
        .unwrap();
    peer.write_all(b"one").unwrap();
    for round in 0..5 {
        assert_eq!(sel.wait(&mut ev, soon).unwrap(), 1, "round {round}");
        let e = sel.next_event(&mut ev).unwrap();
        assert_eq!(e.token(), Token(1));
        assert!(e.is_readable() && !e.is_invalid(), "{e:?}");
    }
    let mut buf = [0u8; 16];
    assert_eq!((&a).read(&mut buf).unwrap(), 3);
    assert_eq!(sel.wait(&mut ev, quiet).unwrap(), 0, "drained: {ev:?}");
    peer.write_all(b"two").unwrap();
    assert_eq!(sel.wait(&mut ev, soon).unwrap(), 1);
    assert_eq!(sel.next_event(&mut ev).map(|e| e.token()), Some(Token(1)));
    // `a` is in the probe now; close it without deregister.
    let number = a.as_raw_fd();
    drop(a);
    let mut invalid = 0;
    for _ in 0..5 {
        sel.wait(&mut ev, quiet).unwrap();
        while let Some(e) = sel.next_event(&mut ev) {
            assert_eq!(e.token(), Token(1), "{e:?}");
            assert!(e.is_invalid(), "a closed number as readable: {e:?}");
            invalid += 1;
        }
    }
    // Once — or not at all, when a test running in parallel took the
    // number before the probe looked: the new file's readiness is then
    // never reported under the old token (the identity differs). Then the
    // probe did not see the close either, and the request holds the closed
    // socket, as the docs say, until the number is deregistered: which is
    // what a caller left with only the number does.
    assert!(invalid <= 1, "reported invalid {invalid} times");
    if invalid == 0 {
        sel.deregister_raw(number).unwrap();
    }
    let got = read_after_close(&mut peer);
    // Closed with "two" unread: a reset, or end of file.
    assert!(
        matches!(got, Ok(0) | Err(ErrorKind::ConnectionReset)),
        "the ring still holds the closed socket: {got:?}"
    );
}

/// io_uring's poll wake-up filter drops EPOLLPRI, so PRIORITY is asked
/// with POLLRDBAND as well (see the backend's source): urgent data wakes
/// it, and ordinary data, which a priority-only registration does not
/// want, neither wakes nor spins it.
#[test]
fn priority_only_is_woken_by_urgent_data_and_quiet_on_plain_data() {
    let sel = UringSelector::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    sel.register(server.as_fd(), Token(1), Interest::PRIORITY, Mode::Level)
        .unwrap();
    let mut ev = Events::with_capacity(8);
    client.as_socket().send(b"plain").unwrap();
    let (cpu0, t0) = (thread_cpu().expect("a thread CPU clock"), Instant::now());
    let quiet = Duration::from_millis(100);
    assert_eq!(sel.wait(&mut ev, Some(quiet)).unwrap(), 0, "{ev:?}");
    let (cpu, took) = (
        thread_cpu().expect("a thread CPU clock") - cpu0,
        t0.elapsed(),
    );
    assert!(took >= quiet, "{took:?}");
    assert!(cpu < quiet / 2, "spun: {cpu:?} of CPU");
    client.as_socket().send_out_of_band(b"!").unwrap();
    let e = expect_event(&sel, &mut ev, Token(1), |e| e.is_priority(), SOON);
    assert!(!e.is_readable(), "{e:?}");
}

/// The role a re-executed copy of this binary plays, and what it denies.
const ROLE: &str = "SOCKPOLL_TEST_URING_DENY";

/// Not a test of its own: in a process started by
/// [`a_real_denial_falls_back_to_epoll_and_says_why`] (ROLE set), installs
/// a seccomp filter that fails `io_uring_setup` with the errno named in
/// ROLE, then prints what `UringSelector::new`, `AnySelector::best` and
/// `AnySelector::from_env` (SOCKPOLL_BACKEND=uring) answer. Without ROLE
/// it does nothing.
#[test]
fn denied_helper() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let errno = match role.as_str() {
        "ENOSYS" => libc::ENOSYS,
        "EPERM" => libc::EPERM,
        "EINVAL" => libc::EINVAL,
        other => panic!("unknown role {other}"),
    };
    let arch = seccompiler::TargetArch::try_from(std::env::consts::ARCH).expect("arch");
    let filter = seccompiler::SeccompFilter::new(
        [(libc::SYS_io_uring_setup, vec![])].into_iter().collect(),
        seccompiler::SeccompAction::Allow,
        seccompiler::SeccompAction::Errno(errno as u32),
        arch,
    )
    .expect("filter");
    let program: seccompiler::BpfProgram = filter.try_into().expect("bpf");
    // Every thread: the calls below run on this one, but a helper thread
    // of the harness must not escape the denial either.
    seccompiler::apply_filter_all_threads(&program).expect("seccomp");
    // libtest printed "test denied_helper ... " without a newline.
    println!();

    match UringSelector::new() {
        Ok(_) => println!("new: ok"),
        Err(e) => {
            let reason = match &e {
                Error::Unavailable { reason, .. } => format!("{reason:?}"),
                other => format!("not Unavailable: {other:?}"),
            };
            println!(
                "new: {reason} kind={:?} errno={:?} msg={e}",
                e.kind(),
                e.raw_os_error()
            );
        }
    }
    let choice = AnySelector::best().expect("best");
    println!("best: chosen={}", choice.chosen());
    for (kind, err) in choice.why() {
        println!("best: passed over {kind}: {err}");
    }
    match AnySelector::from_env() {
        Ok(s) => println!("env: chose {}", s.kind()),
        Err(e) => println!("env: error kind={:?} msg={e}", e.kind()),
    }
}

/// A real denial, not a mock: this binary re-executed with a seccomp
/// filter making `io_uring_setup` fail — `ENOSYS` as container runtimes'
/// default profiles do, `EPERM` as `kernel.io_uring_disabled` does, and
/// `EINVAL` as an old kernel does. `UringSelector::new` names the typed
/// reason; `best()` chooses epoll and says why it passed over uring; an
/// explicit `SOCKPOLL_BACKEND=uring` fails with the same typed error
/// instead of being quietly replaced.
#[test]
fn a_real_denial_falls_back_to_epoll_and_says_why() {
    let exe = std::env::current_exe().expect("current_exe");
    for (errno, reason) in [
        ("ENOSYS", "Denied"),
        ("EPERM", "Disabled"),
        ("EINVAL", "TooOld"),
    ] {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "--exact",
            "denied_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, errno)
        .env("SOCKPOLL_BACKEND", "uring");
        let (status, out, err) = process::run_bounded(&mut cmd, b"");
        assert!(status.success(), "{errno}: helper failed: {out}\n{err}");
        let line =
            |prefix: &str| -> Vec<&str> { out.lines().filter(|l| l.starts_with(prefix)).collect() };
        let new = line("new: ");
        assert_eq!(new.len(), 1, "{errno}: {out}");
        assert!(
            new[0].starts_with(&format!("new: {reason}")),
            "{errno}: {new:?}"
        );
        assert!(new[0].contains("kind=Unsupported"), "{new:?}");
        let want_errno = match errno {
            "ENOSYS" => libc::ENOSYS,
            "EPERM" => libc::EPERM,
            _ => libc::EINVAL,
        };
        assert!(
            new[0].contains(&format!("errno=Some({want_errno})")),
            "{new:?}"
        );
        assert_eq!(
            line("best: chosen="),
            ["best: chosen=epoll"],
            "{errno}: {out}"
        );
        let why = line("best: passed over ");
        assert_eq!(why.len(), 1, "{errno}: {out}");
        assert!(why[0].starts_with("best: passed over uring: "), "{why:?}");
        assert!(why[0].contains("io_uring_setup"), "{why:?}");
        let env = line("env: ");
        assert_eq!(env.len(), 1, "{out}");
        assert!(env[0].starts_with("env: error kind=Unsupported"), "{env:?}");
    }
    // And here, without a filter, uring is the first choice.
    let choice = AnySelector::best().unwrap();
    assert_eq!(choice.chosen(), BackendKind::Uring);
    assert!(choice.why().is_empty(), "{:?}", choice.why());
}
