//! What sockpoll's echo examples are made of, as a crate of its own so that
//! the examples, the benches and nothing else share one copy:
//!
//! - [`server`]: the single-threaded TCP + UDP echo loop, generic over
//!   [`Selector`](sockpoll::event::Selector); the benches measure exactly
//!   this loop.
//! - [`program`]: the whole `echo_<backend>` program around it (command
//!   line, descriptor limit, the `listening on` line, signals, exit status);
//!   each `examples/echo_<backend>.rs` is one call of
//!   [`program::main_for`].
//! - `multi`: the `echo_multi` program, N loops of [`server`] on one port
//!   (reuseport, exclusive or handoff balance), which
//!   `examples/echo_multi.rs` runs (not on illumos: no `SO_REUSEPORT`).
//! - [`load`]: the `echo_load` generator (TCP ping-pong or pipelined, UDP
//!   windows), which `examples/echo_load.rs` runs.
//!
//! It is never published: it is the examples' code, not an API.

pub mod load;
// Every loop binds the port with SO_REUSEPORT, which illumos lacks.
#[cfg(not(any(target_os = "illumos", target_os = "solaris")))]
pub mod multi;
pub mod program;
pub mod server;
