//! `send_mmsg`/`recv_mmsg` over real UDP and Unix sockets: mixed sizes,
//! truncation, empty datagrams, per-datagram addresses and control
//! messages, partial batches, and the bad inputs as typed errors.
// sendmmsg/recvmmsg, GSO and GRO are Linux-only in sockpoll.
#![cfg(target_os = "linux")]

mod util;

use std::io::{self, IoSlice};
use std::net::{Ipv4Addr, SocketAddr};

use sockpoll::{
    cmsg_space, Cmsg, CmsgKind, ControlMessage, Domain, MmsgBatch, RecvFlags, SendMsg, SockAddr,
    Socket, Type, UdpSocket, UnixDatagram,
};
use util::net::*;

fn udp(addr: &str) -> UdpSocket {
    let s = UdpSocket::bind(addr).unwrap();
    set_timeouts(s.as_socket());
    s
}

fn wildcard_v4() -> Socket {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
    s.bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)).into())
        .unwrap();
    set_timeouts(&s);
    s
}

#[test]
fn a_batch_of_mixed_sizes_reports_each_length_truncation_and_sender() {
    let a = udp("127.0.0.1:0");
    let b = udp("127.0.0.1:0");
    let sizes = [0usize, 1, 100, 2000, 1500, 0];
    for (i, &n) in sizes.iter().enumerate() {
        let data = vec![i as u8; n];
        a.send_to(&data, b.local_addr().unwrap()).unwrap();
    }
    let mut batch = MmsgBatch::new(8, 0).unwrap();
    let mut bufs = vec![vec![0xffu8; 1500]; 8];
    let n = b.recv_mmsg(&mut batch, &mut bufs).unwrap();
    assert_eq!(n, sizes.len(), "loopback queued them all before the call");
    assert_eq!(batch.len(), n);
    let from = SockAddr::from(a.local_addr().unwrap());
    for (i, msg) in batch.messages().enumerate() {
        let want = sizes[i].min(1500);
        assert_eq!(msg.len, want, "datagram {i}");
        assert_eq!(msg.flags.is_truncated(), sizes[i] > 1500, "datagram {i}");
        assert_eq!(msg.addr, from);
        assert!(bufs[i][..want].iter().all(|&x| x == i as u8));
    }
    assert_eq!(batch.get(3).unwrap().flags, RecvFlags::TRUNC);
    assert!(batch.get(n).is_none());

    // Nothing queued, non-blocking: WouldBlock, and the batch is empty.
    b.set_nonblocking(true).unwrap();
    let err = b.recv_mmsg(&mut batch, &mut bufs).unwrap_err();
    assert!(err.is_would_block(), "{err}");
    assert!(batch.is_empty());
}

#[test]
fn each_datagram_of_a_batch_has_its_own_destination_and_source() {
    let server = wildcard_v4();
    server.set_recv_pktinfo_v4(true).unwrap();
    let port = server.local_addr().unwrap().as_socket().unwrap().port();
    let c1 = udp("127.0.0.1:0");
    let c2 = udp("127.0.0.1:0");
    let to1 = SockAddr::from(c1.local_addr().unwrap());
    let to2 = SockAddr::from(c2.local_addr().unwrap());
    let src = |last| {
        [ControlMessage::PktInfoV4 {
            ifindex: 0,
            source: Ipv4Addr::new(127, 0, 0, last),
        }]
    };
    let (s2, s3, s4) = (src(2), src(3), src(4));
    let msgs = [
        SendMsg::new(b"one").to(&to1).control(&s2),
        SendMsg::new(b"two").to(&to2).control(&s3),
        SendMsg::new(b"three").to(&to1).control(&s4),
        SendMsg::new(b"").to(&to2),
    ];
    let mut batch = MmsgBatch::new(4, cmsg_space(&[CmsgKind::PktInfoV4])).unwrap();
    assert_eq!(server.send_mmsg(&mut batch, &msgs).unwrap(), 4);
    assert_eq!(batch.sent_len(2), Some(5));
    assert!(batch.is_empty(), "a send fills no received messages");

    let mut buf = [0u8; 16];
    let got = |c: &UdpSocket, buf: &mut [u8]| {
        let (n, from) = c.recv_from(buf).unwrap();
        (buf[..n].to_vec(), from)
    };
    let at = |last| SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), port));
    assert_eq!(got(&c1, &mut buf), (b"one".to_vec(), at(2)));
    assert_eq!(got(&c1, &mut buf), (b"three".to_vec(), at(4)));
    assert_eq!(got(&c2, &mut buf), (b"two".to_vec(), at(3)));
    assert_eq!(got(&c2, &mut buf), (b"".to_vec(), at(1)));
}

#[test]
fn each_received_datagram_has_its_own_pktinfo() {
    let server = wildcard_v4();
    server.set_recv_pktinfo_v4(true).unwrap();
    let port = server.local_addr().unwrap().as_socket().unwrap().port();
    let client = udp("127.0.0.1:0");
    let dests = [1u8, 5, 6, 1];
    for &d in &dests {
        client
            .send_to(&[d], (Ipv4Addr::new(127, 0, 0, d), port))
            .unwrap();
    }
    let mut batch = MmsgBatch::new(8, cmsg_space(&[CmsgKind::PktInfoV4])).unwrap();
    let mut bufs = [[0u8; 4]; 8];
    assert_eq!(server.recv_mmsg(&mut batch, &mut bufs).unwrap(), 4);
    for (i, mut msg) in batch.messages().enumerate() {
        let dst: Vec<Ipv4Addr> = msg
            .cmsgs()
            .filter_map(|c| match c {
                Cmsg::PktInfoV4 { addr, .. } => Some(addr),
                _ => None,
            })
            .collect();
        assert_eq!(
            dst,
            vec![Ipv4Addr::new(127, 0, 0, dests[i])],
            "datagram {i}"
        );
        assert_eq!(bufs[i][0], dests[i]);
    }
}

#[test]
fn a_batch_larger_than_the_capacity_is_sent_in_part_and_reported() {
    let a = udp("127.0.0.1:0");
    let b = udp("127.0.0.1:0");
    let to = SockAddr::from(b.local_addr().unwrap());
    let payloads: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10 + usize::from(i)]).collect();
    let msgs: Vec<SendMsg<'_>> = payloads.iter().map(|p| SendMsg::new(p).to(&to)).collect();
    let mut batch = MmsgBatch::new(2, 0).unwrap();
    let mut sent = 0;
    for _ in 0..5 {
        if sent == msgs.len() {
            break;
        }
        let n = a.send_mmsg(&mut batch, &msgs[sent..]).unwrap();
        assert!((1..=2).contains(&n), "{n}");
        sent += n;
    }
    assert_eq!(sent, 5);
    // Received two at a time by a batch of capacity 2.
    let mut bufs = [[0u8; 32]; 4];
    let mut got = Vec::new();
    for _ in 0..5 {
        if got.len() == 5 {
            break;
        }
        let n = b.recv_mmsg(&mut batch, &mut bufs).unwrap();
        assert!(n <= 2);
        let mut seen = 0;
        for (i, m) in batch.messages().enumerate() {
            got.push(bufs[i][..m.len].to_vec());
            seen += 1;
        }
        assert_eq!(seen, n, "messages() yields every datagram received");
    }
    assert_eq!(got, payloads);
}

#[test]
fn bad_batches_are_typed_errors() {
    let a = udp("127.0.0.1:0");
    let to = SockAddr::from(a.local_addr().unwrap());
    // A batch of 0: no messages, no buffers, or no capacity.
    let mut batch = MmsgBatch::new(4, 0).unwrap();
    let err = a.send_mmsg(&mut batch, &[]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.call(), "sendmmsg");
    let mut none: [[u8; 4]; 0] = [];
    let err = a.recv_mmsg(&mut batch, &mut none).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.call(), "recvmmsg");
    // Batches that cannot be: none, too many, too much control.
    for (n, space) in [
        (0, 64),
        (sockpoll::MAX_MMSG_BATCH + 1, 0),
        (4, sockpoll::MAX_MMSG_CONTROL + 1),
        (usize::MAX, usize::MAX),
    ] {
        let err = MmsgBatch::new(n, space).unwrap_err();
        assert_eq!(
            err.kind(),
            io::ErrorKind::InvalidInput,
            "{n} {space}: {err}"
        );
    }
    let most = MmsgBatch::new(sockpoll::MAX_MMSG_BATCH, sockpoll::MAX_MMSG_CONTROL / 1024).unwrap();
    assert_eq!(most.capacity(), sockpoll::MAX_MMSG_BATCH);

    // Control messages that do not fit the batch's per-datagram space:
    // InvalidInput, nothing sent.
    a.set_nonblocking(true).unwrap();
    let tos = [ControlMessage::Tos(4), ControlMessage::Tos(8)];
    let mut small = MmsgBatch::new(2, cmsg_space(&[CmsgKind::Tos])).unwrap();
    let err = a
        .send_mmsg(&mut small, &[SendMsg::new(b"x").to(&to).control(&tos)])
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    let mut buf = [0u8; 4];
    assert!(a.recv(&mut buf).unwrap_err().is_would_block());
}

#[test]
fn unix_datagram_batches_carry_credentials_per_message() {
    let (a, b) = UnixDatagram::pair().unwrap();
    set_timeouts(b.as_socket());
    b.as_socket().set_pass_credentials(true).unwrap();
    let msgs = [SendMsg::new(b"a"), SendMsg::new(b""), SendMsg::new(b"ccc")];
    let mut batch = MmsgBatch::new(3, cmsg_space(&[CmsgKind::ScmCredentials])).unwrap();
    assert_eq!(a.send_mmsg(&mut batch, &msgs).unwrap(), 3);
    let mut bufs = [[0u8; 8]; 3];
    assert_eq!(b.recv_mmsg(&mut batch, &mut bufs).unwrap(), 3);
    let me = sockpoll::UnixCredentials::current();
    let lens: Vec<usize> = batch
        .messages()
        .map(|mut m| {
            let creds: Vec<_> = m
                .cmsgs()
                .filter_map(|c| match c {
                    Cmsg::ScmCredentials(c) => Some(c),
                    _ => None,
                })
                .collect();
            assert_eq!(creds, vec![me]);
            m.len
        })
        .collect();
    assert_eq!(lens, vec![1, 0, 3]);
}

#[test]
fn gro_sizes_arrive_per_datagram_in_a_batch() {
    let a = udp("127.0.0.1:0");
    let b = udp("127.0.0.1:0");
    b.set_gro(true).unwrap();
    let payload = vec![7u8; 4000];
    a.send_gso(&payload, 1000, Some(b.local_addr().unwrap()))
        .unwrap();
    let mut batch = MmsgBatch::new(4, cmsg_space(&[CmsgKind::UdpGroSegments])).unwrap();
    let mut bufs = vec![vec![0u8; 65536]; 4];
    let mut total = 0;
    for _ in 0..4 {
        if total == payload.len() {
            break;
        }
        b.recv_mmsg(&mut batch, &mut bufs).unwrap();
        for mut m in batch.messages() {
            let seg = m.cmsgs().find_map(|c| match c {
                Cmsg::UdpGroSegments(s) => Some(usize::from(s)),
                _ => None,
            });
            // Coalesced: the size of each segment; alone: none, or its own.
            assert!(matches!(seg, None | Some(1000)), "{seg:?} for {}", m.len);
            total += m.len;
        }
    }
    assert_eq!(total, payload.len());
}

#[test]
fn a_batch_may_hold_vectored_datagrams() {
    let a = udp("127.0.0.1:0");
    let b = udp("127.0.0.1:0");
    let to = SockAddr::from(b.local_addr().unwrap());
    let first = [IoSlice::new(b"head:"), IoSlice::new(b"body")];
    let second = [IoSlice::new(b""), IoSlice::new(b"x"), IoSlice::new(b"yz")];
    let msgs = [
        SendMsg::vectored(&first).to(&to),
        SendMsg::new(b"plain").to(&to),
        SendMsg::vectored(&second).to(&to),
        SendMsg::vectored(&[]).to(&to),
    ];
    let mut batch = MmsgBatch::new(4, 0).unwrap();
    assert_eq!(a.send_mmsg(&mut batch, &msgs).unwrap(), 4);
    assert_eq!(batch.sent_len(0), Some(9));
    let mut bufs = [[0u8; 16]; 4];
    assert_eq!(b.recv_mmsg(&mut batch, &mut bufs).unwrap(), 4);
    let got: Vec<Vec<u8>> = batch
        .messages()
        .enumerate()
        .map(|(i, m)| bufs[i][..m.len].to_vec())
        .collect();
    assert_eq!(
        got,
        vec![
            b"head:body".to_vec(),
            b"plain".to_vec(),
            b"xyz".to_vec(),
            vec![]
        ]
    );
}

#[test]
fn batches_send_through_a_vectored_single_message_too() {
    // send_msg with several slices is one datagram.
    let a = udp("127.0.0.1:0");
    let b = udp("127.0.0.1:0");
    a.send_msg(
        &[IoSlice::new(b"ab"), IoSlice::new(b"cd")],
        Some(b.local_addr().unwrap()),
        &[],
    )
    .unwrap();
    let mut batch = MmsgBatch::new(1, 0).unwrap();
    let mut bufs = [[0u8; 8]; 1];
    assert_eq!(b.recv_mmsg(&mut batch, &mut bufs).unwrap(), 1);
    assert_eq!(&bufs[0][..batch.get(0).unwrap().len], b"abcd");
}

/// `sent_len` answers only for what the last send sent: not for a slot a
/// receive filled, nor for one an earlier, larger send used.
#[test]
fn sent_len_is_none_past_the_last_send() {
    let (a, b) = UnixDatagram::pair().unwrap();
    let mut batch = MmsgBatch::new(4, 0).unwrap();
    for _ in 0..3 {
        a.send(b"0123456789").unwrap();
    }
    let mut bufs = [[0u8; 16]; 4];
    assert_eq!(b.recv_mmsg(&mut batch, &mut bufs).unwrap(), 3);
    assert_eq!(batch.sent_len(0), None, "a receive is not a send");
    assert_eq!(b.send_mmsg(&mut batch, &[SendMsg::new(b"x")]).unwrap(), 1);
    assert_eq!(batch.sent_len(0), Some(1));
    assert_eq!(batch.sent_len(1), None, "a received length");
    let four = [SendMsg::new(b"abcd"); 4];
    assert_eq!(b.send_mmsg(&mut batch, &four).unwrap(), 4);
    assert_eq!(batch.sent_len(3), Some(4));
    assert_eq!(b.send_mmsg(&mut batch, &four[..2]).unwrap(), 2);
    assert_eq!(batch.sent_len(1), Some(4));
    assert_eq!(batch.sent_len(2), None, "an earlier send's length");
    assert_eq!(batch.sent_len(4), None);
}

/// A sender that never bound is unnamed from every receive of a
/// `UnixDatagram`: `recv_from`, `peek_from`, `recv_msg` and a batch.
#[test]
fn an_unbound_unix_sender_is_unnamed_from_every_receive() {
    let dir = std::env::temp_dir().join(format!("sockpoll-unnamed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rx");
    let _ = std::fs::remove_file(&path);
    let rx = UnixDatagram::bind(&path).unwrap();
    let tx = UnixDatagram::unbound().unwrap();
    let to = SockAddr::unix(&path).unwrap();
    for _ in 0..4 {
        tx.send_to(b"hi", &to).unwrap();
    }
    let mut buf = [0u8; 8];
    let (_, from) = rx.peek_from(&mut buf).unwrap();
    assert!(from.is_unnamed(), "peek_from: {from:?}");
    let (_, from) = rx.recv_from(&mut buf).unwrap();
    assert!(from.is_unnamed(), "recv_from: {from:?}");
    let msg = rx
        .recv_msg(&mut [std::io::IoSliceMut::new(&mut buf)], &mut [])
        .unwrap();
    assert!(msg.addr.is_unnamed(), "recv_msg: {:?}", msg.addr);
    drop(msg);
    let mut batch = MmsgBatch::new(4, 0).unwrap();
    let mut bufs = [[0u8; 8]; 4];
    assert_eq!(rx.recv_mmsg(&mut batch, &mut bufs).unwrap(), 2);
    assert!(batch.messages().all(|m| m.addr.is_unnamed()));
    assert!(batch.get(1).unwrap().addr.is_unnamed());
    // Through the plain Socket, what the kernel reports: no address.
    tx.send_to(b"hi", &to).unwrap();
    assert_eq!(rx.as_socket().recv_mmsg(&mut batch, &mut bufs).unwrap(), 1);
    assert!(batch.get(0).unwrap().addr.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
