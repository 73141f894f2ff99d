//! sockpoll: safe, thin types over the POSIX socket calls, and three
//! readiness backends (`select`, `poll`, `epoll`) behind one trait.
#![deny(missing_docs, missing_debug_implementations)]
#![warn(rust_2018_idioms)]

pub mod error;
pub mod event;
pub mod net;
mod sys;

pub use error::{EaiCode, Error, ResolveError, Result, Subject};
pub use event::{
    AnySelector, BackendKind, DefaultSelector, Event, Events, Interest, Mode, Selector, Token,
    Waker,
};
pub use net::{Domain, Protocol, SockAddr, Type, UNIX_PATH_MAX};
