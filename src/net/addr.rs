//! Socket addresses and the `Domain`/`Type`/`Protocol` newtypes, under the
//! socket layer's names (`sockpoll::net::SockAddr`, `sockpoll::SockAddr`).
//!
//! They are defined in `crate::addr`, a ground module below `sys`: the
//! system-call wrappers take and return `SockAddr`s, and `sys` may not
//! name anything in `net`.

pub(crate) use crate::addr::inet;
pub use crate::addr::{Domain, Protocol, SockAddr, Type, UNIX_PATH_MAX};
