//! The `echo_epoll` example, black-box: command line, and behaviour under
//! load and faults in every mode the backend supports (large streams,
//! thousands of connections, half-close, resets, slow and silent readers,
//! the fd limit, UDP edge cases, bad arguments, signals). The test bodies
//! are in `echo_common`.

mod echo_common;

echo_common::cli_tests!("epoll");
echo_common::behaviour_tests!(level, "epoll", None);
echo_common::behaviour_tests!(oneshot, "epoll", Some("oneshot"));
echo_common::behaviour_tests!(edge, "epoll", Some("edge"));

#[test]
fn ten_thousand_connections() {
    echo_common::behaviour::ten_thousand(echo_common::Cfg::new("epoll", None));
}

#[test]
fn echo_load_udp_fifty_senders() {
    echo_common::load::many_senders(echo_common::Cfg::new("epoll", None), 50);
}

// echo_load's own checks, against stand-in servers (backend-independent,
// so here only).
#[test]
fn echo_load_udp_flags_corruption() {
    echo_common::load::corruption_is_an_error();
}

#[test]
fn echo_load_udp_counts_and_bounds_loss() {
    echo_common::load::loss_is_counted_and_bounded();
}
