//! The backend's own unit tests (what needs its insides: forks, a staged
//! race, a forced plain ring, the tag layout).

use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use super::*;

/// A forked child may do nothing with the parent's ring: its `wait` is
/// the typed `Forked` error, before any access to the ring (whose
/// memory the child does not even have: it is mapped DONTFORK, so
/// without the check the child dies of SIGSEGV and this fails). The
/// parent's ring is untouched. A unit test because forking needs
/// unchecked code (the helper lives in sys and exists only under
/// cfg(test)), which the integration tests may not use; re-executing
/// the test binary makes a process without the ring, not a fork.
#[test]
fn wait_in_a_forked_child_is_a_typed_error() {
    let sel = UringSelector::new().unwrap();
    let (a, _b) = UnixStream::pair().unwrap();
    sel.register(a.as_fd(), Token(1), Interest::WRITABLE, Mode::Level)
        .unwrap();
    let mut events = Events::with_capacity(4);
    assert_eq!(
        sel.wait(&mut events, Some(Duration::from_secs(5))).unwrap(),
        1
    );
    let mut child_events = Events::with_capacity(4);
    let code = crate::sys::fork::fork_and_run(Duration::from_secs(5), || {
        match sel.wait(&mut child_events, Some(Duration::from_millis(10))) {
            Err(Error::Unavailable {
                call: "wait",
                reason: UnavailableReason::Forked,
                ..
            }) => 0,
            Err(_) => 2,
            Ok(_) => 3,
        }
    });
    assert_eq!(code, Some(0));
    assert_eq!(
        sel.wait(&mut events, Some(Duration::from_secs(5))).unwrap(),
        1
    );
    assert_eq!(
        sel.next_event(&mut events).map(|e| e.token()),
        Some(Token(1))
    );
}

/// The path of a kernel before 6.1 (forced for this thread): a plain
/// ring, which any thread may submit to. Level, oneshot and edge
/// behave as on the single-issuer ring; a wait from another thread
/// needs no rebuild (the ring stays the plain one); a deregister from
/// another idle thread submits its removal at once.
#[test]
fn a_plain_ring_behaves_the_same() {
    use std::io::{Read, Write};
    use std::sync::Arc;
    crate::sys::uring::force_plain(true);
    let made = UringSelector::new();
    crate::sys::uring::force_plain(false);
    let sel = Arc::new(made.unwrap());
    assert_eq!(sel.ring_setup(), RingSetup::Plain);
    let soon = Some(Duration::from_secs(5));
    let mut ev = Events::with_capacity(8);
    let (a, mut a_peer) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    a_peer.write_all(b"x").unwrap();
    for _ in 0..3 {
        assert_eq!(sel.wait(&mut ev, soon).unwrap(), 1);
        assert_eq!(sel.next_event(&mut ev).map(|e| e.token()), Some(Token(1)));
    }
    let (c, _c_peer) = UnixStream::pair().unwrap();
    sel.register(c.as_fd(), Token(2), Interest::WRITABLE, Mode::Oneshot)
        .unwrap();
    sel.deregister(a.as_fd()).unwrap();
    assert_eq!(sel.wait(&mut ev, soon).unwrap(), 1);
    assert_eq!(sel.next_event(&mut ev).map(|e| e.token()), Some(Token(2)));
    let quiet = Some(Duration::from_millis(30));
    assert_eq!(
        sel.wait(&mut ev, quiet).unwrap(),
        0,
        "oneshot refired: {ev:?}"
    );
    // Edge: one event per write, none for the unread byte.
    let (d, mut d_peer) = UnixStream::pair().unwrap();
    d.set_nonblocking(true).unwrap();
    sel.register(d.as_fd(), Token(3), Interest::READABLE, Mode::Edge)
        .unwrap();
    assert_eq!(sel.wait(&mut ev, quiet).unwrap(), 0);
    d_peer.write_all(b"1").unwrap();
    assert_eq!(sel.wait(&mut ev, soon).unwrap(), 1);
    assert_eq!(sel.wait(&mut ev, quiet).unwrap(), 0, "{ev:?}");
    // Another thread waits on the same ring, no rebuild needed.
    d_peer.write_all(b"2").unwrap();
    let remote = Arc::clone(&sel);
    let n = std::thread::spawn(move || {
        let mut ev = Events::with_capacity(8);
        remote.wait(&mut ev, soon).unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(n, 1);
    assert_eq!(sel.ring_setup(), RingSetup::Plain);
    // A deregister from another idle thread is submitted at once.
    let remote = Arc::clone(&sel);
    let raw = d.as_raw_fd();
    std::thread::spawn(move || remote.deregister_raw(raw))
        .join()
        .unwrap()
        .unwrap();
    drop(d);
    let mut buf = [0u8; 4];
    d_peer.set_nonblocking(true).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_millis(500);
    let got = loop {
        match d_peer.read(&mut buf) {
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => break other.map_err(|e| e.kind()),
        }
    };
    // Closed: end of file, or a reset (d had unread data).
    assert!(
        matches!(got, Ok(0) | Err(std::io::ErrorKind::ConnectionReset)),
        "still held: {got:?}"
    );
}

/// A thread blocked in `wait` when the process forks leaves the
/// child's copy of the waiter's lock held for good: the child's `wait`
/// must still answer `Forked` at once (the fork check comes first).
#[test]
fn wait_in_a_child_forked_during_a_wait_is_a_typed_error() {
    use std::sync::Arc;
    let sel = Arc::new(UringSelector::new().unwrap());
    let remote = Arc::clone(&sel);
    let waiter = std::thread::spawn(move || {
        let mut events = Events::with_capacity(4);
        remote.wait(&mut events, None)
    });
    // Bounded: the waiter is in its wait within moments.
    for _ in 0..200 {
        if sel.waiter.try_lock().is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(sel.waiter.try_lock().is_err(), "the waiter never started");
    let mut child_events = Events::with_capacity(4);
    let code = crate::sys::fork::fork_and_run(Duration::from_secs(2), || {
        match sel.wait(&mut child_events, Some(Duration::from_millis(10))) {
            Err(Error::Unavailable {
                reason: UnavailableReason::Forked,
                ..
            }) => 0,
            _ => 2,
        }
    });
    sel.notify().unwrap();
    assert_eq!(waiter.join().unwrap().unwrap(), 0);
    assert_eq!(code, Some(0), "None: the child hung on the lock");
}

/// A ring that must grow but cannot (here: already the kernel's
/// largest) is still only its owner's to submit to: a wait from another
/// thread replaces it instead of submitting to it (which the kernel
/// refuses with `EEXIST` on a single-issuer ring).
#[test]
fn a_wait_from_another_thread_after_a_failed_growth_still_takes_the_ring() {
    use std::sync::Arc;
    let sel = Arc::new(UringSelector::with_entries(MAX_ENTRIES).unwrap());
    if sel.ring_setup() != RingSetup::SingleIssuerDeferTaskrun {
        eprintln!("skipped: this kernel has no single-issuer rings");
        return;
    }
    let (a, _peer) = UnixStream::pair().unwrap();
    sel.register(a.as_fd(), Token(1), Interest::WRITABLE, Mode::Level)
        .unwrap();
    let remote = Arc::clone(&sel);
    std::thread::spawn(move || {
        let mut events = Events::with_capacity(4);
        remote.wait(&mut events, Some(Duration::from_secs(5)))
    })
    .join()
    .unwrap()
    .unwrap();
    lock(&sel.waiter).grow = true;
    let mut events = Events::with_capacity(4);
    assert_eq!(
        sel.wait(&mut events, Some(Duration::from_secs(5))).unwrap(),
        1
    );
    assert_eq!(
        sel.next_event(&mut events).map(|e| e.token()),
        Some(Token(1))
    );
}

/// Every size `with_entries` accepts works, the smallest included: a
/// 1-entry queue never had room for a request and its cancel together,
/// so nothing was ever armed.
#[test]
fn the_smallest_rings_arm_every_registration() {
    for entries in [0, 1, 2, 3] {
        let sel = UringSelector::with_entries(entries).unwrap();
        assert!(
            sel.ring_entries().0 >= 2,
            "{entries}: {:?}",
            sel.ring_entries()
        );
        let pairs: Vec<_> = (0..5).map(|_| UnixStream::pair().unwrap()).collect();
        for (i, (a, _)) in pairs.iter().enumerate() {
            sel.register(a.as_fd(), Token(i), Interest::WRITABLE, Mode::Oneshot)
                .unwrap();
        }
        let mut events = Events::with_capacity(8);
        let mut seen = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while seen.len() < 5 && std::time::Instant::now() < deadline {
            sel.wait(&mut events, Some(Duration::from_millis(100)))
                .unwrap();
            while let Some(e) = sel.next_event(&mut events) {
                seen.push(e.token().0);
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2, 3, 4], "with_entries({entries})");
        // Re-armed through the same small queue: a cancel and a request
        // each.
        for (i, (a, _)) in pairs.iter().enumerate() {
            sel.reregister(a.as_fd(), Token(10 + i), Interest::WRITABLE, Mode::Level)
                .unwrap();
        }
        let got = sel.wait(&mut events, Some(Duration::from_secs(5))).unwrap();
        assert!(got >= 1, "with_entries({entries})");
    }
}

/// A registration changed at a generation equal, in the bits a
/// request's `user_data` carries, to the one in flight (2³⁰ changes
/// later, for the 30 bits kept before) still gets its new request: the
/// ring's request is chosen on the whole generation.
#[test]
fn a_change_that_aliases_the_tag_of_the_request_in_flight_is_submitted() {
    let sel = UringSelector::new().unwrap();
    let (a, _peer) = UnixStream::pair().unwrap();
    sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    let mut events = Events::with_capacity(4);
    assert_eq!(sel.wait(&mut events, Some(Duration::ZERO)).unwrap(), 0);
    for skip in [1 << 30, 1 << 31] {
        lock(&sel.shared).reg.skip_generations(skip - 1);
        let (interest, token) = if skip == 1 << 30 {
            (Interest::WRITABLE, Token(2))
        } else {
            (Interest::READABLE, Token(3))
        };
        sel.reregister(a.as_fd(), token, interest, Mode::Level)
            .unwrap();
        let n = sel
            .wait(&mut events, Some(Duration::from_millis(300)))
            .unwrap();
        if interest == Interest::WRITABLE {
            assert_eq!(n, 1, "the writable request was never submitted");
            assert_eq!(sel.next_event(&mut events).map(|e| e.token()), Some(token));
        } else {
            assert_eq!(n, 0, "{events:?}: still the writable request");
        }
    }
}

/// `ring_setup` and `ring_entries` answer while another thread is
/// blocked in `wait`.
#[test]
fn ring_facts_answer_during_a_wait() {
    use std::sync::{mpsc, Arc};
    let sel = Arc::new(UringSelector::new().unwrap());
    let remote = Arc::clone(&sel);
    let waiter = std::thread::spawn(move || {
        let mut events = Events::with_capacity(4);
        remote.wait(&mut events, None)
    });
    for _ in 0..200 {
        if sel.waiter.try_lock().is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let (tx, rx) = mpsc::channel();
    let asker = Arc::clone(&sel);
    std::thread::spawn(move || {
        let _ = tx.send((asker.ring_setup(), asker.ring_entries()));
    });
    let got = rx.recv_timeout(Duration::from_secs(2));
    sel.notify().unwrap();
    waiter.join().unwrap().unwrap();
    let (_, (sq, cq)) = got.expect("blocked behind the wait");
    assert_eq!(
        (sq, cq),
        (
            UringSelector::DEFAULT_ENTRIES,
            2 * UringSelector::DEFAULT_ENTRIES
        )
    );
}

/// The user_data layout: fd in the low half, 32 bits of generation
/// above it, never one of the tags.
#[test]
fn tags_never_collide_with_the_control_words() {
    for (fd, generation) in [
        (0, 0),
        (i32::MAX, u64::MAX - 1),
        (7, 0xffff_ffff),
        (3, 1 << 40),
    ] {
        let t = tag(fd, generation);
        assert!(
            ![IDLE, NOTIFY_TAG, REMOVE_TAG].contains(&t),
            "{fd} {generation}"
        );
        assert_eq!((t & 0xffff_ffff) as u32 as RawFd, fd);
    }
}
