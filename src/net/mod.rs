//! The socket layer: addresses, name resolution, `Socket` and its typed wrappers.

pub(crate) mod addr;

pub use addr::{Domain, Protocol, SockAddr, Type, UNIX_PATH_MAX};
