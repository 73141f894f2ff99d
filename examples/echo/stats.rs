//! What the server counts, printed by the examples on exit.

use std::fmt;

/// What the server counted.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub accepted: u64,
    pub refused: u64,
    pub tcp_bytes: u64,
    pub datagrams: u64,
    pub datagrams_dropped: u64,
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
