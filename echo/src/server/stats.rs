//! What the server counts, printed by the examples on exit.

use std::fmt;

/// What the server counted.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// Connections accepted and served.
    pub accepted: u64,
    /// Connections accepted but closed at once, because the selector
    /// refused to register them (`select` past its set size).
    pub refused: u64,
    /// TCP bytes received (each one is echoed).
    pub tcp_bytes: u64,
    /// TCP reads that returned data: one per message when clients send
    /// one message at a time and wait for its echo (`echo_load`'s
    /// ping-pong and fixed-rate modes).
    pub tcp_reads: u64,
    /// Datagrams received.
    pub datagrams: u64,
    /// Datagrams not echoed: the reply queue was full, or sending failed.
    pub datagrams_dropped: u64,
    /// Times the listener paused after running out of descriptors.
    pub backoffs: u64,
}

/// The summary line: `served N connections (R refused), …`.
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "served {} connections ({} refused), {} TCP bytes, {} datagrams ({} dropped), {} accept back-offs",
            self.accepted,
            self.refused,
            self.tcp_bytes,
            self.datagrams,
            self.datagrams_dropped,
            self.backoffs
        )
    }
}
