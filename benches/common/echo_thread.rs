//! The examples' echo loop (`sockpoll_echo::server`, default options) on a
//! thread of its own pinned to CPU 1, as the `echo` and `udp` benches run
//! it.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread::JoinHandle;

use sockpoll::event::Selector;
use sockpoll_echo::server::{Options, Server, Stopper};

use super::cpu::pin_to;

/// A started loop: where it listens, its thread's id (for that thread's CPU
/// time), what stops it, and the thread.
pub struct EchoThread {
    pub addr: SocketAddr,
    pub tid: i32,
    pub stopper: Stopper,
    pub join: JoinHandle<()>,
}

/// Starts the loop on a selector from `make`, bound to 127.0.0.1:0, and
/// returns once it listens.
pub fn start<S: Selector + 'static>(make: fn() -> sockpoll::Result<S>) -> EchoThread {
    let (tx, rx) = mpsc::channel();
    let join = std::thread::spawn(move || {
        pin_to(1);
        let sel = make().expect("selector");
        let mut server =
            Server::bind(sel, "127.0.0.1:0", Options::default()).unwrap_or_else(|_| panic!("bind"));
        let tid = nix::unistd::gettid().as_raw();
        tx.send((server.local_addr(), server.stopper.clone(), tid))
            .expect("send");
        server.run().expect("echo loop");
    });
    let (addr, stopper, tid) = rx.recv().expect("server start");
    EchoThread {
        addr,
        tid,
        stopper,
        join,
    }
}
