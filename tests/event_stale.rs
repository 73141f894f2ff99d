//! A registered fd is `dup`ed, closed, and its number reused by a new
//! socket. epoll watches open files, not numbers: its registration of the
//! old file lives on (the dup keeps the file open), keyed by (old file,
//! number), and `EPOLL_CTL_DEL` of the number — which now names the new
//! socket — fails with `ENOENT`. `deregister` must not report success
//! then while the old file (kept readable here) goes on firing at every
//! `epoll_wait`, each event dropped as stale: `wait(None)` would return
//! `Ok(0)` at once, forever, and a finite `wait` burn the CPU until its
//! deadline. Each case checks that neither happens.
//!
//! One test in this binary: the kernel hands out the lowest free fd number
//! and nothing else opens fds meanwhile, so the number is reused at once;
//! and one part lowers the process's fd limit for a moment.
// Reads /proc (epoll registrations, socket inodes): Linux only.
#![cfg(target_os = "linux")]

use std::io::{ErrorKind, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use sockpoll::event::{
    AnySelector, BackendKind, Event, Events, Interest, Mode, Selector, Token, Waker,
};

mod util;
use util::*;

/// The inode of a socket, from its `/proc/self/fd` link (`socket:[N]`).
fn socket_ino(fd: RawFd) -> u64 {
    let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("readlink");
    let link = link.to_string_lossy();
    link.strip_prefix("socket:[")
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a socket: {link}"))
}

/// Whether any epoll instance of this process holds a registration under
/// fd number `number` for the file with inode `ino` (from
/// `/proc/self/fdinfo/<epfd>`: `tfd: <number> ... ino:<hex>`).
fn kernel_watches(number: RawFd, ino: u64) -> bool {
    let mut found = false;
    for entry in std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd") {
        let Ok(entry) = entry else { continue };
        let is_epoll = std::fs::read_link(entry.path())
            .is_ok_and(|l| l.to_string_lossy() == "anon_inode:[eventpoll]");
        if !is_epoll {
            continue;
        }
        let info = format!("/proc/self/fdinfo/{}", entry.file_name().to_string_lossy());
        let Ok(text) = std::fs::read_to_string(info) else {
            continue;
        };
        for line in text.lines() {
            let mut words = line.split_whitespace();
            if words.next() != Some("tfd:") {
                continue;
            }
            let tfd = words.next().and_then(|n| n.parse::<RawFd>().ok());
            let inode = words
                .find_map(|w| w.strip_prefix("ino:"))
                .and_then(|h| u64::from_str_radix(h, 16).ok());
            found |= tfd == Some(number) && inode == Some(ino);
        }
    }
    found
}

/// A new socket whose fd number is `number` (the lowest free one, so the
/// first try hits; bounded), with its peer and whatever was opened on the
/// way.
fn take_number(number: RawFd) -> (UnixStream, UnixStream, Vec<UnixStream>) {
    let mut held = Vec::new();
    for _ in 0..64 {
        let (x, y) = uds_pair();
        if x.as_raw_fd() == number {
            return (x, y, held);
        }
        if y.as_raw_fd() == number {
            return (y, x, held);
        }
        held.push(x);
        held.push(y);
    }
    panic!("fd {number} was not reused");
}

/// A registered, readable socket: dup'ed, closed, its number reused.
/// Returns (the new socket on the old number, its peer, the dup, the old
/// number, the old file's inode, fds to keep open).
struct Reused {
    new: UnixStream,
    new_peer: UnixStream,
    _dup: UnixStream,
    _old_peer: UnixStream,
    _held: Vec<UnixStream>,
    number: RawFd,
    ino: u64,
}

fn dup_close_reuse<S: Selector + ?Sized>(sel: &mut S, token: Token) -> Reused {
    let (a, mut a_peer) = uds_pair();
    // Never read: the old file stays readable, so a level-triggered
    // registration of it fires on every epoll_wait.
    a_peer.write_all(b"x").unwrap();
    sel.register(a.as_fd(), token, Interest::READABLE, Mode::Level)
        .unwrap();
    let number = a.as_raw_fd();
    let dup = a.try_clone().expect("dup");
    let ino = socket_ino(dup.as_raw_fd());
    drop(a);
    let (new, new_peer, held) = take_number(number);
    Reused {
        new,
        new_peer,
        _dup: dup,
        _old_peer: a_peer,
        _held: held,
        number,
        ino,
    }
}

/// `wait(None)` returns once, with the waker's event, after the waker
/// fired — not with `Ok(0)` before it — and burns no CPU meanwhile.
fn wait_forever_blocks<S: Selector + ?Sized>(sel: &mut S, events: &mut Events) {
    let waker = Arc::new(Waker::new().unwrap());
    sel.register(waker.as_fd(), Token(99), Interest::READABLE, Mode::Level)
        .unwrap();
    let start = Instant::now();
    let cpu = thread_cpu().expect("a thread CPU clock");
    let remote = Arc::clone(&waker);
    let thread = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        remote.wake().unwrap();
    });
    let (mut returns, mut woken) = (0, false);
    // Bounded by count and time, in case wait(None) returns early.
    while !woken && returns < 1000 && start.elapsed() < Duration::from_secs(5) {
        sel.wait(events, None).unwrap();
        returns += 1;
        while let Some(e) = sel.next_event(events) {
            assert_eq!(e.token(), Token(99), "{}: {e:?}", sel.name());
            woken = true;
        }
    }
    let (took, burnt) = (
        start.elapsed(),
        thread_cpu().expect("a thread CPU clock") - cpu,
    );
    thread.join().unwrap();
    assert!(
        woken && returns == 1,
        "{}: wait(None) returned {returns} times in {took:?} (woken: {woken})",
        sel.name()
    );
    assert!(
        took >= Duration::from_millis(200),
        "{}: {took:?}",
        sel.name()
    );
    assert!(
        burnt < Duration::from_millis(100),
        "{}: wait(None) burnt {burnt:?} of CPU in {took:?}",
        sel.name()
    );
    waker.reset().unwrap();
    sel.deregister(waker.as_fd()).unwrap();
}

/// A finite wait with nothing to deliver takes its time, and idles.
fn timed_wait_idles<S: Selector + ?Sized>(sel: &mut S, events: &mut Events) {
    let want = Duration::from_millis(200);
    let start = Instant::now();
    let cpu = thread_cpu().expect("a thread CPU clock");
    let n = sel.wait(events, Some(want)).unwrap();
    let (took, burnt) = (
        start.elapsed(),
        thread_cpu().expect("a thread CPU clock") - cpu,
    );
    assert_eq!(n, 0, "{}: {events:?}", sel.name());
    assert!(took >= want, "{}: returned after {took:?}", sel.name());
    assert!(
        burnt < Duration::from_millis(100),
        "{}: a quiet {want:?} wait burnt {burnt:?} of CPU",
        sel.name()
    );
}

fn deregister_of_reused_number(kind: BackendKind) {
    let mut sel = AnySelector::new(kind).unwrap();
    let mut events = Events::with_capacity(8);
    let r = dup_close_reuse(&mut sel, Token(1));
    // The number is registered (for the old file): deregister drops it,
    // and does not report success while the kernel still watches the old
    // file under that number.
    sel.deregister(r.new.as_fd()).unwrap();
    assert!(!kernel_watches(r.number, r.ino), "{kind}: still watched");
    wait_forever_blocks(&mut sel, &mut events);
    timed_wait_idles(&mut sel, &mut events);
    // The new socket on the old number registers and reports as itself.
    sel.register(r.new.as_fd(), Token(2), Interest::WRITABLE, Mode::Level)
        .unwrap();
    expect_event(&sel, &mut events, Token(2), Event::is_writable, SOON);
    let stray: Vec<_> = collect(&sel, &mut events, QUIET)
        .into_iter()
        .filter(|e| e.token() != Token(2))
        .collect();
    assert!(stray.is_empty(), "{kind}: {stray:?}");
    sel.deregister(r.new.as_fd()).unwrap();
}

fn reregister_of_reused_number(kind: BackendKind) {
    let mut sel = AnySelector::new(kind).unwrap();
    let mut events = Events::with_capacity(8);
    let mut r = dup_close_reuse(&mut sel, Token(1));
    // reregister with the file now on the number (nothing to read there
    // yet): select and epoll move the registration to it; poll and uring,
    // which make no system call in reregister, keep the old file's
    // identity and treat the registration as stale (see
    // `Selector::reregister`): nothing comes under its token, and a
    // register of the new file replaces it.
    sel.reregister(r.new.as_fd(), Token(3), Interest::READABLE, Mode::Level)
        .unwrap();
    assert!(!kernel_watches(r.number, r.ino), "{kind}: still watched");
    timed_wait_idles(&mut sel, &mut events);
    wait_forever_blocks(&mut sel, &mut events);
    r.new_peer.write_all(b"y").unwrap();
    if matches!(kind, BackendKind::Select | BackendKind::Epoll) {
        expect_event(&sel, &mut events, Token(3), Event::is_readable, SOON);
    } else {
        let got = collect(&sel, &mut events, QUIET);
        assert!(
            got.is_empty(),
            "{kind}: another file under the old token: {got:?}"
        );
        sel.register(r.new.as_fd(), Token(4), Interest::READABLE, Mode::Level)
            .unwrap();
        expect_event(&sel, &mut events, Token(4), Event::is_readable, SOON);
    }
    sel.deregister(r.new.as_fd()).unwrap();
}

/// `register` of the new socket on the old number replaces the stale
/// registration: the kernel lets go of the old file (kept open by the dup),
/// waits neither spin nor end early, and only the new token is reported.
fn register_of_reused_number(kind: BackendKind) {
    let mut sel = AnySelector::new(kind).unwrap();
    let mut events = Events::with_capacity(8);
    let mut r = dup_close_reuse(&mut sel, Token(1));
    sel.register(r.new.as_fd(), Token(2), Interest::READABLE, Mode::Level)
        .unwrap();
    assert!(!kernel_watches(r.number, r.ino), "{kind}: still watched");
    timed_wait_idles(&mut sel, &mut events);
    wait_forever_blocks(&mut sel, &mut events);
    r.new_peer.write_all(b"y").unwrap();
    expect_event(&sel, &mut events, Token(2), Event::is_readable, SOON);
    let stray: Vec<_> = collect(&sel, &mut events, QUIET)
        .into_iter()
        .filter(|e| e.token() != Token(2))
        .collect();
    assert!(stray.is_empty(), "{kind}: {stray:?}");
    // A true double registration of the new socket is refused.
    let err = sel
        .register(r.new.as_fd(), Token(3), Interest::READABLE, Mode::Level)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{kind}: {err}");
    sel.deregister(r.new.as_fd()).unwrap();
}

/// `deregister_raw` of the number, and `deregister_token` of two such
/// registrations sharing a token, drop them from the kernel too.
fn raw_and_token_deregistration_of_reused_numbers(kind: BackendKind) {
    let mut sel = AnySelector::new(kind).unwrap();
    let mut events = Events::with_capacity(8);
    let r = dup_close_reuse(&mut sel, Token(1));
    sel.deregister_raw(r.number).unwrap();
    assert!(!kernel_watches(r.number, r.ino), "{kind}: still watched");
    let err = sel.deregister_raw(r.number).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{kind}: {err}");
    timed_wait_idles(&mut sel, &mut events);

    let (a, b) = (
        dup_close_reuse(&mut sel, Token(7)),
        dup_close_reuse(&mut sel, Token(7)),
    );
    assert_eq!(sel.deregister_token(Token(7)).unwrap(), 2, "{kind}");
    for r in [&a, &b] {
        assert!(!kernel_watches(r.number, r.ino), "{kind}: still watched");
    }
    let err = sel.deregister_token(Token(7)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{kind}: {err}");
    wait_forever_blocks(&mut sel, &mut events);
    timed_wait_idles(&mut sel, &mut events);
}

/// When no new epoll instance can be made (the fd limit is reached),
/// `deregister` cannot drop the old file's registration: it says so and
/// changes nothing; once fds are free again it succeeds.
#[cfg(target_os = "linux")]
fn deregister_reports_what_it_cannot_drop() {
    use sockpoll::event::EpollSelector;
    let mut sel = EpollSelector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let r = dup_close_reuse(&mut sel, Token(1));

    let lowest_free = std::fs::File::open("/dev/null").unwrap().as_raw_fd();
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(
        Resource::RLIMIT_NOFILE,
        lowest_free.try_into().unwrap(),
        hard,
    )
    .unwrap();
    let res = sel.deregister(r.new.as_fd());
    let again = sel.register(r.new.as_fd(), Token(2), Interest::WRITABLE, Mode::Level);
    let n = sel.wait(&mut events, Some(SOON));
    let first = sel.next_event(&mut events);
    setrlimit(Resource::RLIMIT_NOFILE, soft, hard).unwrap();

    let err = res.unwrap_err();
    assert!(
        matches!(
            &err,
            sockpoll::Error::StillWatched { call: "deregister", fd, .. } if *fd == r.number
        ),
        "{err:?}"
    );
    assert_eq!(err.call(), "deregister");
    assert_eq!(err.raw_os_error(), Some(nix::errno::Errno::EMFILE as i32));
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("deregister fd {}: ", r.number))
            && msg.contains("still watches")
            && msg.contains("epoll_create1"),
        "{msg}"
    );
    // Nothing changed: still registered, still reporting the old file.
    // (Registering the new socket would replace the stale registration —
    // "closed-then-reused fds never wedge a selector"; this was
    // AlreadyExists before — but that needs the old file dropped first,
    // which fails the same way, changing nothing.)
    let again = again.unwrap_err();
    assert!(
        matches!(&again, sockpoll::Error::StillWatched { call: "register", fd, .. } if *fd == r.number),
        "{again:?}"
    );
    assert!(n.unwrap() >= 1);
    assert_eq!(first.map(|e| e.token()), Some(Token(1)));
    assert!(kernel_watches(r.number, r.ino));
    // With fds to spare, the same call succeeds and the kernel lets go.
    sel.deregister(r.new.as_fd()).unwrap();
    assert!(!kernel_watches(r.number, r.ino));
    timed_wait_idles(&mut sel, &mut events);
}

/// Dropping a stale registration replaces the epoll instance; every other
/// registration carries over as it was: level keeps firing, a fired
/// oneshot stays disarmed until `reregister`, an armed one fires once,
/// edge reports the next edge.
#[cfg(target_os = "linux")]
fn other_registrations_survive() {
    use sockpoll::event::EpollSelector;
    let mut sel = EpollSelector::new().unwrap();
    let mut events = Events::with_capacity(8);
    let (level, mut level_peer) = uds_pair();
    let (fired, mut fired_peer) = uds_pair();
    let (armed, _armed_peer) = uds_pair();
    let (edge, mut edge_peer) = uds_pair();
    sel.register(level.as_fd(), Token(10), Interest::READABLE, Mode::Level)
        .unwrap();
    sel.register(fired.as_fd(), Token(11), Interest::READABLE, Mode::Oneshot)
        .unwrap();
    sel.register(edge.as_fd(), Token(13), Interest::READABLE, Mode::Edge)
        .unwrap();
    level_peer.write_all(b"l").unwrap();
    fired_peer.write_all(b"f").unwrap();
    let got = collect(&sel, &mut events, Duration::from_millis(100));
    assert_eq!(got.iter().filter(|e| e.token() == Token(11)).count(), 1);
    assert!(got.iter().any(|e| e.token() == Token(10)));

    let r = dup_close_reuse(&mut sel, Token(1));
    sel.deregister(r.new.as_fd()).unwrap();
    assert!(!kernel_watches(r.number, r.ino));
    sel.register(armed.as_fd(), Token(12), Interest::WRITABLE, Mode::Oneshot)
        .unwrap();

    let got = collect(&sel, &mut events, Duration::from_millis(100));
    let count = |t| {
        got.iter()
            .filter(|e: &&Event| e.token() == Token(t))
            .count()
    };
    assert!(count(10) >= 1, "level: {got:?}");
    assert_eq!(count(11), 0, "a fired oneshot re-armed: {got:?}");
    assert_eq!(count(12), 1, "{got:?}");
    assert_eq!(count(1), 0, "{got:?}");
    edge_peer.write_all(b"e").unwrap();
    expect_event(&sel, &mut events, Token(13), Event::is_readable, SOON);
    sel.reregister(fired.as_fd(), Token(11), Interest::READABLE, Mode::Oneshot)
        .unwrap();
    expect_event(&sel, &mut events, Token(11), Event::is_readable, SOON);
}

#[test]
fn dup_closed_and_reused_number_neither_spins_nor_lingers() {
    for &kind in BackendKind::ALL {
        deregister_of_reused_number(kind);
        reregister_of_reused_number(kind);
        register_of_reused_number(kind);
        raw_and_token_deregistration_of_reused_numbers(kind);
    }
    #[cfg(target_os = "linux")]
    {
        other_registrations_survive();
        deregister_reports_what_it_cannot_drop();
    }
}
