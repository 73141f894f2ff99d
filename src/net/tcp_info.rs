//! `TCP_INFO`: the kernel's view of a TCP connection, typed.

use std::fmt;
use std::time::Duration;

/// A TCP connection's state: the eleven states of RFC 793 (as Linux numbers
/// them in `tcpi_state`), and any other number the kernel reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TcpState {
    /// `ESTABLISHED`: data flows both ways.
    Established,
    /// `SYN-SENT`: a connect is waiting for the peer's SYN-ACK.
    SynSent,
    /// `SYN-RECEIVED`: a SYN came and was answered; waiting for the ACK.
    SynReceived,
    /// `FIN-WAIT-1`: we closed (or shut down writing); our FIN is unacked.
    FinWait1,
    /// `FIN-WAIT-2`: our FIN is acked; waiting for the peer's FIN.
    FinWait2,
    /// `TIME-WAIT`: both sides closed; waiting out stray segments.
    TimeWait,
    /// `CLOSE`: no connection.
    Close,
    /// `CLOSE-WAIT`: the peer sent its FIN; we have not closed yet.
    CloseWait,
    /// `LAST-ACK`: the peer closed first, then we did; our FIN is unacked.
    LastAck,
    /// `LISTEN`: a listening socket.
    Listen,
    /// `CLOSING`: both sides sent FINs at once; ours is unacked.
    Closing,
    /// A number sockpoll does not name (Linux-internal states).
    Other(u8),
}

impl TcpState {
    /// The state for Linux's `tcpi_state` number (`TCP_ESTABLISHED` = 1 …
    /// `TCP_CLOSING` = 11).
    pub fn from_raw(state: u8) -> TcpState {
        match state {
            1 => TcpState::Established,
            2 => TcpState::SynSent,
            3 => TcpState::SynReceived,
            4 => TcpState::FinWait1,
            5 => TcpState::FinWait2,
            6 => TcpState::TimeWait,
            7 => TcpState::Close,
            8 => TcpState::CloseWait,
            9 => TcpState::LastAck,
            10 => TcpState::Listen,
            11 => TcpState::Closing,
            other => TcpState::Other(other),
        }
    }
}

impl fmt::Display for TcpState {
    /// The RFC 793 name: `ESTABLISHED`, `CLOSE-WAIT`, …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN-SENT",
            TcpState::SynReceived => "SYN-RECEIVED",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::TimeWait => "TIME-WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::LastAck => "LAST-ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Closing => "CLOSING",
            TcpState::Other(n) => return write!(f, "TCP state {n}"),
        };
        f.write_str(name)
    }
}

/// What `getsockopt(TCP_INFO)` reports of a connection (Linux's
/// `struct tcp_info`, the fields people reach for, typed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TcpInfo {
    /// The connection's state.
    pub state: TcpState,
    /// The smoothed round-trip time (`tcpi_rtt`).
    pub rtt: Duration,
    /// Its mean deviation (`tcpi_rttvar`).
    pub rtt_var: Duration,
    /// Segments retransmitted over the connection's life
    /// (`tcpi_total_retrans`).
    pub retransmits: u32,
    /// Unacknowledged segments retransmitted now (`tcpi_retransmits`).
    pub retransmitting: u8,
    /// The congestion window, in segments (`tcpi_snd_cwnd`).
    pub congestion_window: u32,
    /// The maximum segment size sent (`tcpi_snd_mss`), in bytes.
    pub send_mss: u32,
    /// Bytes the peer has acknowledged (`tcpi_bytes_acked`).
    pub bytes_acked: u64,
    /// Bytes received from the peer (`tcpi_bytes_received`).
    pub bytes_received: u64,
    /// The most recent delivery rate, in bytes per second
    /// (`tcpi_delivery_rate`).
    pub delivery_rate: u64,
}

#[cfg(linux_like)]
#[cfg_attr(docsrs, doc(cfg(any(target_os = "linux", target_os = "android"))))]
impl From<&libc::tcp_info> for TcpInfo {
    fn from(raw: &libc::tcp_info) -> TcpInfo {
        TcpInfo {
            state: TcpState::from_raw(raw.tcpi_state),
            rtt: Duration::from_micros(u64::from(raw.tcpi_rtt)),
            rtt_var: Duration::from_micros(u64::from(raw.tcpi_rttvar)),
            retransmits: raw.tcpi_total_retrans,
            retransmitting: raw.tcpi_retransmits,
            congestion_window: raw.tcpi_snd_cwnd,
            send_mss: raw.tcpi_snd_mss,
            bytes_acked: raw.tcpi_bytes_acked,
            bytes_received: raw.tcpi_bytes_received,
            delivery_rate: raw.tcpi_delivery_rate,
        }
    }
}
