//! What several event loops sharing one port need on their sockets
//! (Linux): the CPU that handled a socket's packets (`SO_INCOMING_CPU`),
//! and a classic BPF program attached to a `SO_REUSEPORT` group
//! (`SO_ATTACH_REUSEPORT_CBPF`) that picks which of the group's sockets
//! takes each new connection or datagram.

use std::os::fd::{AsFd, AsRawFd};

use crate::error::{Error, Result, Subject};
use crate::net::socket::Socket;
use crate::sys;

/// One classic BPF instruction (`struct sock_filter`): an opcode (`BPF_LD |
/// BPF_W | BPF_ABS`, …, the `libc::BPF_*` constants), the jump offsets taken
/// when a conditional jump is true (`jt`) or false (`jf`), and the constant
/// operand `k`.
///
/// The kernel checks a program when it is attached (an invalid one is
/// refused with `EINVAL`); nothing here is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BpfInstruction {
    /// The opcode.
    pub code: u16,
    /// Instructions to skip when a conditional jump is true.
    pub jt: u8,
    /// Instructions to skip when a conditional jump is false.
    pub jf: u8,
    /// The constant operand.
    pub k: u32,
}

impl BpfInstruction {
    /// An instruction from its four fields.
    pub const fn new(code: u16, jt: u8, jf: u8, k: u32) -> BpfInstruction {
        BpfInstruction { code, jt, jf, k }
    }
}

/// The most instructions a classic BPF program may have (`BPF_MAXINSNS`).
pub const BPF_MAX_INSTRUCTIONS: usize = 4096;

/// `A = the CPU this packet is being processed on; A %= n; return A`.
fn by_cpu(n: u32) -> [BpfInstruction; 3] {
    // Opcodes are 16 bits; libc types them u32.
    let op = |code: u32| code as u16;
    [
        BpfInstruction::new(
            op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS),
            0,
            0,
            (libc::SKF_AD_OFF + libc::SKF_AD_CPU) as u32,
        ),
        BpfInstruction::new(op(libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K), 0, 0, n),
        BpfInstruction::new(op(libc::BPF_RET | libc::BPF_A), 0, 0, 0),
    ]
}

/// Socket-level options for sockets that share a port.
impl Socket {
    /// The CPU that last processed this socket's incoming packets
    /// (`SO_INCOMING_CPU`), as the kernel records it; `None` while it has
    /// recorded none.
    ///
    /// # Errors
    ///
    #[doc = concat!("The OS error of ", man!("getsockopt", 2), ".")]
    #[doc(alias = "SO_INCOMING_CPU")]
    pub fn incoming_cpu(&self) -> Result<Option<u32>> {
        let cpu = sys::socket::getsockopt_int(
            self.as_fd(),
            libc::SOL_SOCKET,
            libc::SO_INCOMING_CPU,
            "getsockopt SO_INCOMING_CPU",
        )?;
        Ok(u32::try_from(cpu).ok())
    }

    /// Sets `SO_INCOMING_CPU`: on a listener set before it joins a
    /// `SO_REUSEPORT` group, the kernel prefers that listener for the
    /// connections it processes on `cpu` (Linux 4.4+).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for a CPU number
    /// over `i32::MAX`, without any call; the OS error of
    #[doc = concat!(man!("setsockopt", 2), ".")]
    #[doc(alias = "SO_INCOMING_CPU")]
    pub fn set_incoming_cpu(&self, cpu: u32) -> Result<()> {
        const CALL: &str = "setsockopt SO_INCOMING_CPU";
        let Ok(cpu) = libc::c_int::try_from(cpu) else {
            return Err(Error::InvalidInput {
                call: CALL,
                subject: Subject::Fd(self.as_raw_fd()),
                reason: "a CPU number is at most i32::MAX",
            });
        };
        sys::socket::setsockopt_int(
            self.as_fd(),
            libc::SOL_SOCKET,
            libc::SO_INCOMING_CPU,
            cpu,
            CALL,
        )
    }

    /// Attaches `program` to the socket's `SO_REUSEPORT` group
    /// (`SO_ATTACH_REUSEPORT_CBPF`): for each new connection (TCP) or
    /// datagram (UDP) the program's return value is the index of the
    /// group's socket that takes it, in the order they were bound; a value
    /// past the group's size falls back to the kernel's hash.
    ///
    /// Set `SO_REUSEPORT` first ([`set_reuse_port`](Socket::set_reuse_port));
    /// any socket of the group may carry the program, which replaces the
    /// group's previous one.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) without any call
    /// for an empty program or one over [`BPF_MAX_INSTRUCTIONS`]; the OS
    /// error of `setsockopt` otherwise — `EINVAL` when the kernel's checker
    /// refuses the program or the socket has no `SO_REUSEPORT`, `ENOMEM`.
    #[doc(alias = "SO_ATTACH_REUSEPORT_CBPF")]
    pub fn attach_reuseport_cbpf(&self, program: &[BpfInstruction]) -> Result<()> {
        const CALL: &str = "setsockopt SO_ATTACH_REUSEPORT_CBPF";
        let reason = if program.is_empty() {
            Some("a BPF program needs at least one instruction")
        } else if program.len() > BPF_MAX_INSTRUCTIONS {
            Some("a classic BPF program has at most 4096 instructions (BPF_MAXINSNS)")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(Error::InvalidInput {
                call: CALL,
                subject: Subject::Fd(self.as_raw_fd()),
                reason,
            });
        }
        let raw: Vec<libc::sock_filter> = program
            .iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        sys::socket::attach_reuseport_cbpf(self.as_fd(), &raw, CALL)
    }

    /// Steers each new connection or datagram of the socket's
    /// `SO_REUSEPORT` group to socket `cpu % sockets` (in bind order), `cpu`
    /// being the CPU the kernel processes it on: with one listener per CPU,
    /// bound in CPU order, each connection stays on the CPU (and the loop
    /// pinned there) that received it. A classic BPF program of three
    /// instructions, through [`attach_reuseport_cbpf`](Socket::attach_reuseport_cbpf).
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](std::io::ErrorKind::InvalidInput) for `sockets == 0`;
    /// otherwise as [`attach_reuseport_cbpf`](Socket::attach_reuseport_cbpf).
    pub fn steer_reuseport_by_cpu(&self, sockets: u32) -> Result<()> {
        if sockets == 0 {
            return Err(Error::InvalidInput {
                call: "setsockopt SO_ATTACH_REUSEPORT_CBPF",
                subject: Subject::Fd(self.as_raw_fd()),
                reason: "a reuseport group to steer to needs at least one socket",
            });
        }
        self.attach_reuseport_cbpf(&by_cpu(sockets))
    }
}
