//! Sockets sharing a port: `SO_INCOMING_CPU`, and a reuseport group's BPF
//! program steering each connection to the listener of the CPU that
//! received it, checked by connecting from threads pinned to each CPU.
// SO_INCOMING_CPU and SO_ATTACH_REUSEPORT_CBPF are Linux's.
#![cfg(target_os = "linux")]

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use sockpoll::{BpfInstruction, Domain, Error, SockAddr, Socket, Type, BPF_MAX_INSTRUCTIONS};

/// The CPUs this process may run on, in order.
fn allowed_cpus() -> Vec<usize> {
    let set = sched_getaffinity(Pid::from_raw(0)).expect("sched_getaffinity");
    (0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect()
}

fn reuseport_listener(addr: &SockAddr) -> Socket {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_reuse_port(true).unwrap();
    s.bind(addr).unwrap();
    s
}

#[test]
fn incoming_cpu_is_none_until_set_then_round_trips() {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    assert_eq!(s.incoming_cpu().unwrap(), None);
    s.set_incoming_cpu(1).unwrap();
    assert_eq!(s.incoming_cpu().unwrap(), Some(1));
    s.set_incoming_cpu(0).unwrap();
    assert_eq!(s.incoming_cpu().unwrap(), Some(0));
    let err = s.set_incoming_cpu(u32::MAX).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert_eq!(err.call(), "setsockopt SO_INCOMING_CPU");
}

#[test]
fn programs_of_no_or_too_many_instructions_are_refused_before_any_call() {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_reuse_port(true).unwrap();
    // BPF_RET | BPF_K: return 0.
    let ret0 = BpfInstruction::new((nix::libc::BPF_RET | nix::libc::BPF_K) as u16, 0, 0, 0);
    for program in [Vec::new(), vec![ret0; BPF_MAX_INSTRUCTIONS + 1]] {
        let err = s.attach_reuseport_cbpf(&program).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    }
    let err = s.steer_reuseport_by_cpu(0).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    // The longest program is taken.
    s.attach_reuseport_cbpf(&vec![ret0; BPF_MAX_INSTRUCTIONS])
        .unwrap();
}

#[test]
fn the_kernel_refuses_a_bad_program_with_a_typed_error() {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    s.set_reuse_port(true).unwrap();
    // An opcode no classic BPF instruction has; a jump (BPF_JMP | BPF_JA)
    // past the end.
    let ja = (nix::libc::BPF_JMP | nix::libc::BPF_JA) as u16;
    for program in [
        vec![BpfInstruction::new(0xffff, 0, 0, 0)],
        vec![BpfInstruction::new(ja, 0, 0, 10)],
    ] {
        let err = s.attach_reuseport_cbpf(&program).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        assert_eq!(err.raw_os_error(), Some(nix::errno::Errno::EINVAL as i32));
        assert_eq!(err.call(), "setsockopt SO_ATTACH_REUSEPORT_CBPF");
        assert!(
            err.to_string()
                .starts_with("setsockopt SO_ATTACH_REUSEPORT_CBPF fd "),
            "{err}"
        );
    }
}

/// Connects from a thread pinned to `cpu` and returns the stream.
fn connect_from(cpu: usize, to: SocketAddr) -> TcpStream {
    std::thread::spawn(move || {
        let mut set = CpuSet::new();
        set.set(cpu).unwrap();
        sched_setaffinity(Pid::from_raw(0), &set).expect("pin the connecting thread");
        TcpStream::connect(to).expect("connect")
    })
    .join()
    .unwrap()
}

/// Which listener holds the next connection (at most 5 s).
fn accepted_by(listeners: &[Socket]) -> usize {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for (i, l) in listeners.iter().enumerate() {
            match l.accept() {
                Ok(_) => return i,
                Err(e) if e.is_would_block() => {}
                Err(e) => panic!("accept: {e}"),
            }
        }
        assert!(Instant::now() < deadline, "no listener got the connection");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn steering_by_cpu_hands_each_connection_to_the_listener_of_its_cpu() {
    let cpus = allowed_cpus();
    if cpus.len() < 2 {
        println!("skipped: steering needs 2 CPUs, this process may use {cpus:?}");
        return;
    }
    let addr = SockAddr::from(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
    let first = reuseport_listener(&addr);
    let addr = first.local_addr().unwrap();
    let second = reuseport_listener(&addr);
    // The group's order is the order the listeners start listening.
    let listeners = [first, second];
    for l in &listeners {
        l.listen(128).unwrap();
        l.set_nonblocking(true).unwrap();
    }
    listeners[1].steer_reuseport_by_cpu(2).unwrap();
    let to = addr.as_socket().unwrap();
    for round in 0..10 {
        for &cpu in &cpus[..2] {
            let _client = connect_from(cpu, to);
            assert_eq!(
                accepted_by(&listeners),
                cpu % 2,
                "round {round}: a connection made on CPU {cpu}"
            );
        }
    }
}
