//! The `echo_uring` example, black-box: command line, and behaviour under
//! load and faults in every mode the backend supports (large streams,
//! thousands of connections, half-close, resets, slow and silent readers,
//! the fd limit, UDP edge cases, bad arguments, signals). The test bodies
//! are in `util/echo/`, the same as for the other three backends.
#![cfg(uring)]

mod util;

util::echo::cli_tests!("uring");
util::echo::behaviour_tests!(level, "uring", None);
util::echo::behaviour_tests!(oneshot, "uring", Some("oneshot"));
util::echo::behaviour_tests!(edge, "uring", Some("edge"));

#[test]
fn ten_thousand_connections() {
    util::echo::behaviour::ten_thousand(util::echo::Cfg::new("uring", None));
}

#[test]
fn echo_load_udp_fifty_senders() {
    util::echo::load::many_senders(util::echo::Cfg::new("uring", None), 50);
}
