//! The cases, one public function each: what
//! [`conformance_tests!`](crate::conformance_tests) turns into one
//! `#[test]` apiece, for callers who would rather call them by hand:
//!
//! ```no_run
//! use sockpoll::event::PollSelector;
//! use sockpoll_conformance::{cases, Capabilities};
//!
//! let caps = Capabilities::level_only().name("poll");
//! cases::level_refires_until_drained(PollSelector::new, caps);
//! cases::edge_once_per_edge_or_unsupported(PollSelector::new, caps);
//! ```
//!
//! Each takes the constructor of the selector under test (called once per
//! case, a few times by the cases that need several selectors) and the
//! [`Capabilities`] it declares. Each makes its own sockets on loopback
//! (port 0), pipes and Unix socket pairs, bounds every wait, and may run in
//! parallel with the others in one process (the cases that open thousands
//! of fds take [`big_fd_lock`](crate::support::big_fd_lock) and raise the
//! soft fd limit; `signals_do_not_end_the_wait` installs a `SIGUSR1`
//! handler that only sets a flag).
//!
//! # Panics
//!
//! A case panics, with a message naming the backend and what went wrong,
//! when the selector breaks the contract or the constructor fails: this is
//! a test library. A case returns normally when the backend conforms.

mod basic;
mod modes;
mod shared;

pub use basic::*;
pub use modes::*;
pub use shared::*;

use sockpoll::event::{Event, Selector};
use sockpoll::Result;

use crate::Capabilities;

/// `EEXIST`, which `register` of a registered file must carry as errno.
const EEXIST: i32 = nix::errno::Errno::EEXIST as i32;

/// Makes the selector under test, checking the name it declares.
fn make<S: Selector, F: Fn() -> Result<S>>(new: &F, caps: &Capabilities) -> S {
    let sel = new().unwrap_or_else(|e| panic!("the selector's constructor failed: {e}"));
    if let Some(name) = caps.name {
        assert_eq!(sel.name(), name, "the declared name");
    }
    sel
}

fn readable(e: &Event) -> bool {
    e.is_readable()
}

fn writable(e: &Event) -> bool {
    e.is_writable()
}
