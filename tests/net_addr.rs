//! `SockAddr` and the `Domain`/`Type`/`Protocol` newtypes: construction
//! limits (`sun_path` overflow, abstract names, lengths validated both
//! ways, link-local IPv6 with its scope id), conversions, Display/Debug, and property
//! tests of the round trips through std types and through the kernel.

mod util;

use std::io::{self, IoSliceMut};
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::Path;

use proptest::prelude::*;
use sockpoll::{Domain, Protocol, SockAddr, Socket, Type, UnixDatagram, UNIX_PATH_MAX};
use util::net::*;

#[test]
fn display_strings() {
    let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
    assert_eq!(SockAddr::from(v4).to_string(), "127.0.0.1:80");
    let v6: SocketAddr = "[::1]:80".parse().unwrap();
    assert_eq!(SockAddr::from(v6).to_string(), "[::1]:80");
    let scoped = SocketAddrV6::new("fe80::1".parse().unwrap(), 80, 0, 2);
    assert_eq!(SockAddr::from(scoped).to_string(), "[fe80::1%2]:80");
    assert_eq!(
        SockAddr::unix("/run/x.sock").unwrap().to_string(),
        "/run/x.sock"
    );
    assert_eq!(
        SockAddr::abstract_name("name").unwrap().to_string(),
        "@name"
    );
    assert_eq!(SockAddr::unnamed().to_string(), "(unnamed)");
}

#[test]
fn debug_strings_name_the_constants() {
    let v4: SocketAddr = "127.0.0.1:80".parse().unwrap();
    assert_eq!(
        format!("{:?}", SockAddr::from(v4)),
        "SockAddr(AF_INET, 127.0.0.1:80)"
    );
    let v6: SocketAddr = "[::1]:80".parse().unwrap();
    assert_eq!(
        format!("{:?}", SockAddr::from(v6)),
        "SockAddr(AF_INET6, [::1]:80)"
    );
    assert_eq!(
        format!("{:?}", SockAddr::abstract_name("n").unwrap()),
        "SockAddr(AF_UNIX, @n)"
    );
    assert_eq!(format!("{:?}", Domain::IPV4), "AF_INET");
    assert_eq!(format!("{:?}", Domain::IPV6), "AF_INET6");
    assert_eq!(format!("{:?}", Domain::UNIX), "AF_UNIX");
    assert_eq!(format!("{:?}", Domain::UNSPEC), "AF_UNSPEC");
    assert_eq!(format!("{:?}", Type::STREAM), "SOCK_STREAM");
    assert_eq!(format!("{:?}", Type::DGRAM), "SOCK_DGRAM");
    assert_eq!(format!("{:?}", Type::SEQPACKET), "SOCK_SEQPACKET");
    assert_eq!(format!("{:?}", Type::RAW), "SOCK_RAW");
    assert_eq!(format!("{:?}", Protocol::TCP), "IPPROTO_TCP");
    assert_eq!(format!("{:?}", Protocol::UDP), "IPPROTO_UDP");
    assert_eq!(format!("{:?}", Protocol::ICMPV4), "IPPROTO_ICMP");
    assert_eq!(format!("{:?}", Protocol::ICMPV6), "IPPROTO_ICMPV6");
    // Unknown values print the number instead of a made-up name.
    assert_eq!(format!("{:?}", Domain(12345)), "Domain(12345)");
    assert_eq!(Domain(12345).name(), None);
    assert_eq!(Type::STREAM.name(), Some("SOCK_STREAM"));
    assert_eq!(i32::from(Protocol::from(6)), 6);
    assert_eq!(Protocol::from(6), Protocol::TCP);
}

#[test]
fn family_and_accessors() {
    let v4 = SockAddr::from(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1));
    assert_eq!(v4.family(), Domain::IPV4);
    assert_eq!(v4.as_unix_path(), None);
    assert_eq!(v4.as_abstract_name(), None);
    assert!(!v4.is_unnamed());
    let v6 = SockAddr::from(SocketAddrV6::new(Ipv6Addr::LOCALHOST, 1, 0, 0));
    assert_eq!(v6.family(), Domain::IPV6);
    let p = SockAddr::unix("/tmp/a").unwrap();
    assert_eq!(p.family(), Domain::UNIX);
    assert_eq!(p.as_unix_path(), Some(Path::new("/tmp/a")));
    assert_eq!(p.as_socket(), None);
    let a = SockAddr::abstract_name(b"x\0y").unwrap();
    assert_eq!(a.as_abstract_name(), Some(&b"x\0y"[..]));
    assert_eq!(SockAddr::unnamed().family(), Domain::UNIX);
    assert_eq!(
        Domain::for_address("[::1]:1".parse().unwrap()),
        Domain::IPV6
    );
}

#[test]
fn try_from_a_unix_address_into_socket_addr_is_invalid_input() {
    let err = SocketAddr::try_from(SockAddr::unix("/tmp/x").unwrap()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("/tmp/x"), "{err}");
    let ok = SocketAddr::try_from(SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 9)))).unwrap();
    assert_eq!(ok, SocketAddr::from(([127, 0, 0, 1], 9)));
}

/// The longest Unix path that fits `sun_path` binds and reads back whole.
#[test]
fn unix_path_of_107_bytes_binds_and_round_trips() {
    let dir = TempDir::new("unix107");
    let base = dir.path().as_os_str().len() + 1;
    assert!(base < UNIX_PATH_MAX, "temp dir too deep for this test");
    let path = dir.join(&"p".repeat(UNIX_PATH_MAX - base));
    assert_eq!(path.as_os_str().len(), 107);
    assert_eq!(UNIX_PATH_MAX, 107);
    let addr = SockAddr::unix(&path).unwrap();
    let s = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    s.bind(&addr).unwrap();
    assert_eq!(s.local_addr().unwrap(), addr);
    assert_eq!(s.local_addr().unwrap().as_unix_path(), Some(path.as_path()));
    s.listen(1).unwrap();
    let c = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    c.connect(&addr).unwrap();
    assert_eq!(c.peer_addr().unwrap(), addr);
}

#[test]
fn unix_path_of_108_bytes_is_invalid_input() {
    let path = format!("/tmp/{}", "q".repeat(108 - 5));
    assert_eq!(path.len(), 108);
    let err = SockAddr::unix(&path).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("107"), "{err}");
    // A very long one too, without a panic.
    assert!(SockAddr::unix("x".repeat(10_000)).is_err());
}

#[test]
fn empty_unix_path_and_nul_in_path_are_invalid_input() {
    let err = SockAddr::unix("").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("empty"), "{err}");
    let err = SockAddr::unix("/tmp/a\0b").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("NUL"), "{err}");
}

#[test]
fn abstract_name_limits() {
    assert!(SockAddr::abstract_name([b'a'; 107]).is_ok());
    let err = SockAddr::abstract_name([b'a'; 108]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn abstract_names_bind_connect_and_round_trip() {
    let name = unique_name("abstract_rt");
    let addr = SockAddr::abstract_name(&name).unwrap();
    let l = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    l.bind(&addr).unwrap();
    l.listen(1).unwrap();
    assert_eq!(l.local_addr().unwrap(), addr);
    assert_eq!(l.local_addr().unwrap().to_string(), format!("@{name}"));
    let c = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    c.connect(&addr).unwrap();
    let (_s, peer) = l.accept().unwrap();
    assert!(peer.is_unnamed(), "{peer:?}");
    assert_eq!(c.peer_addr().unwrap(), addr);

    // The longest abstract name works too.
    let mut long = unique_name("abstract_long").into_bytes();
    long.resize(107, b'z');
    let addr = SockAddr::abstract_name(&long).unwrap();
    let d = Socket::new(Domain::UNIX, Type::DGRAM, None).unwrap();
    d.bind(&addr).unwrap();
    assert_eq!(d.local_addr().unwrap().as_abstract_name(), Some(&long[..]));
}

#[test]
fn link_local_v6_with_scope_id_and_flowinfo_round_trips_through_sock_addr() {
    let ip: Ipv6Addr = "fe80::1234:5678".parse().unwrap();
    let v6 = SocketAddrV6::new(ip, 4242, 0x000a_bcde, 7);
    let addr = SockAddr::from(v6);
    assert_eq!(addr.family(), Domain::IPV6);
    let back = addr.as_socket().unwrap();
    assert_eq!(back, SocketAddr::V6(v6));
    let SocketAddr::V6(back) = back else {
        unreachable!()
    };
    assert_eq!(back.scope_id(), 7);
    assert_eq!(back.flowinfo(), 0x000a_bcde);
    assert_eq!(SocketAddr::try_from(addr).unwrap(), SocketAddr::V6(v6));
}

#[test]
fn v6_loopback_binds_with_scope_zero() {
    let s = Socket::new(Domain::IPV6, Type::DGRAM, None).unwrap();
    s.bind(&v6_any()).unwrap();
    let SocketAddr::V6(local) = s.local_addr().unwrap().as_socket().unwrap() else {
        panic!("not v6")
    };
    assert_eq!(*local.ip(), Ipv6Addr::LOCALHOST);
    assert_eq!(local.scope_id(), 0);
    assert_eq!(local.flowinfo(), 0);
    assert_ne!(local.port(), 0);
}

/// `struct sockaddr_nl` for netlink port id `pid` (0 is the kernel), no
/// multicast groups, laid out from libc's struct.
#[cfg(target_os = "linux")]
fn sockaddr_nl(pid: u32) -> Vec<u8> {
    let mut nl = vec![0u8; mem::size_of::<libc::sockaddr_nl>()];
    let family = (libc::AF_NETLINK as libc::sa_family_t).to_ne_bytes();
    let at = mem::offset_of!(libc::sockaddr_nl, nl_family);
    nl[at..at + family.len()].copy_from_slice(&family);
    let at = mem::offset_of!(libc::sockaddr_nl, nl_pid);
    nl[at..at + 4].copy_from_slice(&pid.to_ne_bytes());
    nl
}

/// An `RTM_GETLINK` dump request: `nlmsghdr` then `rtgenmsg` (family
/// `AF_UNSPEC`: every link), padded to netlink's 4-byte alignment. Reading
/// the link table needs no privilege and sends nothing off the machine.
#[cfg(target_os = "linux")]
fn getlink_dump_request(seq: u32) -> Vec<u8> {
    let len = mem::size_of::<libc::nlmsghdr>() + 4;
    let mut req = Vec::with_capacity(len);
    req.extend_from_slice(&(len as u32).to_ne_bytes()); // nlmsg_len
    req.extend_from_slice(&libc::RTM_GETLINK.to_ne_bytes()); // nlmsg_type
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_DUMP) as u16;
    req.extend_from_slice(&flags.to_ne_bytes()); // nlmsg_flags
    req.extend_from_slice(&seq.to_ne_bytes()); // nlmsg_seq
    req.extend_from_slice(&0u32.to_ne_bytes()); // nlmsg_pid: the kernel fills it in
    req.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]); // rtgenmsg + padding
    req
}

/// Walks the netlink messages of one datagram: each header's length must
/// fit, and together they must cover the datagram exactly (nothing cut,
/// nothing left over). Returns the messages' types; all must carry `seq`.
#[cfg(target_os = "linux")]
fn netlink_message_types(datagram: &[u8], seq: u32) -> Vec<i32> {
    let mut types = Vec::new();
    let mut at = 0;
    // Bounded: every message is at least a header long.
    while at < datagram.len() {
        let header = &datagram[at..];
        assert!(
            header.len() >= mem::size_of::<libc::nlmsghdr>(),
            "cut header at {at}"
        );
        let len = u32::from_ne_bytes(header[0..4].try_into().unwrap()) as usize;
        let ty = u16::from_ne_bytes(header[4..6].try_into().unwrap());
        let msg_seq = u32::from_ne_bytes(header[8..12].try_into().unwrap());
        assert!(
            len >= mem::size_of::<libc::nlmsghdr>() && len <= header.len(),
            "message at {at} claims {len} bytes of {}",
            header.len()
        );
        assert_eq!(msg_seq, seq, "message at {at}");
        types.push(i32::from(ty));
        at += (len + 3) & !3;
    }
    assert_eq!(
        at,
        datagram.len(),
        "the messages cover the datagram exactly"
    );
    types
}

/// An address family sockpoll does not model loses nothing: `recv_from`,
/// `peek_from` and `recv_from_vectored` on a netlink socket hand over the
/// kernel's reply whole, from an `AF_NETLINK` address that equals the
/// kernel's (never "unsupported address family" after the data was
/// consumed), and `local_addr` answers too.
#[cfg(target_os = "linux")]
#[test]
fn netlink_route_dump_arrives_whole_from_the_kernels_address() {
    const SEQ: u32 = 0x5eed;
    let nl = Socket::new(
        Domain(libc::AF_NETLINK),
        Type::RAW,
        Some(Protocol(libc::NETLINK_ROUTE)),
    )
    .unwrap();
    set_timeouts(&nl);
    let kernel = SockAddr::from_bytes(&sockaddr_nl(0)).unwrap();
    assert_eq!(kernel.family(), Domain(libc::AF_NETLINK));
    assert_eq!(kernel.as_socket(), None);
    let req = getlink_dump_request(SEQ);
    assert_eq!(nl.send_to(&req, &kernel).unwrap(), req.len());

    let mut buf = vec![0u8; 256 * 1024];
    // The first reply: peeked (still queued), then received — the same bytes.
    let (peeked, from) = nl.peek_from(&mut buf).unwrap();
    assert_eq!(from, kernel);
    let first = buf[..peeked].to_vec();
    let (n, from) = nl.recv_from(&mut buf).unwrap();
    assert_eq!(
        &buf[..n],
        &first[..],
        "recv_from returns the datagram peek_from saw"
    );
    assert_eq!(from, kernel);
    assert_eq!(from.family(), Domain(libc::AF_NETLINK));
    assert_eq!(from.as_bytes(), &sockaddr_nl(0)[..]);
    let number = libc::AF_NETLINK.to_string();
    assert!(from.to_string().contains(&number), "Display: {from}");
    assert!(format!("{from:?}").contains(&number), "Debug: {from:?}");
    let mut types = netlink_message_types(&buf[..n], SEQ);

    // The rest of the dump through recvmsg, none of it cut, up to NLMSG_DONE.
    for _ in 0..10_000 {
        if types.contains(&libc::NLMSG_DONE) {
            break;
        }
        let got = nl
            .recv_from_vectored(&mut [IoSliceMut::new(&mut buf)])
            .unwrap();
        assert!(!got.truncated);
        assert_eq!(got.addr, kernel);
        types = netlink_message_types(&buf[..got.len], SEQ);
        assert!(!types.contains(&libc::NLMSG_ERROR), "{types:?}");
    }
    assert!(types.contains(&libc::NLMSG_DONE), "the dump ended");

    // getsockname: our own netlink address, the port id the kernel bound.
    let local = nl.local_addr().unwrap();
    assert_eq!(local.family(), Domain(libc::AF_NETLINK));
    assert_eq!(local.len(), mem::size_of::<libc::sockaddr_nl>());
    assert_ne!(local, kernel);
}

/// `recv_from` on a connected TCP socket, where the kernel reports no
/// address (length 0), gives no address — its own case — not
/// `SockAddr::unnamed()`, which is an `AF_UNIX` address.
#[test]
fn recv_from_on_connected_tcp_is_no_address_not_a_unix_one() {
    let (client, server) = tcp_pair(Domain::IPV4);
    client.send(b"abc").unwrap();
    let mut buf = [0u8; 3];
    let (n, peeked) = server.peek_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &b"abc"[..n]);
    let (n, from) = server.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &b"abc"[..n]);
    for from in [&peeked, &from] {
        assert_eq!(from.family(), Domain::UNSPEC, "{from:?}");
        assert!(!from.is_unnamed(), "{from:?}");
        assert!(from.is_empty());
        assert_eq!(from.len(), 0);
        assert_eq!((from.as_socket(), from.as_unix_path()), (None, None));
        assert_eq!(from.to_string(), "(none)");
        assert_ne!(*from, SockAddr::unnamed());
    }
    client.send(b"d").unwrap();
    let got = server
        .recv_from_vectored(&mut [IoSliceMut::new(&mut buf)])
        .unwrap();
    assert!(got.addr.is_empty(), "recvmsg says the same: {:?}", got.addr);
    // The peer has an address all the same, and getpeername gives it.
    assert_eq!(server.peer_addr().unwrap(), client.local_addr().unwrap());
}

/// No-address is not how an unnamed Unix socket is reported: a socketpair's
/// peer (getpeername, getsockname) is still `AF_UNIX` with just the family,
/// and a Unix datagram from a sender that never bound — which the kernel
/// reports with length 0 — is unnamed through `UnixDatagram`, and no
/// address through the untyped `Socket`.
#[test]
fn a_unix_socketpair_peer_is_still_an_unnamed_unix_address() {
    for ty in [Type::STREAM, Type::DGRAM] {
        let (a, _b) = Socket::pair(Domain::UNIX, ty, None).unwrap();
        for addr in [a.peer_addr().unwrap(), a.local_addr().unwrap()] {
            assert!(addr.is_unnamed(), "{ty:?}: {addr:?}");
            assert!(!addr.is_empty());
            assert_eq!(addr.family(), Domain::UNIX);
            assert_eq!(addr.len(), mem::size_of::<libc::sa_family_t>());
            assert_eq!(addr, SockAddr::unnamed());
            assert_eq!(addr.to_string(), "(unnamed)");
        }
    }
    let (x, y) = UnixDatagram::pair().unwrap();
    set_timeouts(y.as_socket());
    x.send(b"z").unwrap();
    let mut buf = [0u8; 1];
    let (_, from) = y.recv_from(&mut buf).unwrap();
    assert_eq!(from, SockAddr::unnamed());
    x.send(b"z").unwrap();
    let (_, from) = y.as_socket().recv_from(&mut buf).unwrap();
    assert!(from.is_empty(), "{from:?}");
}

fn any_v6() -> impl Strategy<Value = SocketAddrV6> {
    (any::<u128>(), any::<u16>(), any::<u32>(), any::<u32>())
        .prop_map(|(ip, port, flow, scope)| SocketAddrV6::new(ip.into(), port, flow, scope))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn v4_round_trips_through_from_as_socket_and_display(ip in any::<u32>(), port in any::<u16>()) {
        let std = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::from(ip), port));
        let addr = SockAddr::from(std);
        prop_assert_eq!(addr.as_socket(), Some(std));
        prop_assert_eq!(addr.family(), Domain::IPV4);
        let parsed: SocketAddr = addr.to_string().parse().unwrap();
        prop_assert_eq!(parsed, std);
        prop_assert_eq!(SockAddr::from(parsed), addr);
    }

    #[test]
    fn v6_round_trips_with_flowinfo_and_scope_id(v6 in any_v6()) {
        let addr = SockAddr::from(v6);
        prop_assert_eq!(addr.as_socket(), Some(SocketAddr::V6(v6)));
        prop_assert_eq!(SocketAddr::try_from(addr.clone()).unwrap(), SocketAddr::V6(v6));
        prop_assert_eq!(addr.family(), Domain::IPV6);
        prop_assert_eq!(SockAddr::from(SocketAddr::V6(v6)), addr);
    }

    #[test]
    fn ip_port_tuple_converts_like_std(ip in any::<u32>(), port in any::<u16>()) {
        let std = SocketAddr::new(IpAddr::V4(ip.into()), port);
        prop_assert_eq!(SockAddr::from(std).to_string(), std.to_string());
    }
}

proptest! {
    // Real sockets: a handful of cases is enough.
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// The kernel's view of an address we bound (getsockname) and of a
    /// sender (recvfrom) converts back to the same std address.
    #[test]
    fn kernel_round_trip_v4(payload in proptest::collection::vec(any::<u8>(), 0..64)) {
        let a = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        let b = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        a.bind(&v4_any()).unwrap();
        b.bind(&v4_any()).unwrap();
        b.set_read_timeout(Some(PATIENCE)).unwrap();
        let a_std = a.local_addr().unwrap().as_socket().unwrap();
        prop_assert_eq!(a_std.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        prop_assert_ne!(a_std.port(), 0);
        // Send to an address rebuilt from its std form.
        let b_std = b.local_addr().unwrap().as_socket().unwrap();
        let to = SockAddr::from(b_std.to_string().parse::<SocketAddr>().unwrap());
        prop_assert_eq!(a.send_to(&payload, &to).unwrap(), payload.len());
        let mut buf = [0u8; 64];
        let (n, from) = b.recv_from(&mut buf).unwrap();
        prop_assert_eq!(&buf[..n], &payload[..]);
        prop_assert_eq!(from.as_socket(), Some(a_std));
    }
}
