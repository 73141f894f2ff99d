//! A selector nested in another event loop through its descriptor
//! (`AsFd` on `EpollSelector` and `UringSelector`; `select` and `poll`
//! have no kernel object to hand out): registered in another sockpoll
//! selector of each backend, and in a plain `poll(2)`, it wakes that loop
//! when one of its own sockets becomes ready — also for a registration
//! made while nobody waits on it, and for `notify`.

#![cfg(target_os = "linux")]

mod util;

use std::io::Write;
use std::os::fd::AsFd;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use sockpoll::event::{
    AnySelector, BackendKind, EpollSelector, Events, Interest, Mode, Selector, Token,
};
use sockpoll_conformance::support::drain;
use util::*;

/// A constructor of a nestable selector.
type MakeInner = Box<dyn Fn() -> Box<dyn NestedSelector>>;

/// The nestable backends, by name.
fn inners() -> Vec<(&'static str, MakeInner)> {
    #[cfg_attr(not(uring), allow(unused_mut))]
    let mut v: Vec<(&'static str, MakeInner)> = vec![(
        "epoll",
        Box::new(|| Box::new(EpollSelector::new().unwrap())),
    )];
    #[cfg(uring)]
    v.push((
        "uring",
        Box::new(|| Box::new(sockpoll::event::UringSelector::new().unwrap())),
    ));
    v
}

/// A selector with a descriptor to nest.
trait NestedSelector: Selector + AsFd {}
impl<S: Selector + AsFd> NestedSelector for S {}

/// Drains the inner selector: every event of one zero-timeout wait.
fn inner_tokens(inner: &dyn NestedSelector) -> Vec<Token> {
    let mut ev = Events::with_capacity(16);
    inner.wait(&mut ev, Some(Duration::ZERO)).unwrap();
    let mut tokens = Vec::new();
    while let Some(e) = inner.next_event(&mut ev) {
        tokens.push(e.token());
    }
    tokens
}

/// The outer loop's wait until `inner` is reported (bounded), then the
/// inner's events; `None` when the outer never reported it.
fn outer_round(
    outer: &dyn Selector,
    inner: &dyn NestedSelector,
    within: Duration,
) -> Option<Vec<Token>> {
    let mut ev = Events::with_capacity(8);
    outer.wait(&mut ev, Some(within)).unwrap();
    let mut hit = false;
    while let Some(e) = outer.next_event(&mut ev) {
        assert_eq!(e.token(), Token(100), "{e:?}");
        assert!(e.is_readable(), "{e:?}");
        hit = true;
    }
    hit.then(|| inner_tokens(inner))
}

#[test]
fn a_nested_selector_wakes_every_outer_backend() {
    for (inner_name, make_inner) in inners() {
        for &outer_kind in BackendKind::ALL {
            let what = format!("{inner_name} in {outer_kind}");
            let inner = make_inner();
            let outer = AnySelector::new(outer_kind).unwrap();
            let (a, mut a_peer) = uds_pair();
            inner
                .register(a.as_fd(), Token(1), Interest::READABLE, Mode::Level)
                .unwrap();
            outer
                .register(inner.as_fd(), Token(100), Interest::READABLE, Mode::Level)
                .unwrap();
            // Quiet at first: at most a wait that finds nothing (uring's
            // first `as_fd` asks for one wait, which arms it).
            let mut quiet = 0;
            while let Some(tokens) = outer_round(&outer, &*inner, Duration::from_millis(50)) {
                assert!(tokens.is_empty(), "{what}: {tokens:?}");
                quiet += 1;
                assert!(quiet < 3, "{what}: the outer loop spins");
            }
            // Data on the inner's socket wakes the outer loop.
            a_peer.write_all(b"x").unwrap();
            let tokens = outer_round(&outer, &*inner, SOON).unwrap_or_default();
            assert_eq!(tokens, [Token(1)], "{what}: data");
            // Read it: the outer loop goes quiet (one empty round allowed:
            // a level registration is looked at once more).
            drain(&mut &a);
            let mut rounds = 0;
            while let Some(tokens) = outer_round(&outer, &*inner, Duration::from_millis(50)) {
                assert!(tokens.is_empty(), "{what}: {tokens:?}");
                rounds += 1;
                assert!(rounds < 3, "{what}: readable with nothing to report");
            }
            // A registration made while nobody waits on the inner selector.
            let (b, _b_peer) = uds_pair();
            inner
                .register(b.as_fd(), Token(2), Interest::WRITABLE, Mode::Oneshot)
                .unwrap();
            let mut got = Vec::new();
            for _ in 0..3 {
                got.extend(outer_round(&outer, &*inner, SOON).unwrap_or_default());
                if got.contains(&Token(2)) {
                    break;
                }
            }
            assert!(got.contains(&Token(2)), "{what}: new registration: {got:?}");
            // notify ends the next inner wait, and wakes the outer loop.
            inner.notify().unwrap();
            assert!(
                outer_round(&outer, &*inner, SOON).is_some(),
                "{what}: notify"
            );
            outer.deregister(inner.as_fd()).unwrap();
        }
    }
}

#[test]
fn a_nested_selector_wakes_a_plain_poll() {
    for (name, make_inner) in inners() {
        let inner = make_inner();
        let (a, mut a_peer) = uds_pair();
        inner
            .register(a.as_fd(), Token(1), Interest::READABLE, Mode::Edge)
            .unwrap();
        let fd = inner.as_fd();
        // Settle: the first `as_fd` of uring asks for one wait.
        inner_tokens(&*inner);
        let ready = |ms: u16| {
            let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
            poll(&mut fds, PollTimeout::from(ms)).unwrap() == 1
        };
        assert!(!ready(50), "{name}: readable with nothing ready");
        a_peer.write_all(b"x").unwrap();
        assert!(ready(5000), "{name}: poll(2) never saw it");
        assert_eq!(inner_tokens(&*inner), [Token(1)], "{name}");
        // Edge: reported once; nothing left for poll(2) to see.
        assert!(!ready(50), "{name}: still readable");
    }
}
