//! `send_msg`/`recv_msg` with control messages over real sockets: fd
//! passing, credentials, packet info and source addresses, timestamps,
//! TOS/traffic class, GSO/GRO, the error queue, unknown messages, and
//! every bad input as a typed error.
// Message I/O (control messages, the error queue) is Linux-only in sockpoll.
#![cfg(target_os = "linux")]

mod util;

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use sockpoll::{
    cmsg_space, Cmsg, CmsgBuffer, CmsgKind, ControlMessage, Domain, ErrorOrigin, RecvFlags,
    SockAddr, Socket, Type, UdpSocket, UnixCredentials, UnixDatagram, UnixStream, MAX_SEND_CONTROL,
};
use util::net::*;

const RIGHTS2: usize = cmsg_space(&[CmsgKind::ScmRights(2)]);

/// The control messages of one kind in a received message: `pick!(msg,
/// Cmsg::Tos(t) => t)` is every `Tos` payload, in order.
macro_rules! pick {
    ($msg:expr, $pat:pat => $out:expr) => {
        $msg.cmsgs()
            .filter_map(|c| match c {
                $pat => Some($out),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
}

fn udp(addr: &str) -> UdpSocket {
    let s = UdpSocket::bind(addr).unwrap();
    set_timeouts(s.as_socket());
    s
}

/// Every descriptor of every `SCM_RIGHTS` message of `msg`.
fn take_fds(msg: &mut sockpoll::RecvMsg<'_>) -> Vec<OwnedFd> {
    let mut fds = Vec::new();
    for cmsg in msg.cmsgs() {
        if let Cmsg::ScmRights(r) = cmsg {
            fds.extend(r);
        }
    }
    fds
}

/// Writes through a passed stream end and reads it back from its peer:
/// the received fd really is that socket.
fn assert_same_socket(passed: OwnedFd, peer: &mut UnixStream, what: &str) {
    let mut passed = UnixStream::from(passed);
    passed.write_all(what.as_bytes()).unwrap();
    let mut buf = vec![0u8; what.len()];
    peer.read_exact(&mut buf).unwrap();
    assert_eq!(buf, what.as_bytes());
}

#[test]
fn fds_pass_both_ways_over_a_stream_pair_close_on_exec() {
    let (a, b) = UnixStream::pair().unwrap();
    set_timeouts(a.as_socket());
    set_timeouts(b.as_socket());
    for (from, to, what) in [(&a, &b, "a to b"), (&b, &a, "b to a")] {
        let (x, mut x_peer) = UnixStream::pair().unwrap();
        let (y, mut y_peer) = UnixStream::pair().unwrap();
        set_timeouts(x_peer.as_socket());
        set_timeouts(y_peer.as_socket());
        let sent = from
            .send_msg(
                &[IoSlice::new(what.as_bytes())],
                &[ControlMessage::ScmRights(&[x.as_fd(), y.as_fd()])],
            )
            .unwrap();
        assert_eq!(sent, what.len());
        drop((x, y));

        let mut data = [0u8; 16];
        let mut control = CmsgBuffer::<RIGHTS2>::new();
        let mut msg = to
            .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut control)
            .unwrap();
        assert_eq!(&data[..msg.len], what.as_bytes());
        assert_eq!(msg.flags, RecvFlags::default(), "{what}");
        let fds = take_fds(&mut msg);
        assert_eq!(fds.len(), 2, "{what}");
        // A second walk finds them taken.
        assert_eq!(take_fds(&mut msg).len(), 0);
        drop(msg);
        let mut fds = fds.into_iter();
        let (fx, fy) = (fds.next().unwrap(), fds.next().unwrap());
        for fd in [&fx, &fy] {
            let flags = fdinfo_flags(fd.as_raw_fd());
            assert_ne!(
                flags & O_CLOEXEC_OCTAL,
                0,
                "{what}: received fd not cloexec"
            );
        }
        assert_same_socket(fx, &mut x_peer, what);
        assert_same_socket(fy, &mut y_peer, what);
    }
}

#[test]
fn fds_pass_over_a_datagram_pair_and_through_uninit_memory() {
    let (a, b) = UnixDatagram::pair().unwrap();
    set_timeouts(b.as_socket());
    let (x, mut x_peer) = UnixStream::pair().unwrap();
    set_timeouts(x_peer.as_socket());
    a.send_msg(
        &[IoSlice::new(b"dgram")],
        None,
        &[ControlMessage::ScmRights(&[x.as_fd()])],
    )
    .unwrap();
    let mut data = [std::mem::MaybeUninit::<u8>::uninit(); 8];
    let mut control = [0u8; 64]; // unaligned is fine, just roomier
    let mut msg = b
        .as_socket()
        .recv_msg_uninit(&mut data, &mut control)
        .unwrap();
    assert_eq!(msg.len, 5);
    let fds = take_fds(&mut msg);
    assert_eq!(fds.len(), 1);
    drop(msg);
    assert_same_socket(fds.into_iter().next().unwrap(), &mut x_peer, "via dgram");
}

#[test]
fn a_too_small_control_buffer_is_ctrunc_and_gives_the_fds_that_fit() {
    let (a, b) = UnixStream::pair().unwrap();
    set_timeouts(b.as_socket());
    let (x, _xp) = UnixStream::pair().unwrap();
    let fds = [x.as_fd(), x.as_fd(), x.as_fd()];
    a.send_msg(&[IoSlice::new(b"3")], &[ControlMessage::ScmRights(&fds)])
        .unwrap();
    let mut data = [0u8; 1];
    // Room for two descriptors only.
    let mut control = CmsgBuffer::<RIGHTS2>::new();
    let mut msg = b
        .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut control)
        .unwrap();
    assert!(msg.flags.is_control_truncated(), "{:?}", msg.flags);
    assert!(format!("{:?}", msg.flags).contains("MSG_CTRUNC"));
    let got = take_fds(&mut msg);
    assert_eq!(got.len(), 2);
    drop(msg);

    // No control buffer at all: CTRUNC, nothing installed.
    a.send_msg(&[IoSlice::new(b"3")], &[ControlMessage::ScmRights(&fds)])
        .unwrap();
    let mut msg = b
        .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut [])
        .unwrap();
    assert!(msg.flags.is_control_truncated());
    assert_eq!(take_fds(&mut msg).len(), 0);
}

/// This process's real uid, from /proc (tests stay safe Rust).
fn uid_from_proc() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn credentials_pass_with_so_passcred_and_peercred_matches_this_process() {
    let me = UnixCredentials::current();
    assert_eq!(me.pid as u32, std::process::id());
    assert_eq!(me.uid, uid_from_proc());

    let (a, b) = UnixStream::pair().unwrap();
    set_timeouts(b.as_socket());
    assert_eq!(a.peer_credentials().unwrap(), me);
    assert_eq!(b.as_socket().peer_credentials().unwrap(), me);
    let (d, _e) = UnixDatagram::pair().unwrap();
    assert_eq!(d.peer_credentials().unwrap(), me);
    // No peer (here, not even Unix): the kernel's "nobody", as documented.
    let nobody = udp("127.0.0.1:0").as_socket().peer_credentials().unwrap();
    assert_eq!(
        nobody,
        UnixCredentials {
            pid: 0,
            uid: u32::MAX,
            gid: u32::MAX
        }
    );

    b.as_socket().set_pass_credentials(true).unwrap();
    assert!(b.as_socket().pass_credentials().unwrap());
    const SPACE: usize = cmsg_space(&[CmsgKind::ScmCredentials]);
    // Sent explicitly, and attached by the kernel when not sent.
    for control in [&[ControlMessage::ScmCredentials(me)][..], &[]] {
        a.send_msg(&[IoSlice::new(b"c")], control).unwrap();
        let mut data = [0u8; 1];
        let mut buf = CmsgBuffer::<SPACE>::new();
        let mut msg = b
            .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut buf)
            .unwrap();
        let creds: Vec<_> = pick!(msg, Cmsg::ScmCredentials(c) => c);
        assert_eq!(creds, vec![me], "{control:?}");
    }

    // Someone else's pid is refused (EPERM), a typed OS error.
    // (root may send any; then it arrives as sent).
    let forged = UnixCredentials { pid: 1, ..me };
    let result = a.send_msg(
        &[IoSlice::new(b"c")],
        &[ControlMessage::ScmCredentials(forged)],
    );
    if me.uid != 0 {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
    }
}

const INFO_SPACE: usize = cmsg_space(&[CmsgKind::PktInfoV4, CmsgKind::PktInfoV6]);

/// A socket of `domain` bound to the wildcard address, port 0.
fn wildcard(domain: Domain) -> Socket {
    let s = Socket::new(domain, Type::DGRAM, None).unwrap();
    let any: SocketAddr = if domain == Domain::IPV6 {
        s.set_only_v6(true).unwrap();
        (Ipv6Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    };
    s.bind(&any.into()).unwrap();
    set_timeouts(&s);
    s
}

fn port_of(s: &Socket) -> u16 {
    s.local_addr().unwrap().as_socket().unwrap().port()
}

#[test]
fn pktinfo_reports_the_destination_on_a_wildcard_socket() {
    let v4 = wildcard(Domain::IPV4);
    v4.set_recv_pktinfo_v4(true).unwrap();
    assert!(v4.recv_pktinfo_v4().unwrap());
    let client = udp("127.0.0.1:0");
    client
        .send_to(b"v4", (Ipv4Addr::LOCALHOST, port_of(&v4)))
        .unwrap();
    let mut data = [0u8; 8];
    let mut buf = CmsgBuffer::<INFO_SPACE>::new();
    let mut msg = v4
        .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut buf)
        .unwrap();
    let infos: Vec<_> =
        pick!(msg, Cmsg::PktInfoV4 { ifindex, addr, spec_dst } => (ifindex, addr, spec_dst));
    assert_eq!(infos.len(), 1, "{infos:?}");
    let (ifindex, addr, spec_dst) = infos[0];
    assert!(ifindex > 0);
    assert_eq!((addr, spec_dst), (Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST));
    drop(msg);

    let v6 = wildcard(Domain::IPV6);
    v6.set_recv_pktinfo_v6(true).unwrap();
    let client = udp("[::1]:0");
    client
        .send_to(b"v6", (Ipv6Addr::LOCALHOST, port_of(&v6)))
        .unwrap();
    let mut msg = v6
        .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut buf)
        .unwrap();
    let infos: Vec<_> = pick!(msg, Cmsg::PktInfoV6 { ifindex, addr } => (ifindex, addr));
    assert_eq!(infos.len(), 1, "{infos:?}");
    assert!(infos[0].0 > 0);
    assert_eq!(infos[0].1, Ipv6Addr::LOCALHOST);
}

#[test]
fn a_wildcard_socket_replies_from_the_source_address_it_chooses() {
    let server = wildcard(Domain::IPV4);
    server.set_recv_pktinfo_v4(true).unwrap();
    let client = udp("127.0.0.1:0");
    let to = client.local_addr().unwrap();
    for source in [Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 3)] {
        let sent = server
            .send_msg(
                &[IoSlice::new(b"from")],
                Some(&SockAddr::from(to)),
                &[ControlMessage::PktInfoV4 { ifindex: 0, source }],
            )
            .unwrap();
        assert_eq!(sent, 4);
        let mut buf = [0u8; 8];
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"from");
        assert_eq!(from, SocketAddr::from((source, port_of(&server))));
    }
}

/// `SO_TIMESTAMPNS` stamps each datagram with the wall-clock time
/// (`CLOCK_REALTIME`) it arrived. That clock may be stepped back (NTP, a
/// VM's time sync: one CI run saw consecutive stamps 9 µs out of order), so
/// what holds is that every stamp lies between wall-clock readings taken
/// around the exchange, not that the stamps never decrease.
#[test]
fn timestamps_are_the_wall_clock_time_of_arrival() {
    let a = udp("127.0.0.1:0");
    let b = udp("127.0.0.1:0");
    b.as_socket().set_recv_timestamp_ns(true).unwrap();
    assert!(b.as_socket().recv_timestamp_ns().unwrap());
    let since_epoch = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
    };
    let before = since_epoch();
    for i in 0..5u8 {
        a.send_to(&[i], b.local_addr().unwrap()).unwrap();
    }
    let mut stamps = Vec::new();
    for _ in 0..5 {
        let mut data = [0u8; 4];
        let mut buf = CmsgBuffer::<{ cmsg_space(&[CmsgKind::TimestampNs]) }>::new();
        let mut msg = b
            .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut buf)
            .unwrap();
        for c in msg.cmsgs() {
            if let Cmsg::TimestampNs(t) = c {
                stamps.push(t);
            }
        }
    }
    let after = since_epoch();
    assert_eq!(stamps.len(), 5);
    // A second of slack either side for a clock stepped meanwhile.
    let slack = Duration::from_secs(1);
    assert!(
        stamps
            .iter()
            .all(|&t| t + slack >= before && t <= after + slack),
        "{stamps:?} not within {before:?}..{after:?}"
    );
    // Wall-clock time since the epoch: after 2020.
    assert!(stamps[0] > Duration::from_secs(1_577_836_800));
}

#[test]
fn tos_and_traffic_class_set_per_send_arrive_with_recvtos_and_recvtclass() {
    // DSCP 46 (EF) with ECT(0): 0xb8 | 0x02.
    let tos = 0xba;
    let a = udp("127.0.0.1:0");
    let b = udp("127.0.0.1:0");
    b.as_socket().set_recv_tos(true).unwrap();
    assert!(b.as_socket().recv_tos().unwrap());
    a.send_msg(
        &[IoSlice::new(b"t")],
        Some(b.local_addr().unwrap()),
        &[ControlMessage::Tos(tos)],
    )
    .unwrap();
    let mut data = [0u8; 4];
    let mut buf = CmsgBuffer::<{ cmsg_space(&[CmsgKind::Tos]) }>::new();
    let mut msg = b
        .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut buf)
        .unwrap();
    let got: Vec<_> = pick!(msg, Cmsg::Tos(t) => t);
    assert_eq!(got, vec![tos]);
    drop(msg);

    let a = udp("[::1]:0");
    let b = udp("[::1]:0");
    b.as_socket().set_recv_tclass(true).unwrap();
    assert!(b.as_socket().recv_tclass().unwrap());
    a.send_msg(
        &[IoSlice::new(b"t")],
        Some(b.local_addr().unwrap()),
        &[ControlMessage::TrafficClass(tos)],
    )
    .unwrap();
    let mut msg = b
        .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut buf)
        .unwrap();
    let got: Vec<_> = pick!(msg, Cmsg::TrafficClass(t) => t);
    assert_eq!(got, vec![tos]);
}

#[test]
fn a_gso_send_arrives_as_segments_or_coalesced_with_gro() {
    let a = udp("127.0.0.1:0");
    assert!(a.gso_max_segments() > 1, "this kernel has UDP GSO (4.18+)");
    let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();

    // Without GRO: three datagrams of 1000 bytes.
    let plain = udp("127.0.0.1:0");
    assert!(!plain.gro_enabled());
    let sent = a
        .send_gso(&payload, 1000, Some(plain.local_addr().unwrap()))
        .unwrap();
    assert_eq!(sent, 3000);
    let mut buf = vec![0u8; 65536];
    let mut got = Vec::new();
    for _ in 0..3 {
        let r = plain.recv_gro(&mut buf).unwrap();
        assert_eq!((r.len, r.segment_size, r.truncated), (1000, 1000, false));
        got.extend_from_slice(&buf[..r.len]);
    }
    assert_eq!(got, payload);

    // With GRO: coalesced (reporting the segment size) or separate.
    let gro = udp("127.0.0.1:0");
    gro.set_gro(true).unwrap();
    assert!(gro.gro_enabled());
    assert!(gro.as_socket().udp_gro().unwrap());
    a.send_gso(&payload, 1000, Some(gro.local_addr().unwrap()))
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        if got.len() == payload.len() {
            break;
        }
        let r = gro.recv_gro(&mut buf).unwrap();
        assert_eq!(r.addr, a.local_addr().unwrap());
        assert_eq!(r.segment_size, 1000.min(r.len));
        assert!(!r.truncated);
        assert_eq!(r.whole_len(), r.len);
        got.extend_from_slice(&buf[..r.len]);
    }
    assert_eq!(got, payload);
}

#[test]
fn gso_bad_inputs_are_typed_errors() {
    let a = udp("127.0.0.1:0");
    let b = udp("127.0.0.1:0");
    let to = Some(b.local_addr().unwrap());
    let err = a.send_gso(b"x", 0, to).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let too_many = vec![0u8; a.gso_max_segments() + 1];
    let err = a.send_gso(&too_many, 1, to).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    // The kernel's own refusal: a GSO segment size over the MTU of a
    // datagram that the kernel segments is EINVAL (loopback MTU 65536).
    let err = a
        .send_msg(
            &[IoSlice::new(&vec![0u8; 70_000])],
            to,
            &[ControlMessage::UdpGsoSegments(65_000)],
        )
        .unwrap_err();
    assert!(err.raw_os_error().is_some(), "{err}");
}

/// Waits (bounded) for the error queue of `s` to hold a message.
fn read_error_queue(s: &UdpSocket) -> Vec<sockpoll::ExtendedError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut data = [0u8; 64];
    let mut buf = CmsgBuffer::<{ cmsg_space(&[CmsgKind::ExtendedError]) * 2 }>::new();
    loop {
        match s.recv_error_queue(&mut [IoSliceMut::new(&mut data)], &mut buf) {
            Ok(mut msg) => {
                assert!(msg.flags.contains(RecvFlags::ERRQUEUE), "{:?}", msg.flags);
                return pick!(msg, Cmsg::ExtendedError(e) => e);
            }
            Err(e) if e.is_would_block() && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("error queue: {e}"),
        }
    }
}

/// A UDP port on `host` that nobody listens on.
fn closed_udp_port(host: &str) -> SocketAddr {
    let s = UdpSocket::bind(host).unwrap();
    s.local_addr().unwrap()
}

#[test]
fn the_error_queue_holds_a_typed_port_unreachable() {
    let s = udp("127.0.0.1:0");
    s.as_socket().set_recv_errors_v4(true).unwrap();
    assert!(s.as_socket().recv_errors_v4().unwrap());
    let nobody = closed_udp_port("127.0.0.1:0");
    s.connect(nobody).unwrap();
    // Empty queue: WouldBlock, never blocks.
    let err = s
        .recv_error_queue(&mut [], &mut CmsgBuffer::<64>::new())
        .unwrap_err();
    assert!(err.is_would_block(), "{err}");
    s.send(b"anyone?").unwrap();
    let errs = read_error_queue(&s);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert_eq!(
        e.os_error().kind(),
        io::ErrorKind::ConnectionRefused,
        "{e:?}"
    );
    assert_eq!(e.origin, ErrorOrigin::ICMP);
    assert_eq!((e.ty, e.code), (3, 3)); // destination unreachable, port
    assert_eq!(
        e.offender.as_socket().map(|a| a.ip()),
        Some(Ipv4Addr::LOCALHOST.into())
    );

    let s = udp("[::1]:0");
    s.as_socket().set_recv_errors_v6(true).unwrap();
    assert!(s.as_socket().recv_errors_v6().unwrap());
    s.connect(closed_udp_port("[::1]:0")).unwrap();
    s.send(b"anyone?").unwrap();
    let errs = read_error_queue(&s);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].origin, ErrorOrigin::ICMP6);
    assert_eq!((errs[0].ty, errs[0].code), (1, 4)); // unreachable, port
    assert_eq!(errs[0].os_error().kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn an_unmodelled_control_message_arrives_as_unknown() {
    let a = udp("[::1]:0");
    let b = udp("[::1]:0");
    // IPV6_RECVHOPLIMIT: sockpoll models no hop-limit message.
    socket2::SockRef::from(b.as_socket())
        .set_recv_hoplimit_v6(true)
        .unwrap();
    a.as_socket().set_unicast_hops_v6(42).unwrap();
    a.send_to(b"h", b.local_addr().unwrap()).unwrap();
    let mut data = [0u8; 4];
    let mut buf = CmsgBuffer::<{ cmsg_space(&[CmsgKind::Other(4)]) }>::new();
    let mut msg = b
        .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut buf)
        .unwrap();
    let unknown: Vec<_> =
        pick!(msg, Cmsg::Unknown { level, ty, data } => (level, ty, data.to_vec()));
    // IPPROTO_IPV6 = 41, IPV6_HOPLIMIT = 52.
    assert_eq!(unknown, vec![(41, 52, 42i32.to_ne_bytes().to_vec())]);
}

#[test]
fn an_unmodelled_message_can_be_sent_raw_per_datagram() {
    let a = udp("[::1]:0");
    let b = udp("[::1]:0");
    socket2::SockRef::from(b.as_socket())
        .set_recv_hoplimit_v6(true)
        .unwrap();
    let to = Some(b.local_addr().unwrap());
    for hops in [7i32, 9] {
        let data = hops.to_ne_bytes();
        // IPPROTO_IPV6 = 41, IPV6_HOPLIMIT = 52.
        let raw = [ControlMessage::Unknown {
            level: 41,
            ty: 52,
            data: &data,
        }];
        a.send_msg(&[IoSlice::new(b"h")], to, &raw).unwrap();
        let mut buf = [0u8; 4];
        let mut control = CmsgBuffer::<{ cmsg_space(&[CmsgKind::Other(4)]) }>::new();
        let mut msg = b
            .recv_msg(&mut [IoSliceMut::new(&mut buf)], &mut control)
            .unwrap();
        let got: Vec<_> = pick!(msg, Cmsg::Unknown { level: 41, ty: 52, data } => data.to_vec());
        assert_eq!(got, vec![data.to_vec()]);
    }

    // Raw SCM_RIGHTS is refused before any call: its numbers are borrowed
    // from nobody.
    let (u, _v) = UnixDatagram::pair().unwrap();
    let fd = u.as_raw_fd().to_ne_bytes();
    let raw = [ControlMessage::Unknown {
        level: 1, // SOL_SOCKET
        ty: 1,    // SCM_RIGHTS
        data: &fd,
    }];
    let err = u.send_msg(&[IoSlice::new(b"x")], None, &raw).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}

#[test]
fn a_datagram_longer_than_the_buffers_is_reported_truncated() {
    let a = udp("127.0.0.1:0");
    let b = udp("127.0.0.1:0");
    a.send_to(b"too long", b.local_addr().unwrap()).unwrap();
    let mut small = [0u8; 3];
    let msg = b
        .recv_msg(&mut [IoSliceMut::new(&mut small)], &mut [])
        .unwrap();
    assert_eq!(msg.len, 3);
    assert!(msg.flags.is_truncated());
    assert_eq!(format!("{:?}", msg.flags), "MSG_TRUNC");
    assert_eq!(msg.addr, SockAddr::from(a.local_addr().unwrap()));
    drop(msg);

    // Zero-length datagram: len 0, not truncated.
    a.send_to(b"", b.local_addr().unwrap()).unwrap();
    let msg = b
        .recv_msg(&mut [IoSliceMut::new(&mut small)], &mut [])
        .unwrap();
    assert_eq!((msg.len, msg.flags), (0, RecvFlags::default()));
}

#[test]
fn too_many_control_messages_for_one_buffer_is_invalid_input_and_sends_nothing() {
    let (a, b) = UnixDatagram::pair().unwrap();
    b.set_nonblocking(true).unwrap();
    let (x, _xp) = UnixStream::pair().unwrap();
    let many = vec![x.as_fd(); MAX_SEND_CONTROL / 4];
    let err = a
        .send_msg(
            &[IoSlice::new(b"x")],
            None,
            &[ControlMessage::ScmRights(&many)],
        )
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.call(), "sendmsg");
    let mut buf = [0u8; 4];
    assert!(b.recv(&mut buf).unwrap_err().is_would_block());

    // Over the kernel's SCM_MAX_FD (253) but within our buffer: EINVAL.
    // (On 64-bit musl the buffer holds only 250: refused above.)
    if cfg!(all(target_env = "musl", target_pointer_width = "64")) {
        return;
    }
    let over = vec![x.as_fd(); 254];
    let err = a
        .send_msg(
            &[IoSlice::new(b"x")],
            None,
            &[ControlMessage::ScmRights(&over)],
        )
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert!(err.raw_os_error().is_some());
}

#[test]
fn received_fds_not_taken_are_closed_with_the_message() {
    let (a, b) = UnixStream::pair().unwrap();
    set_timeouts(b.as_socket());
    let (x, mut x_peer) = UnixStream::pair().unwrap();
    x_peer.as_socket().set_read_timeout(Some(PATIENCE)).unwrap();
    a.send_msg(
        &[IoSlice::new(b"1")],
        &[ControlMessage::ScmRights(&[x.as_fd()])],
    )
    .unwrap();
    drop(x);
    let mut data = [0u8; 1];
    let mut control = CmsgBuffer::<RIGHTS2>::new();
    let msg = b
        .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut control)
        .unwrap();
    // The only other reference to x's socket is in `msg`: dropping it must
    // close it, which the peer sees as end of file.
    drop(msg);
    let mut buf = [0u8; 1];
    assert_eq!(x_peer.read(&mut buf).unwrap(), 0);
}

#[test]
fn uninit_receives_report_the_sender_and_peek_leaves_the_datagram() {
    let a = udp("127.0.0.1:0");
    let b = udp("127.0.0.1:0");
    a.send_to(b"uninit", b.local_addr().unwrap()).unwrap();
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 16];
    let (n, from) = b.as_socket().peek_from_uninit(&mut buf).unwrap();
    assert_eq!((n, from.as_socket()), (6, Some(a.local_addr().unwrap())));
    let (n, from) = b.as_socket().recv_from_uninit(&mut buf).unwrap();
    assert_eq!((n, from.as_socket()), (6, Some(a.local_addr().unwrap())));
    a.send_to(b"again", b.local_addr().unwrap()).unwrap();
    assert_eq!(b.as_socket().recv_uninit(&mut buf).unwrap(), 5);
    b.set_nonblocking(true).unwrap();
    assert!(b
        .as_socket()
        .recv_uninit(&mut buf)
        .unwrap_err()
        .is_would_block());
}

/// Coalesced data larger than the buffer: `recv_gro` says so, and
/// `whole_len` is where the whole datagrams end (the cut one, and what
/// followed it, are lost). A lone datagram cut short has no whole part.
#[test]
fn recv_gro_reports_truncation() {
    let tx = udp("127.0.0.1:0");
    let rx = udp("127.0.0.1:0");
    rx.set_gro(true).unwrap();
    let to = Some(rx.local_addr().unwrap());
    let payload: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
    // Four datagrams of 1,000 into 1,500 bytes: coalesced, one whole
    // datagram and half of the next (or, uncoalesced, 1,000 each).
    tx.send_gso(&payload, 1000, to).unwrap();
    let mut buf = [0u8; 1500];
    let mut whole = 0;
    let mut cut = false;
    while whole < payload.len() {
        let r = rx.recv_gro(&mut buf).unwrap();
        assert_eq!(r.segment_size, 1000);
        if r.len > 1000 || r.truncated {
            assert!(r.truncated, "{r:?}: more was coalesced than fits");
            assert_eq!((r.len, r.whole_len()), (1500, 1000), "{r:?}");
            cut = true;
        }
        assert_eq!(
            &buf[..r.whole_len()],
            &payload[whole..whole + r.whole_len()]
        );
        whole += r.whole_len();
        if cut {
            break;
        }
    }
    assert!(cut || whole == payload.len());
    // A single datagram longer than the buffer.
    rx.set_gro(false).unwrap();
    tx.send_to(&payload[..1200], rx.local_addr().unwrap())
        .unwrap();
    let r = rx.recv_gro(&mut buf[..100]).unwrap();
    assert!(r.truncated, "{r:?}");
    assert_eq!((r.len, r.whole_len()), (100, 0));
}

/// With `SO_PASSPIDFD` (Linux 6.5+) each message carries the sender's
/// pidfd, handed out once as an owned descriptor: a pidfd of this process.
#[test]
fn a_pidfd_arrives_owned_with_so_passpidfd() {
    let (a, b) = UnixStream::pair().unwrap();
    set_timeouts(b.as_socket());
    if let Err(e) = b.as_socket().set_pass_pidfd(true) {
        assert_eq!(e.raw_os_error(), Some(libc_enoprotoopt()), "{e}");
        eprintln!("skipped: SO_PASSPIDFD needs Linux 6.5 ({e})");
        return;
    }
    assert!(b.as_socket().pass_pidfd().unwrap());
    a.send_msg(&[IoSlice::new(b"p")], &[]).unwrap();
    let mut data = [0u8; 1];
    let mut control = CmsgBuffer::<{ cmsg_space(&[CmsgKind::ScmPidfd]) }>::new();
    let mut msg = b
        .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut control)
        .unwrap();
    let mut pidfds = Vec::new();
    for cmsg in msg.cmsgs() {
        if let Cmsg::ScmPidfd(mut p) = cmsg {
            assert!(format!("{p:?}").starts_with("ScmPidfd(Some("), "{p:?}");
            pidfds.extend(p.take());
            assert!(p.take().is_none(), "handed out once");
        }
    }
    assert_eq!(pidfds.len(), 1);
    // Walking again finds it taken.
    let again: Vec<_> = pick!(msg, Cmsg::ScmPidfd(mut p) => p.take());
    assert_eq!(again.len(), 1);
    assert!(again[0].is_none());
    let fdinfo =
        std::fs::read_to_string(format!("/proc/self/fdinfo/{}", pidfds[0].as_raw_fd())).unwrap();
    let pid = format!("Pid:\t{}", std::process::id());
    assert!(fdinfo.lines().any(|l| l == pid), "{fdinfo}");
    assert!(fdinfo.contains("flags:\t02"), "close-on-exec: {fdinfo}");
}

fn libc_enoprotoopt() -> i32 {
    92
}
