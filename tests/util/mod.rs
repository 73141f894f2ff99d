//! Helpers shared by the test files, one subject a module: `net` (socket
//! pairs, addresses), `bytes` (test data), `stream` (reading to EOF),
//! `signals` (interrupting a blocking call), `process` (running a child
//! with a deadline), `procfs` (a process's descriptors and threads), `echo`
//! (the black-box harness of the echo examples);
//! here, the readiness helpers (tolerant event collection with bounded
//! deadlines), which live in the conformance harness
//! (`sockpoll_conformance::support`) and are re-exported. Each test binary
//! pulls this in with `mod util;` and uses a different subset.
#![allow(dead_code, unused_imports, unused_macros)]

pub mod bytes;
pub mod echo;
pub mod net;
pub mod process;
pub mod procfs;
pub mod signals;
pub mod stream;

// The readiness helpers are the conformance harness's own (its cases use
// them); re-exported so that the other test files name them as before.
pub use sockpoll_conformance::support::{
    big_fd_lock, collect, expect_event, raise_fd_limit, thread_cpu, uds_pair, QUIET, SOON,
};
