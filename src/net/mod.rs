//! The socket layer, private: its names are public at the crate root only
//! (`sockpoll::Socket`, one path a name).
//!
//! | what | file |
//! |---|---|
//! | [`Socket`]: create, bind, listen, accept, connect, send, receive, peek, shutdown, close; `Read`/`Write`; conversions | `net/socket.rs` |
//! | every socket option, one `impl` block per level | `net/options.rs` |
//! | the typed wrappers | `net/tcp.rs`, `net/udp.rs`, `net/unix.rs`, and what they share, `net/wrappers.rs` |
//! | message I/O (Linux): the control-message vocabulary; `send_msg`/`recv_msg`, the error queue, [`RecvMsg`]; batches | `net/cmsg.rs`; `net/msg.rs`; `net/mmsg.rs` |
//! | `TCP_INFO` | `net/tcp_info.rs` |
//! | sockets sharing a port (Linux): `SO_INCOMING_CPU`, a reuseport group's BPF program | `net/reuseport.rs` |
//! | name resolution | `net/resolve.rs` |
//!
//! Addresses and `Domain`/`Type`/`Protocol` are the ground module
//! `crate::addr`, below `sys`.

#[cfg(target_os = "linux")]
pub(crate) mod cmsg;
#[cfg(target_os = "linux")]
pub(crate) mod mmsg;
#[cfg(target_os = "linux")]
pub(crate) mod msg;
mod options;
pub(crate) mod resolve;
#[cfg(target_os = "linux")]
mod reuseport;
pub(crate) mod socket;
pub(crate) mod tcp;
pub(crate) mod tcp_info;
pub(crate) mod udp;
pub(crate) mod unix;
mod wrappers;

pub use crate::addr::{Domain, Protocol, SockAddr, Type, UNIX_PATH_MAX};
#[cfg(target_os = "linux")]
pub use cmsg::{
    cmsg_space, Cmsg, CmsgBuffer, CmsgKind, Cmsgs, ControlMessage, ErrorOrigin, ExtendedError,
    ScmPidfd, ScmRights, UnixCredentials,
};
#[cfg(target_os = "linux")]
pub use mmsg::{MmsgBatch, SendMsg, MAX_MMSG_BATCH, MAX_MMSG_CONTROL};
#[cfg(target_os = "linux")]
pub use msg::{RecvFlags, RecvMsg, MAX_SEND_CONTROL};
pub use resolve::{getnameinfo, hostname, resolve, AddrInfo, Hints, NameInfoFlags, ToSockAddrs};
#[cfg(target_os = "linux")]
pub use reuseport::{BpfInstruction, BPF_MAX_INSTRUCTIONS};
pub use socket::{Received, Socket};
pub use tcp::{TcpListener, TcpStream, DEFAULT_BACKLOG};
pub use tcp_info::{TcpInfo, TcpState};
#[cfg(target_os = "linux")]
pub use udp::GroRecv;
pub use udp::{UdpSocket, MAX_UDP_PAYLOAD_V4};
pub use unix::{UnixDatagram, UnixListener, UnixStream};
