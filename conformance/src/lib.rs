//! The conformance suite of [`sockpoll`]'s [`Selector`] trait, as a
//! library: run it against your own backend, and learn whether it behaves
//! like `select`, `poll` and `epoll` do — the same events, flags, errors,
//! timeouts and thread behaviour, case by case. sockpoll's own tests run
//! every backend it has through this crate.
//!
//! One entry point, [`conformance_tests!`]: given a module name, a
//! constructor of the selector under test (`Fn() -> sockpoll::Result<S>`)
//! and the [`Capabilities`] it declares, it expands to a module with one
//! `#[test]` per case, so a failure names its case. Put it in an
//! integration test (`tests/conformance.rs`):
//!
//! ```
//! use sockpoll::event::PollSelector;
//! use sockpoll_conformance::{conformance_tests, Capabilities};
//!
//! // Poll has no edge modes and no exclusive wake-ups: the harness checks
//! // that it refuses them with a typed `Unsupported` error.
//! conformance_tests!(poll, PollSelector::new, Capabilities::level_only().name("poll"));
//! # fn main() {}
//! ```
//!
//! The cases are also plain functions in [`cases`], and the helpers they
//! use (tolerant event collection, socket pairs, pipes…) are in
//! [`support`].
//!
//! # Capabilities
//!
//! A backend declares what it lacks rather than failing for it: a case that
//! needs a capability the backend declares it lacks checks that the
//! backend *refuses* it cleanly (a typed [`sockpoll::Error::Unsupported`]
//! naming the call), never skips silently. Where the trait can tell
//! (`supports`, `fd_limit`, `timeout_resolution`, `name`), the declaration
//! is checked against the backend too. See [`Capabilities`].
//!
//! # Panics
//!
//! Every case panics with a message naming the backend and the broken
//! promise when the selector under test does not conform (or its
//! constructor fails): this is a test library, for `#[test]` functions.
//!
//! # What the cases need
//!
//! Loopback IPv4 (IPv6 where `[::1]` can be bound), Unix sockets and
//! pipes; a hard fd limit of at least 10,500 (`ten_thousand_fds` raises the
//! soft limit itself); Linux's `/proc` for the case counting woken threads
//! (elsewhere it waits its bound). Cases run in parallel in one process.
//!
//! [`Selector`]: sockpoll::event::Selector

mod caps;
pub mod cases;
pub mod support;

pub use caps::Capabilities;

/// Expands to `mod $name { ... }` holding one `#[test]` per case of
/// [`cases`], each calling the case with the constructor `$new` (an
/// expression: a function such as `PollSelector::new`, or a closure
/// `|| -> sockpoll::Result<S> { .. }`, evaluated once per test) and the
/// [`Capabilities`] `$caps` (an expression, evaluated once per test).
///
/// The selector type must be `'static` (the thread cases share it through
/// an `Arc`) and the constructor `Sync` (the herd case calls it from three
/// threads): any owned selector and any closure that captures nothing
/// qualify. Names in `$new` and `$caps` resolve as where the macro is
/// invoked (the module imports `super::*`). Put `#[cfg(..)]` in front of the invocation
/// for a backend that exists on some targets only.
///
/// ```
/// use sockpoll::event::{AnySelector, BackendKind, Selector};
/// use sockpoll_conformance::{conformance_tests, Capabilities};
///
/// conformance_tests!(any_select, || AnySelector::new(BackendKind::Select),
///     Capabilities::level_only().name("select").read_closed_before_drained(false));
/// conformance_tests!(boxed, || -> sockpoll::Result<Box<dyn Selector>> {
///     Ok(Box::new(sockpoll::event::PollSelector::new()?))
/// }, Capabilities::level_only());
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($name:ident, $new:expr, $caps:expr $(,)?) => {
        #[allow(unused_imports)]
        mod $name {
            use super::*;

            $crate::conformance_tests!(@cases $new, $caps;
                declared_capabilities_match
                level_refires_until_drained
                writable_and_both
                reregister_changes_token_and_interest
                oneshot_fires_once_then_rearms
                edge_once_per_edge_or_unsupported
                already_exists_and_not_found
                peer_close_is_read_closed
                reset_is_error_or_read_closed
                closed_registered_fd_does_not_spin
                stale_events_are_skipped
                reused_number_is_never_reported_under_the_old_token
                reused_number_registers_afresh
                reused_number_after_reregister_is_never_reported_under_the_old_token
                deregister_raw_and_by_token
                timeouts
                waker_ends_infinite_wait
                wakes_coalesce
                signals_do_not_end_the_wait
                signals_end_an_interruptible_wait
                udp_unix_and_pipes
                listener_is_readable_not_read_closed
                events_capacity_and_fairness
                huge_capacities_clamp_and_work
                debug_output
                ten_thousand_fds
                a_burst_is_reported_by_one_wait
                is_send_and_sync
                register_wakes_a_blocked_wait
                reregister_wakes_a_blocked_wait
                deregistered_is_never_reported_afterwards
                none_while_another_thread_waits_gets_nothing
                notify_wakes_without_a_waker
                metrics_count_waits_events_and_blocked_time
                a_second_wait_waits_its_turn
                stress_model
                edge_oneshot
                none_interest
                priority_from_out_of_band_data
                exclusive_registration
                a_refused_reregister_changes_nothing
                exclusive_wakes_one_waiter_not_all
            );
        }
    };
    (@cases $new:expr, $caps:expr; $($case:ident)*) => {
        $(
            #[test]
            fn $case() {
                $crate::cases::$case($new, $caps);
            }
        )*
    };
}
