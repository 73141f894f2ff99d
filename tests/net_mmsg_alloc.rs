//! Message I/O allocates nothing in steady state: `send_mmsg`/`recv_mmsg`
//! with per-datagram control messages (source address out, pktinfo in),
//! reading every datagram's address, flags and control messages, and
//! `send_msg`/`recv_msg` with control messages and no descriptors.
//!
//! One process, one thread (`harness = false`), as tests/event_alloc.rs:
//! libtest's own threads allocate while a test runs, and the counter is
//! process-wide.

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("net_mmsg_alloc: skipped: message I/O is Linux-only in sockpoll");
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{IoSlice, IoSliceMut};
    use std::net::{Ipv4Addr, SocketAddr};

    use sockpoll::{
        cmsg_space, Cmsg, CmsgBuffer, CmsgKind, ControlMessage, Domain, MmsgBatch, SendMsg,
        SockAddr, Socket, Type,
    };
    use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

    #[global_allocator]
    static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

    pub(crate) fn main() {
        message_io_allocates_nothing_in_steady_state();
        println!("test result: ok. 1 passed; 0 failed");
    }

    fn message_io_allocates_nothing_in_steady_state() {
        // The counter works: one Box is one allocation.
        let probe = Region::new(GLOBAL);
        drop(std::hint::black_box(Box::new(7u64)));
        assert_eq!(probe.change().allocations, 1);

        let server = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        server
            .bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)).into())
            .unwrap();
        server.set_recv_pktinfo_v4(true).unwrap();
        let port = server.local_addr().unwrap().as_socket().unwrap().port();
        let client = Socket::new(Domain::IPV4, Type::DGRAM, None).unwrap();
        client
            .bind(&SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into())
            .unwrap();
        client.set_recv_pktinfo_v4(true).unwrap();
        let to_server = SockAddr::from(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
        let to_client = client.local_addr().unwrap();

        const SPACE: usize = cmsg_space(&[CmsgKind::PktInfoV4]);
        let mut out = MmsgBatch::new(8, SPACE).unwrap();
        let mut inb = MmsgBatch::new(8, SPACE).unwrap();
        let mut bufs = [[0u8; 256]; 8];
        let payloads: [[u8; 100]; 8] = std::array::from_fn(|i| [i as u8; 100]);
        let src = [ControlMessage::PktInfoV4 {
            ifindex: 0,
            source: Ipv4Addr::new(127, 0, 0, 2),
        }];
        let mut control = CmsgBuffer::<SPACE>::new();

        let mut round = |delivered: &mut usize| {
            // Batched: the server answers eight datagrams from 127.0.0.2.
            let msgs: [SendMsg<'_>; 8] =
                std::array::from_fn(|i| SendMsg::new(&payloads[i]).to(&to_client).control(&src));
            let mut sent = 0;
            while sent < msgs.len() {
                sent += server.send_mmsg(&mut out, &msgs[sent..]).unwrap();
            }
            let mut got = 0;
            while got < 8 {
                let n = client.recv_mmsg(&mut inb, &mut bufs).unwrap();
                for mut m in inb.messages() {
                    assert_eq!(m.len, 100);
                    assert!(m.addr.as_socket().is_some());
                    for c in m.cmsgs() {
                        if let Cmsg::PktInfoV4 { addr, .. } = c {
                            assert_eq!(addr, Ipv4Addr::LOCALHOST);
                            *delivered += 1;
                        }
                    }
                }
                got += n;
            }
            // Single: a control message out, pktinfo in.
            client
                .send_msg(
                    &[IoSlice::new(b"one")],
                    Some(&to_server),
                    &[ControlMessage::Tos(8)],
                )
                .unwrap();
            let mut data = [0u8; 8];
            let mut msg = server
                .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut control)
                .unwrap();
            assert_eq!(msg.len, 3);
            *delivered += msg.cmsgs().count();
        };

        let mut delivered = 0;
        for _ in 0..3 {
            round(&mut delivered);
        }
        let region = Region::new(GLOBAL);
        let mut delivered = 0;
        for _ in 0..100 {
            round(&mut delivered);
        }
        let stats = region.change();
        assert_eq!(delivered, 100 * 9, "every datagram's pktinfo was read");
        assert_eq!(
            (stats.allocations, stats.reallocations),
            (0, 0),
            "message I/O allocated in steady state: {stats:?}"
        );
    }
}
