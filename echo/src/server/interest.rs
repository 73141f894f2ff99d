//! How each readiness mode is armed: the one place that knows. Every
//! socket of the loop (a connection, the listener, the UDP socket) ends its
//! turn by asking [`next`] what to tell the selector, and whether it needs
//! another turn before the next wait.

use sockpoll::event::{Interest, Mode};

/// What a socket does after its turn.
pub(super) struct Next {
    /// Take another turn before the next wait: the budget ran out, and
    /// edge and oneshot mode will not report what is left.
    pub again: bool,
    /// What the selector should watch for the socket from now on...
    pub interest: Interest,
    /// ...and whether it must be told (registered or re-registered).
    pub tell: bool,
}

/// Decides [`Next`] in `mode` for a socket the selector watches for `held`
/// (`None`: a new connection, not registered yet) that now needs `want`,
/// after a turn that did or did not stop at its budget (`spent`).
pub(super) fn next(mode: Mode, held: Option<Interest>, want: Interest, spent: bool) -> Next {
    // Level mode reports a ready socket at every wait.
    let again = spent && mode != Mode::Level;
    let (interest, tell) = match (mode, held) {
        // Edge: a new connection is registered for both directions once: a
        // writable edge flushes, reading resumes in the same turn, and no
        // message costs a re-registration.
        (Mode::Edge, None) => (want | Interest::WRITABLE, true),
        (_, None) => (want, true),
        // Level: re-register only when the wanted interest changed (never
        // per message).
        (Mode::Level, Some(held)) => (want, want != held),
        // Edge: add a direction the socket now needs; never drop one.
        (Mode::Edge, Some(held)) => (held | want, !covers(held, want)),
        // Oneshot: every event disarms; re-arm unless the turn to come will.
        (Mode::Oneshot | Mode::EdgeOneshot, Some(_)) => (want, !again),
    };
    Next {
        again,
        interest,
        tell,
    }
}

/// `held` includes every direction of `want`.
fn covers(held: Interest, want: Interest) -> bool {
    (held.is_readable() || !want.is_readable()) && (held.is_writable() || !want.is_writable())
}
