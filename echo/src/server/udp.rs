//! The UDP side: every datagram goes back to its sender, in batches
//! (`recvmmsg`/`sendmmsg`, one by one where the kernel has no batch calls);
//! what the send buffer does not take waits in a bounded queue.
//!
//! Bound to a wildcard address (`0.0.0.0`, `[::]`), the server answers each
//! datagram from the address it was sent to, read from its `IP_PKTINFO` /
//! `IPV6_PKTINFO`: a multi-homed server must, or a client that `connect`ed
//! its socket to one of our addresses drops a reply that comes from another.
//!
//! Message I/O is Linux-only in sockpoll: elsewhere the server takes one
//! datagram per `recvfrom` and answers with `sendto`, from whichever local
//! address routing picks.

use std::collections::VecDeque;
#[cfg(target_os = "linux")]
use std::io::{IoSlice, IoSliceMut};
#[cfg(target_os = "linux")]
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;

use sockpoll::event::{Interest, Selector};
#[cfg(target_os = "linux")]
use sockpoll::{
    cmsg_space, Cmsg, CmsgBuffer, CmsgKind, ControlMessage, MmsgBatch, RecvMsg, SendMsg,
};
use sockpoll::{SockAddr, UdpSocket};

use super::{interest, Server, UDP};

/// Datagrams received (and answered) per call.
const BATCH: usize = 32;
/// Datagrams per UDP event: a busy UDP socket cannot starve the TCP side.
const UDP_BUDGET: usize = 64;
/// Datagrams held while the UDP send buffer is full; more are dropped.
const UDP_QUEUE_MAX: usize = 1024;
/// Room for any UDP payload (65,507 over IPv4, 65,527 over IPv6).
const UDP_BUF: usize = 65_536;
/// Control space per datagram: its packet info (either family), with room
/// for one more message the kernel may add.
#[cfg(target_os = "linux")]
const CONTROL: usize = 2 * cmsg_space(&[CmsgKind::PktInfoV6]);

/// The local address a datagram arrived at: where its answer comes from.
#[cfg(target_os = "linux")]
#[derive(Debug, Clone, Copy)]
enum Source {
    V4(Ipv4Addr),
    V6 { ifindex: u32, addr: Ipv6Addr },
}

/// Without packet info there is never a source to answer from.
#[cfg(not(target_os = "linux"))]
#[derive(Debug, Clone, Copy)]
enum Source {}

#[cfg(target_os = "linux")]
impl Source {
    /// The packet info of the datagram `m`, if the kernel gave one.
    fn of(m: &mut RecvMsg<'_>) -> Option<Source> {
        m.cmsgs().find_map(|c| match c {
            // spec_dst: the local address routing chose for it, which is
            // the one to answer from (for broadcast, the interface's own).
            Cmsg::PktInfoV4 { spec_dst, .. } => Some(Source::V4(spec_dst)),
            // A multicast destination is no source: let routing choose.
            Cmsg::PktInfoV6 { ifindex, addr } => Some(Source::V6 {
                ifindex,
                addr: if addr.is_multicast() {
                    Ipv6Addr::UNSPECIFIED
                } else {
                    addr
                },
            }),
            _ => None,
        })
    }

    fn control(self) -> ControlMessage<'static> {
        match self {
            Source::V4(source) => ControlMessage::PktInfoV4 { ifindex: 0, source },
            Source::V6 { ifindex, addr } => ControlMessage::PktInfoV6 {
                ifindex,
                source: addr,
            },
        }
    }
}

/// A datagram to send: where to, and from which local address.
struct Reply {
    to: SockAddr,
    from: Option<Source>,
}

/// The UDP socket and what waits to be sent on it.
pub(super) struct Udp {
    socket: UdpSocket,
    /// Replies name their source (the socket is bound to a wildcard).
    #[cfg(target_os = "linux")]
    wildcard: bool,
    /// False once the kernel answered that it has no `recvmmsg` (always,
    /// where sockpoll has no message I/O).
    batched: bool,
    #[cfg(target_os = "linux")]
    batch: MmsgBatch,
    bufs: Vec<Vec<u8>>,
    /// Length and reply of each datagram of the current batch.
    got: Vec<(usize, Reply)>,
    queue: VecDeque<(Vec<u8>, Reply)>,
    /// What the selector currently watches for the socket.
    registered: Interest,
    /// Datagrams left after the budget (edge and oneshot).
    pub(super) again: bool,
}

impl Udp {
    pub(super) fn new(socket: UdpSocket) -> sockpoll::Result<Udp> {
        #[cfg(target_os = "linux")]
        let local = socket.local_addr().ok().map(|a| a.ip());
        #[cfg(target_os = "linux")]
        let wildcard = local.is_some_and(|ip| ip.is_unspecified());
        #[cfg(target_os = "linux")]
        if wildcard {
            let s = socket.as_socket();
            // An IPv6 wildcard also receives IPv4 (mapped) datagrams, whose
            // info comes as IP_PKTINFO; either may fail on a v4 socket or a
            // v6-only one, and then that family simply never arrives.
            if matches!(local, Some(IpAddr::V6(_))) {
                let _ = s.set_recv_pktinfo_v6(true);
            }
            let _ = s.set_recv_pktinfo_v4(true);
        }
        Ok(Udp {
            socket,
            #[cfg(target_os = "linux")]
            wildcard,
            batched: cfg!(target_os = "linux"),
            #[cfg(target_os = "linux")]
            batch: MmsgBatch::new(BATCH, CONTROL)?,
            bufs: vec![vec![0; UDP_BUF]; BATCH],
            got: Vec::with_capacity(BATCH),
            queue: VecDeque::new(),
            registered: Interest::READABLE,
            again: false,
        })
    }

    /// Receives up to `max` datagrams (at most a batch; one at a time
    /// without batch calls) into `bufs`, recording each in `got`; `Ok(0)`
    /// when nothing waits.
    #[cfg(target_os = "linux")]
    fn receive(&mut self, max: usize) -> sockpoll::Result<usize> {
        self.got.clear();
        let wildcard = self.wildcard;
        let record = |m: &mut RecvMsg<'_>| {
            let from = if wildcard { Source::of(m) } else { None };
            (
                m.len,
                Reply {
                    to: m.addr.clone(),
                    from,
                },
            )
        };
        if self.batched {
            match self
                .socket
                .as_socket()
                .recv_mmsg(&mut self.batch, &mut self.bufs[..max.min(BATCH)])
            {
                Ok(_) => {
                    self.got
                        .extend(self.batch.messages().map(|mut m| record(&mut m)));
                    return Ok(self.got.len());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Unsupported => self.batched = false,
                Err(e) if e.is_would_block() => return Ok(0),
                Err(e) => return Err(e),
            }
        }
        let mut control = CmsgBuffer::<CONTROL>::new();
        let one = self
            .socket
            .as_socket()
            .recv_msg(&mut [IoSliceMut::new(&mut self.bufs[0])], &mut control);
        match one {
            Ok(mut m) => {
                self.got.push(record(&mut m));
                Ok(1)
            }
            Err(e) if e.is_would_block() => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Receives one datagram into `bufs[0]`, recording it in `got`; `Ok(0)`
    /// when nothing waits.
    #[cfg(not(target_os = "linux"))]
    fn receive(&mut self, _max: usize) -> sockpoll::Result<usize> {
        self.got.clear();
        match self.socket.as_socket().recv_from(&mut self.bufs[0]) {
            Ok((len, to)) => {
                self.got.push((len, Reply { to, from: None }));
                Ok(1)
            }
            Err(e) if e.is_would_block() => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Sends datagram `done` of the current batch, and as many after it up
    /// to `n` as one call takes; how many went.
    #[cfg(not(target_os = "linux"))]
    fn send_batch(&mut self, done: usize, _n: usize) -> sockpoll::Result<usize> {
        let (len, reply) = &self.got[done];
        send_one(&self.socket, &self.bufs[done][..*len], reply).map(|_| 1)
    }

    /// Sends datagram `done` of the current batch, and as many after it up
    /// to `n` as one call takes; how many went.
    #[cfg(target_os = "linux")]
    fn send_batch(&mut self, done: usize, n: usize) -> sockpoll::Result<usize> {
        let udp = self;
        let controls: [[ControlMessage<'static>; 1]; BATCH] = std::array::from_fn(|i| {
            [udp.got
                .get(i)
                .and_then(|(_, r)| r.from)
                .map_or(ControlMessage::Tos(0), Source::control)]
        });
        // Slots past the batch stay empty; only [done..n] is sent.
        let msgs: [SendMsg<'_>; BATCH] = std::array::from_fn(|i| match udp.got.get(i) {
            Some((len, reply)) => {
                let m = SendMsg::new(&udp.bufs[i][..*len]).to(&reply.to);
                match reply.from {
                    Some(_) => m.control(&controls[i]),
                    None => m,
                }
            }
            None => SendMsg::new(&[]),
        });
        let socket = udp.socket.as_socket();
        if udp.batched && n - done > 1 {
            socket.send_mmsg(&mut udp.batch, &msgs[done..n])
        } else {
            let (len, reply) = &udp.got[done];
            let control: &[ControlMessage<'_>] = match reply.from {
                Some(_) => &controls[done],
                None => &[],
            };
            socket
                .send_msg(
                    &[IoSlice::new(&udp.bufs[done][..*len])],
                    Some(&reply.to),
                    control,
                )
                .map(|_| 1)
        }
    }
}

/// Sends one datagram to `reply.to`, from its source where one was read.
fn send_one(socket: &UdpSocket, datagram: &[u8], reply: &Reply) -> sockpoll::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let control = reply.from.map(Source::control);
        socket.as_socket().send_msg(
            &[IoSlice::new(datagram)],
            Some(&reply.to),
            control.as_slice(),
        )
    }
    #[cfg(not(target_os = "linux"))]
    socket.as_socket().send_to(datagram, &reply.to)
}

impl<S: Selector> Server<S> {
    /// The UDP socket is ready: send what waits, then echo up to the budget.
    pub(super) fn udp_ready(&mut self, writable: bool) {
        if writable || !self.udp.queue.is_empty() {
            self.udp_flush();
        }
        let mut spent = true;
        let mut left = UDP_BUDGET;
        while left > 0 {
            let batched = self.udp.batched;
            let want = if batched { left.min(BATCH) } else { 1 };
            let n = match self.udp.receive(want) {
                Ok(n) => n,
                // The socket's own trouble, logged like the listener's.
                Err(e) => {
                    self.log.line(format_args!("{e}"));
                    0
                }
            };
            self.stats.datagrams += n as u64;
            self.udp_answer(n);
            // Fewer than asked for: the receive queue is empty now (unless
            // this call found no batch calls and took one by one instead).
            if n < want && self.udp.batched == batched {
                spent = false;
                break;
            }
            left = left.saturating_sub(n);
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

    /// Sends the `n` datagrams just received back, in one call where it
    /// can; what the send buffer refuses is queued, a datagram the kernel
    /// rejects (say, a route to its sender) is dropped.
    fn udp_answer(&mut self, n: usize) {
        let mut done = 0;
        while done < n {
            if !self.udp.queue.is_empty() {
                break;
            }
            let sent = self.udp.send_batch(done, n);
            match sent {
                Ok(k) => done += k.max(1),
                Err(e) if e.is_would_block() => break,
                Err(e) => {
                    let to = self.udp.got[done].1.to.clone();
                    self.udp_dropped(&to, &e);
                    done += 1;
                }
            }
        }
        for i in done..n {
            if self.udp.queue.len() < UDP_QUEUE_MAX {
                let (len, reply) = &self.udp.got[i];
                let reply = Reply {
                    to: reply.to.clone(),
                    from: reply.from,
                };
                let datagram = self.udp.bufs[i][..*len].to_vec();
                self.udp.queue.push_back((datagram, reply));
            } else {
                self.stats.datagrams_dropped += 1;
            }
        }
    }

    /// Sends queued datagrams until the queue is empty or the socket full.
    fn udp_flush(&mut self) {
        while let Some((datagram, reply)) = self.udp.queue.front() {
            let sent = send_one(&self.udp.socket, datagram, reply);
            match sent {
                Ok(_) => {}
                Err(e) if e.is_would_block() => return,
                Err(e) => {
                    let to = reply.to.clone();
                    self.udp_dropped(&to, &e);
                }
            }
            self.udp.queue.pop_front();
        }
    }

    /// A datagram for `to` failed to go: one peer's trouble, so (as for a
    /// connection's error) it is counted, and logged only when verbose.
    fn udp_dropped(&mut self, to: &SockAddr, err: &sockpoll::Error) {
        self.stats.datagrams_dropped += 1;
        if self.opts.verbose {
            self.log
                .line(format_args!("dropping a datagram for {to}: {err}"));
        }
    }
}
