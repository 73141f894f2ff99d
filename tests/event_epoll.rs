//! What only the epoll backend does: the kernel's own refusals of a
//! `reregister` (an exclusive entry must be deleted and added again), and
//! the replacement of the instance when a closed file lingers.

#![cfg(target_os = "linux")]

mod util;

use std::io::Write;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags};
use sockpoll::event::{EpollSelector, Events, Interest, Mode, Selector, Token};
use sockpoll_conformance::support::reuse_number;
use util::*;

/// The kernel refuses `EPOLLEXCLUSIVE` for an epoll instance as the target
/// (`EINVAL`). Reregistering a registered epoll fd as exclusive deletes the
/// entry, then has the add refused: the old entry is put back, so the
/// failed call changes nothing.
#[test]
fn a_reregister_the_kernel_refuses_leaves_the_old_registration() {
    let sel = EpollSelector::new().unwrap();
    let inner = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).unwrap();
    let (a, mut b) = uds_pair();
    inner
        .add(&a, EpollEvent::new(EpollFlags::EPOLLIN, 0))
        .unwrap();
    sel.register(inner.0.as_fd(), Token(1), Interest::READABLE, Mode::Level)
        .unwrap();
    let err = sel
        .reregister(
            inner.0.as_fd(),
            Token(2),
            Interest::READABLE | Interest::EXCLUSIVE,
            Mode::Level,
        )
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(22), "EINVAL: {err}");
    assert_eq!(err.call(), "epoll_ctl", "{err}");
    // Still registered, under the old token: the inner instance turns
    // readable when `a` does.
    let mut ev = Events::with_capacity(4);
    b.write_all(b"x").unwrap();
    expect_event(&sel, &mut ev, Token(1), |e| e.is_readable(), SOON);
    let got = collect(&sel, &mut ev, QUIET);
    assert!(got.iter().all(|e| e.token() == Token(1)), "{got:?}");
    sel.deregister(inner.0.as_fd()).unwrap();
}

/// An exclusive registration closed without `deregister`, its number
/// reused by a socket nobody registered, then the instance replaced (a
/// closed file kept open by a dup forces it): the replacement must not
/// watch the new socket under the old registration's token.
#[test]
fn a_replaced_instance_never_carries_an_exclusive_registration_to_a_new_file() {
    let sel = EpollSelector::new().unwrap();
    let (x, _x_peer) = uds_pair();
    let ex = Interest::READABLE | Interest::EXCLUSIVE;
    sel.register(x.as_fd(), Token(1), ex, Mode::Level).unwrap();
    // Closed without deregister; the number now holds another socket.
    let (y, mut y_peer) = reuse_number(x);
    // A registration closed while a dup keeps its file open: deregistering
    // its number makes the selector replace its instance.
    let (z, _z_peer) = uds_pair();
    let z_dup = z.as_fd().try_clone_to_owned().unwrap();
    let zn = z.as_raw_fd();
    sel.register(z.as_fd(), Token(2), Interest::READABLE, Mode::Level)
        .unwrap();
    drop(z);
    sel.deregister_raw(zn).unwrap();
    y_peer.write_all(b"not for token 1").unwrap();
    let mut ev = Events::with_capacity(4);
    let got = collect(&sel, &mut ev, Duration::from_millis(200));
    assert!(got.is_empty(), "another file under the old token: {got:?}");
    // The new socket registers as usual (the stale registration is
    // replaced).
    sel.register(y.as_fd(), Token(3), ex, Mode::Level).unwrap();
    expect_event(&sel, &mut ev, Token(3), |e| e.is_readable(), SOON);
    drop(z_dup);
}
