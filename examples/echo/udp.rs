//! The UDP side: every datagram goes back to its sender; what the send
//! buffer does not take waits in a bounded queue.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::AsFd;

use sockpoll::event::{Interest, Selector};
use sockpoll::UdpSocket;

use super::{interest, Server, UDP};

/// Datagrams per UDP event.
const UDP_BUDGET: usize = 64;
/// Datagrams held while the UDP send buffer is full; more are dropped.
const UDP_QUEUE_MAX: usize = 1024;
/// Room for any UDP payload (65,507 over IPv4, 65,527 over IPv6).
const UDP_BUF: usize = 65_536;

/// The UDP socket and what waits to be sent on it.
pub(super) struct Udp {
    socket: UdpSocket,
    buf: Vec<u8>,
    queue: VecDeque<(Vec<u8>, SocketAddr)>,
    /// What the selector currently watches for the socket.
    registered: Interest,
    /// Datagrams left after the budget (edge and oneshot).
    pub(super) again: bool,
}

impl Udp {
    pub(super) fn new(socket: UdpSocket) -> Udp {
        Udp {
            socket,
            buf: vec![0; UDP_BUF],
            queue: VecDeque::new(),
            registered: Interest::READABLE,
            again: false,
        }
    }
}

impl<S: Selector> Server<S> {
    /// The UDP socket is ready: send what waits, then echo up to the budget.
    pub(super) fn udp_ready(&mut self, writable: bool) {
        if writable || !self.udp.queue.is_empty() {
            self.udp_flush();
        }
        let mut spent = true;
        for _ in 0..UDP_BUDGET {
            match self.udp.socket.as_socket().recv_from(&mut self.udp.buf) {
                Ok((n, from)) => {
                    self.stats.datagrams += 1;
                    if let Some(from) = from.as_socket() {
                        self.udp_echo(n, from);
                    }
                }
                Err(e) if e.is_would_block() => {
                    spent = false;
                    break;
                }
                // The socket's own trouble, logged like the listener's.
                Err(e) => {
                    self.log.line(format_args!("{e}"));
                    spent = false;
                    break;
                }
            }
        }
        let want = if self.udp.queue.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        let mode = self.opts.mode;
        let next = interest::next(mode, Some(self.udp.registered), want, spent);
        self.udp.again |= next.again;
        if next.tell {
            let fd = self.udp.socket.as_fd();
            // Unchanged on failure: the next turn tries again.
            if let Err(e) = self.selector.reregister(fd, UDP, next.interest, mode) {
                self.log.line(format_args!("{e}"));
            } else {
                self.udp.registered = next.interest;
            }
        }
    }

    /// Sends the `n` bytes just received back to `from`, or queues them.
    fn udp_echo(&mut self, n: usize, from: SocketAddr) {
        let udp = &mut self.udp;
        if udp.queue.is_empty() {
            match udp.socket.as_socket().send_to(&udp.buf[..n], &from.into()) {
                Ok(_) => return,
                Err(e) if e.is_would_block() => {}
                // e.g. a peer address the route rejects: drop it.
                Err(e) => {
                    self.udp_dropped(from, &e);
                    return;
                }
            }
        }
        if udp.queue.len() < UDP_QUEUE_MAX {
            udp.queue.push_back((udp.buf[..n].to_vec(), from));
        } else {
            self.stats.datagrams_dropped += 1;
        }
    }

    /// Sends queued datagrams until the queue is empty or the socket full.
    fn udp_flush(&mut self) {
        while let Some((datagram, to)) = self.udp.queue.front() {
            match self.udp.socket.as_socket().send_to(datagram, &(*to).into()) {
                Ok(_) => {}
                Err(e) if e.is_would_block() => return,
                Err(e) => self.udp_dropped(*to, &e),
            }
            self.udp.queue.pop_front();
        }
    }

    /// A datagram for `to` failed to go: one peer's trouble, so (as for a
    /// connection's error) it is counted, and logged only when verbose.
    fn udp_dropped(&mut self, to: SocketAddr, err: &sockpoll::Error) {
        self.stats.datagrams_dropped += 1;
        if self.opts.verbose {
            self.log
                .line(format_args!("dropping a datagram for {to}: {err}"));
        }
    }
}
