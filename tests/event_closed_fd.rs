//! An fd closed while registered, then its number reused: deterministic
//! here because this binary holds a single test (the kernel hands out the
//! lowest free number, and nothing else opens fds meanwhile). The
//! conformance suite (tests/conformance.rs) covers the same ground with
//! numbers reused atomically (`dup2`), which parallel tests cannot steal.

mod util;

use std::io::ErrorKind;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use sockpoll::event::{AnySelector, BackendKind, Events, Interest, Mode, Selector, Token};
use util::*;

#[test]
fn closed_then_reused_number_on_every_backend() {
    for &kind in BackendKind::ALL {
        let sel = AnySelector::new(kind).unwrap();
        let mut ev = Events::with_capacity(8);
        let (a, b) = UnixStream::pair().unwrap();
        let number = a.as_raw_fd();
        sel.register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
            .unwrap();
        drop(a);
        drop(b);
        // No spin, at most one invalid event.
        let start = Instant::now();
        let (mut waits, mut invalid) = (0, 0);
        while start.elapsed() < Duration::from_millis(200) && waits < 1000 {
            waits += 1;
            sel.wait(&mut ev, Some(Duration::from_millis(40))).unwrap();
            while let Some(e) = sel.next_event(&mut ev) {
                assert!(e.is_invalid() && e.token() == Token(1), "{kind}: {e:?}");
                invalid += 1;
            }
        }
        assert!(invalid <= 1, "{kind}: {invalid} invalid events");
        if kind.name() != "epoll" {
            assert_eq!(invalid, 1, "{kind}: a closed fd is reported invalid once");
        }
        assert!(waits <= 8, "{kind}: {waits} waits: spinning");
        // The number comes back for the next fd.
        let (c, d) = UnixStream::pair().unwrap();
        assert_eq!(c.as_raw_fd(), number, "{kind}: lowest free number");
        // The old registration is stale (made for a file that is gone:
        // another identity), and registering the new file replaces it.
        sel.register(c.as_fd(), Token(2), Interest::WRITABLE, Mode::Level)
            .unwrap();
        // The new file under the old number works, with its own token only.
        let e = expect_event(&sel, &mut ev, Token(2), |e| e.is_writable(), SOON);
        assert!(!e.is_invalid(), "{kind}: {e:?}");
        let stray: Vec<_> = collect(&sel, &mut ev, QUIET)
            .into_iter()
            .filter(|e| e.token() != Token(2))
            .collect();
        assert!(stray.is_empty(), "{kind}: {stray:?}");
        // Registering the same file again is a true double registration.
        let err = sel
            .register(c.as_fd(), Token(9), Interest::READABLE, Mode::Level)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{kind}: {err}");

        // Closed and reused again, then reregister with the new file (see
        // `Selector::reregister`): select and epoll see at once that the
        // file changed and move the registration to it, which then knows
        // it as its own (a register of it is a double registration); poll
        // and uring make no system call there, keep the old file's
        // identity, and so treat the registration as stale — a register of
        // the new file replaces it, and the old token is never delivered.
        drop(c);
        drop(d);
        let (c, d) = UnixStream::pair().unwrap();
        assert_eq!(c.as_raw_fd(), number, "{kind}: lowest free number");
        sel.reregister(c.as_fd(), Token(3), Interest::READABLE, Mode::Level)
            .unwrap();
        let res = sel.register(c.as_fd(), Token(9), Interest::READABLE, Mode::Level);
        let moves = matches!(kind.name(), "select" | "epoll");
        let token = if moves {
            let err = res.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AlreadyExists, "{kind}: {err}");
            Token(3)
        } else {
            res.unwrap_or_else(|e| panic!("{kind}: the stale registration stays: {e}"));
            Token(9)
        };
        drop(d);
        expect_event(&sel, &mut ev, token, |e| e.is_read_closed(), SOON);
        let stray: Vec<_> = collect(&sel, &mut ev, QUIET)
            .into_iter()
            .filter(|e| e.token() != token)
            .collect();
        assert!(stray.is_empty(), "{kind}: {stray:?}");

        // Closed for good without deregister: the caller has no fd left,
        // only the number, and deregister_raw drops it, once.
        drop(c);
        sel.deregister_raw(number).unwrap();
        let err = sel.deregister_raw(number).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{kind}: {err}");
        let quiet = collect(&sel, &mut ev, QUIET);
        assert!(quiet.is_empty(), "{kind}: {quiet:?}");
    }
}
