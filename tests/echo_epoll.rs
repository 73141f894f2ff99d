//! The `echo_epoll` example, black-box: command line, and behaviour under
//! load and faults in every mode the backend supports (large streams,
//! thousands of connections, half-close, resets, slow and silent readers,
//! the fd limit, UDP edge cases, bad arguments, signals). The test bodies
//! are in `util/echo/`.

mod util;

util::echo::cli_tests!("epoll");
util::echo::behaviour_tests!(level, "epoll", None);
util::echo::behaviour_tests!(oneshot, "epoll", Some("oneshot"));
util::echo::behaviour_tests!(edge, "epoll", Some("edge"));

#[test]
fn ten_thousand_connections() {
    util::echo::behaviour::ten_thousand(util::echo::Cfg::new("epoll", None));
}

#[test]
fn echo_load_udp_fifty_senders() {
    util::echo::load::many_senders(util::echo::Cfg::new("epoll", None), 50);
}

// echo_load's own checks, against stand-in servers (backend-independent,
// so here only).
#[test]
fn echo_load_udp_flags_corruption() {
    util::echo::load::corruption_is_an_error();
}

#[test]
fn echo_load_udp_counts_and_bounds_loss() {
    util::echo::load::loss_is_counted_and_bounded();
}

#[test]
fn echo_load_fixed_rate() {
    util::echo::load::fixed_rate(util::echo::Cfg::new("epoll", None));
}

#[test]
fn echo_load_churn() {
    util::echo::load::churn(util::echo::Cfg::new("epoll", None));
}

#[test]
fn echo_load_rate_mode_has_no_coordinated_omission() {
    util::echo::load::rate_mode_charges_a_stall_to_every_delayed_message();
}
