//! sockpoll: safe, thin types over the POSIX socket calls, and three
//! readiness backends (`select`, `poll`, `epoll`) behind one trait.
#![deny(missing_docs, missing_debug_implementations)]
#![warn(rust_2018_idioms)]

pub mod error;
pub mod net;
mod sys;

pub use error::{EaiCode, Error, ResolveError, Result, Subject};
pub use net::{Domain, Protocol, SockAddr, Type, UNIX_PATH_MAX};
