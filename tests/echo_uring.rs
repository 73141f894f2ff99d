//! The `echo_uring` example, black-box: command line, and behaviour under
//! load and faults in every mode the backend supports (large streams,
//! thousands of connections, half-close, resets, slow and silent readers,
//! the fd limit, UDP edge cases, bad arguments, signals). The test bodies
//! are in `echo_common`, the same as for the other three backends.
#![cfg(all(target_os = "linux", feature = "uring"))]

mod echo_common;

echo_common::cli_tests!("uring");
echo_common::behaviour_tests!(level, "uring", None);
echo_common::behaviour_tests!(oneshot, "uring", Some("oneshot"));
echo_common::behaviour_tests!(edge, "uring", Some("edge"));

#[test]
fn ten_thousand_connections() {
    echo_common::behaviour::ten_thousand(echo_common::Cfg::new("uring", None));
}

#[test]
fn echo_load_udp_fifty_senders() {
    echo_common::load::many_senders(echo_common::Cfg::new("uring", None), 50);
}
