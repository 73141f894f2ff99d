//! Black-box tests of the `echo_<backend>` examples: the harness
//! (`harness.rs`), the test bodies every backend runs (`cli.rs`,
//! `behaviour.rs`; `load.rs` runs `echo_load --udp` against them), and
//! the macros each `tests/echo_<backend>.rs`
//! instantiates them with ([`cli_tests!`] and [`behaviour_tests!`]).
//! General helpers come from the rest of `tests/util/`, one file a subject.
//!
//! Every test spawns its own server on port 0 of a loopback address, every
//! wait is bounded, and a [`Server`](harness::Server) kills its child on
//! drop, so a failing test never leaks a process.

pub mod behaviour;
pub mod cli;
mod harness;
pub mod load;

pub use harness::{binary, roundtrip, Cfg, Server};

// ---- instantiation ---------------------------------------------------------

/// The command-line tests of one backend, in a module `cli`.
macro_rules! cli_tests {
    ($backend:literal) => {
        mod cli {
            use nix::sys::signal::Signal;

            use crate::util::echo::cli as c;
            use crate::util::echo::Cfg;

            const CFG: Cfg = Cfg::new($backend, None);

            #[test]
            fn listening_line_names_port_and_udp_shares_it() {
                c::listening_line(CFG)
            }

            #[test]
            fn ipv6_tcp_and_udp() {
                c::ipv6(CFG)
            }

            #[test]
            fn host_name_is_resolved() {
                c::host_name(CFG)
            }

            #[test]
            fn sigint_exits_zero() {
                c::signal_exits_zero(CFG, Signal::SIGINT)
            }

            #[test]
            fn sigterm_exits_zero() {
                c::signal_exits_zero(CFG, Signal::SIGTERM)
            }

            #[test]
            fn help_mentions_default_address() {
                c::help_mentions_default(CFG)
            }

            #[test]
            fn bad_arguments_exit_2() {
                c::bad_arguments(CFG)
            }

            #[test]
            fn busy_tcp_port_is_one_clear_line() {
                c::busy_tcp_port(CFG)
            }

            #[test]
            fn busy_udp_port_is_one_clear_line() {
                c::busy_udp_port(CFG)
            }

            #[test]
            fn echo_client_talks_to_it() {
                c::echo_client(CFG)
            }
        }
    };
}
pub(crate) use cli_tests;

/// The behaviour tests of one backend in one mode, in a module `$name`.
macro_rules! behaviour_tests {
    ($name:ident, $backend:literal, $mode:expr) => {
        mod $name {
            use crate::util::echo::behaviour as c;
            use crate::util::echo::Cfg;

            const CFG: Cfg = Cfg::new($backend, $mode);

            #[test]
            fn large_stream_byte_exact() {
                c::large_stream(CFG)
            }

            #[test]
            fn five_hundred_clients() {
                c::many_clients(CFG, 500)
            }

            #[test]
            fn half_close_gets_everything_then_eof() {
                c::half_close(CFG)
            }

            #[test]
            fn reset_mid_stream_others_served() {
                c::reset_mid_stream(CFG)
            }

            #[test]
            fn never_reading_client_is_bounded() {
                c::never_reading_client(CFG)
            }

            #[test]
            fn trickle_one_byte_at_a_time() {
                c::trickle(CFG)
            }

            #[test]
            fn emfile_backs_off_and_recovers() {
                c::emfile(CFG)
            }

            #[test]
            fn udp_empty_and_max_datagrams() {
                c::udp_sizes(CFG)
            }

            #[test]
            fn udp_wildcard_replies_from_destination() {
                c::udp_reply_from_destination(CFG)
            }

            #[test]
            fn udp_burst_mostly_echoed() {
                c::udp_burst(CFG)
            }

            #[test]
            fn idle_burns_no_cpu() {
                c::idle_cpu(CFG)
            }

            #[test]
            fn no_fd_leak_after_200_connections() {
                c::no_fd_leak(CFG)
            }
        }
    };
}
pub(crate) use behaviour_tests;
