//! Connections handed to a loop by another thread: `echo_multi`'s
//! `handoff` balance, where one acceptor thread accepts every connection
//! and gives each to a loop. The acceptor [`push`](Handoff::push)es the
//! connection and calls the loop's `Selector::notify`; the loop takes what
//! waits after its `wait` returns.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sockpoll::event::Selector;
use sockpoll::TcpStream;

use super::Server;

/// One loop's inbox, and how many connections it serves (what the acceptor
/// balances on).
#[derive(Debug, Default)]
pub struct Handoff {
    inbox: Mutex<Vec<(TcpStream, SocketAddr)>>,
    /// Pushed and not yet taken: the loop looks at this, not the lock.
    waiting: AtomicUsize,
    /// Connections the loop serves now.
    live: AtomicUsize,
}

impl Handoff {
    /// Queues a connection for the loop; then wake it (its selector's
    /// `notify`).
    pub fn push(&self, stream: TcpStream, peer: SocketAddr) {
        let mut inbox = self.inbox.lock().unwrap_or_else(|p| p.into_inner());
        inbox.push((stream, peer));
        self.waiting.fetch_add(1, Ordering::Release);
    }

    /// Connections the loop serves now, and those queued for it.
    pub fn load(&self) -> usize {
        self.live.load(Ordering::Relaxed) + self.waiting.load(Ordering::Relaxed)
    }

    pub(super) fn served(&self, delta: isize) {
        if delta >= 0 {
            self.live.fetch_add(delta.unsigned_abs(), Ordering::Relaxed);
        } else {
            self.live.fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
        }
    }
}

impl<S: Selector> Server<S> {
    /// After a wait: serve what the acceptor handed over.
    pub(super) fn take_handoffs(&mut self) {
        let Some(handoff) = &self.handoff else {
            return;
        };
        if handoff.waiting.load(Ordering::Acquire) == 0 {
            return;
        }
        let batch = {
            let mut inbox = handoff.inbox.lock().unwrap_or_else(|p| p.into_inner());
            handoff.waiting.fetch_sub(inbox.len(), Ordering::Relaxed);
            std::mem::take(&mut *inbox)
        };
        for (stream, peer) in batch {
            // The acceptor's socket was blocking: the loop's are not.
            match stream.as_socket().set_nonblocking(true) {
                Ok(()) => self.add_conn(stream, peer),
                Err(e) => self.log.line(format_args!("dropping {peer}: {e}")),
            }
        }
    }
}
