//! Socket-layer helpers: loopback addresses, listeners and connected TCP
//! pairs of [`sockpoll::Socket`], with timeouts so that a broken test fails
//! instead of hanging.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use sockpoll::{Domain, SockAddr, Socket, Type};

/// A generous bound for anything that should happen at once on loopback;
/// only used as a safety net so that a broken test fails instead of hanging.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// `127.0.0.1:0`.
pub fn v4_any() -> SockAddr {
    SockAddr::from(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
}

/// `[::1]:0`.
pub fn v6_any() -> SockAddr {
    SockAddr::from(SocketAddr::from((Ipv6Addr::LOCALHOST, 0)))
}

/// The loopback wildcard-port address of `domain` (IPv4 or IPv6).
pub fn loopback(domain: Domain) -> SockAddr {
    if domain == Domain::IPV6 {
        v6_any()
    } else {
        v4_any()
    }
}

/// A listening stream socket on loopback of `domain`, port chosen by the kernel.
///
/// # Panics
///
/// When `socket`, `bind` or `listen` fails.
pub fn listener(domain: Domain) -> Socket {
    let l = Socket::new(domain, Type::STREAM, None).expect("socket");
    l.bind(&loopback(domain)).expect("bind");
    l.listen(16).expect("listen");
    l
}

/// A connected TCP pair over loopback of `domain`: (client, server), both
/// blocking with [`PATIENCE`] as read and write timeouts.
///
/// # Panics
///
/// When any step fails.
pub fn tcp_pair(domain: Domain) -> (Socket, Socket) {
    let l = listener(domain);
    let client = Socket::new(domain, Type::STREAM, None).expect("socket");
    client
        .connect(&l.local_addr().expect("local_addr"))
        .expect("connect");
    let (server, peer) = l.accept().expect("accept");
    assert_eq!(peer, client.local_addr().expect("client local_addr"));
    set_timeouts(&client);
    set_timeouts(&server);
    (client, server)
}

/// [`tcp_pair`], made non-blocking.
///
/// # Panics
///
/// When any step fails.
pub fn nonblocking_tcp_pair(domain: Domain) -> (Socket, Socket) {
    let (a, b) = tcp_pair(domain);
    a.set_nonblocking(true).expect("nonblocking");
    b.set_nonblocking(true).expect("nonblocking");
    (a, b)
}

/// Read and write timeouts so that a blocking call in a broken test fails
/// instead of hanging the suite.
///
/// # Panics
///
/// When `setsockopt` fails.
pub fn set_timeouts(s: &Socket) {
    s.set_read_timeout(Some(PATIENCE)).expect("SO_RCVTIMEO");
    s.set_write_timeout(Some(PATIENCE)).expect("SO_SNDTIMEO");
}
