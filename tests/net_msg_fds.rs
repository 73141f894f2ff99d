//! No received descriptor leaks, not even from a control buffer too small
//! for them (`MSG_CTRUNC`): counted in
//! `/proc/self/fd`, so this binary runs one test, without libtest
//! (`harness = false`): parallel tests open descriptors and would make the
//! count meaningless.
//!
//! Each case sends descriptors and receives them in a way that leaves some
//! behind — a control buffer too small (`MSG_CTRUNC`), a message dropped
//! without taking its fds, a batch whose fds are never looked at, a
//! buffer whose last message ends unaligned, a pidfd (`SCM_PIDFD`) — and
//! the count must come back to where it was.

#[cfg(target_os = "linux")]
fn main() {
    linux::main();
}

#[cfg(not(target_os = "linux"))]
fn main() {
    println!(
        "net_msg_fds: skipped: message I/O is Linux-only in sockpoll (and the count reads /proc)"
    );
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{IoSlice, IoSliceMut};
    use std::os::fd::AsFd;

    use sockpoll::{
        cmsg_space, Cmsg, CmsgBuffer, CmsgKind, ControlMessage, MmsgBatch, UnixDatagram, UnixStream,
    };

    fn open_fds() -> usize {
        // Read here rather than through tests/util: .ci/libc-floor.sh builds
        // this file alone, without the dev-dependencies util needs.
        std::fs::read_dir("/proc/self/fd")
            .expect("read /proc/self/fd")
            .count()
    }

    pub(crate) fn main() {
        let (a, b) = UnixStream::pair().unwrap();
        let (da, db) = UnixDatagram::pair().unwrap();
        let (x, _xp) = UnixStream::pair().unwrap();
        let eight = [x.as_fd(); 8];
        let rights = [ControlMessage::ScmRights(&eight)];
        let before = open_fds();

        for round in 0..20 {
            // 1. Too small a control buffer: MSG_CTRUNC; two fit, all eight
            //    are gone after (the kernel never installs the rest).
            a.send_msg(&[IoSlice::new(b"t")], &rights).unwrap();
            let mut data = [0u8; 1];
            let mut control = CmsgBuffer::<{ cmsg_space(&[CmsgKind::ScmRights(2)]) }>::new();
            let mut msg = b
                .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut control)
                .unwrap();
            assert!(msg.flags.is_control_truncated(), "round {round}");
            // Take one, leave the other to the message's drop.
            let taken = msg.cmsgs().find_map(|c| match c {
                Cmsg::ScmRights(mut r) => r.next(),
                _ => None,
            });
            assert!(taken.is_some());
            drop(msg);
            drop(taken);
            assert_eq!(open_fds(), before, "round {round}: ctrunc leaked");

            // 2. Enough room, nothing taken: all closed with the message.
            a.send_msg(&[IoSlice::new(b"u")], &rights).unwrap();
            let mut control = CmsgBuffer::<{ cmsg_space(&[CmsgKind::ScmRights(8)]) }>::new();
            let msg = b
                .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut control)
                .unwrap();
            assert!(!msg.flags.is_control_truncated());
            assert_eq!(open_fds(), before + 8, "round {round}: the fds arrived");
            drop(msg);
            assert_eq!(open_fds(), before, "round {round}: untaken fds leaked");

            // 3. A batch: fds in every datagram, never looked at; the next
            //    receive into the batch closes them, and so does its drop.
            let mut batch = MmsgBatch::new(4, cmsg_space(&[CmsgKind::ScmRights(8)])).unwrap();
            for _ in 0..3 {
                da.send_msg(&[IoSlice::new(b"d")], None, &rights).unwrap();
            }
            let mut bufs = [[0u8; 4]; 4];
            assert_eq!(db.recv_mmsg(&mut batch, &mut bufs).unwrap(), 3);
            assert_eq!(open_fds(), before + 24);
            da.send_msg(&[IoSlice::new(b"d")], None, &rights).unwrap();
            assert_eq!(db.recv_mmsg(&mut batch, &mut bufs).unwrap(), 1);
            assert_eq!(open_fds(), before + 8, "round {round}: next receive closes");
            // Take some through get(); the view closes the rest as it drops.
            let some: Vec<_> = batch
                .get(0)
                .unwrap()
                .cmsgs()
                .filter_map(|c| match c {
                    Cmsg::ScmRights(r) => Some(r.take(3).collect::<Vec<_>>()),
                    _ => None,
                })
                .flatten()
                .collect();
            assert_eq!(some.len(), 3);
            assert_eq!(
                open_fds(),
                before + 3,
                "round {round}: get()'s view closes the rest"
            );
            drop(some);
            assert_eq!(open_fds(), before, "round {round}");

            // A batch whose control areas are too small: MSG_CTRUNC per
            // datagram, the two that fit in each are owned, the rest never
            // installed.
            let mut tight = MmsgBatch::new(2, cmsg_space(&[CmsgKind::ScmRights(2)])).unwrap();
            da.send_msg(&[IoSlice::new(b"d")], None, &rights).unwrap();
            da.send_msg(&[IoSlice::new(b"d")], None, &rights).unwrap();
            assert_eq!(db.recv_mmsg(&mut tight, &mut bufs).unwrap(), 2);
            assert_eq!(open_fds(), before + 4, "round {round}: two fit in each");
            assert!(tight.messages().all(|m| m.flags.is_control_truncated()));
            assert_eq!(open_fds(), before, "round {round}: batch ctrunc leaked");
            drop(tight);

            // Never looked at: the batch's drop closes them.
            da.send_msg(&[IoSlice::new(b"d")], None, &rights).unwrap();
            assert_eq!(db.recv_mmsg(&mut batch, &mut bufs).unwrap(), 1);
            assert_eq!(open_fds(), before + 8);
            drop(batch);
            assert_eq!(open_fds(), before, "round {round}: batch drop closes them");

            // 4. A buffer whose last message ends unaligned: on 64-bit, 52
            //    bytes hold SCM_CREDENTIALS (32) and an SCM_RIGHTS of one fd
            //    (20, no padding); 40 on 32-bit (24 + 16). The fd is
            //    installed (no MSG_CTRUNC), so it must be walked, handed out
            //    and, untaken, closed.
            let end = cmsg_space(&[CmsgKind::ScmCredentials])
                + cmsg_space(&[CmsgKind::ScmRights(0)])
                + std::mem::size_of::<i32>();
            let (c, d) = UnixStream::pair().unwrap();
            d.as_socket().set_pass_credentials(true).unwrap();
            let one = [x.as_fd()];
            c.send_msg(&[IoSlice::new(b"c")], &[ControlMessage::ScmRights(&one)])
                .unwrap();
            let mut control = CmsgBuffer::<56>::new();
            let mut msg = d
                .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut control[..end])
                .unwrap();
            assert!(!msg.flags.is_control_truncated(), "round {round}");
            assert_eq!(msg.control_len(), end);
            let kinds: Vec<bool> = msg
                .cmsgs()
                .map(|c| matches!(c, Cmsg::ScmRights(_)))
                .collect();
            assert_eq!(kinds, [false, true], "round {round}: the last one walked");
            assert_eq!(open_fds(), before + 3, "round {round}: pair + the fd");
            drop(msg);
            drop((c, d));
            assert_eq!(open_fds(), before, "round {round}: unaligned end leaked");

            // 5. SCM_PIDFD (SO_PASSPIDFD, Linux 6.5+): the kernel installs a
            //    pidfd per message; taken once, closed with the message.
            let (e, f) = UnixStream::pair().unwrap();
            if f.as_socket().set_pass_pidfd(true).is_ok() {
                for take in [false, true] {
                    e.send_msg(&[IoSlice::new(b"p")], &[]).unwrap();
                    let mut control = CmsgBuffer::<64>::new();
                    let mut msg = f
                        .recv_msg(&mut [IoSliceMut::new(&mut data)], &mut control)
                        .unwrap();
                    assert_eq!(open_fds(), before + 3, "round {round}: the pidfd");
                    let taken = msg.cmsgs().find_map(|c| match c {
                        Cmsg::ScmPidfd(mut p) if take => p.take(),
                        _ => None,
                    });
                    assert_eq!(taken.is_some(), take, "round {round}");
                    drop(msg);
                    assert_eq!(open_fds(), before + 2 + usize::from(take));
                    drop(taken);
                    assert_eq!(open_fds(), before + 2, "round {round}: pidfd leaked");
                }
            } else {
                eprintln!("skipped: SO_PASSPIDFD needs Linux 6.5");
            }
            drop((e, f));
            assert_eq!(open_fds(), before, "round {round}");
        }
        println!("test result: ok. 1 passed; 0 failed");
    }
}
