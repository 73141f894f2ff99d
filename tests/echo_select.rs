//! The `echo_select` example, black-box: command line, and behaviour under
//! load and faults in every mode the backend supports (large streams,
//! thousands of connections, half-close, resets, slow and silent readers,
//! the fd limit, UDP edge cases, bad arguments, signals). The test bodies
//! are in `util/echo/`.

mod util;

util::echo::cli_tests!("select");
util::echo::behaviour_tests!(level, "select", None);
util::echo::behaviour_tests!(oneshot, "select", Some("oneshot"));

#[test]
fn edge_mode_is_refused() {
    util::echo::cli::assert_refused("select", &["--mode", "edge", "127.0.0.1:0"], "edge", 2);
}

#[test]
fn ten_thousand_connections() {
    util::echo::behaviour::ten_thousand(util::echo::Cfg::new("select", None));
}

#[test]
fn echo_load_udp_fifty_senders() {
    util::echo::load::many_senders(util::echo::Cfg::new("select", None), 50);
}
