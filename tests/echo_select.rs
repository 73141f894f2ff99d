//! The `echo_select` example, black-box: command line, and behaviour under
//! load and faults in every mode the backend supports (large streams,
//! thousands of connections, half-close, resets, slow and silent readers,
//! the fd limit, UDP edge cases, bad arguments, signals). The test bodies
//! are in `echo_common`.

mod echo_common;

echo_common::cli_tests!("select");
echo_common::behaviour_tests!(level, "select", None);
echo_common::behaviour_tests!(oneshot, "select", Some("oneshot"));

#[test]
fn edge_mode_is_refused() {
    echo_common::cli::assert_refused("select", &["--mode", "edge", "127.0.0.1:0"], "edge", 2);
}

#[test]
fn ten_thousand_connections() {
    echo_common::behaviour::ten_thousand(echo_common::Cfg::new("select", None));
}

#[test]
fn echo_load_udp_fifty_senders() {
    echo_common::load::many_senders(echo_common::Cfg::new("select", None), 50);
}
