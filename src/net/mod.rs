//! The socket layer: addresses, name resolution, `Socket` and its typed
//! wrappers. Everything here is re-exported at the crate root.

pub(crate) mod addr;
#[cfg(target_os = "linux")]
pub(crate) mod msg;
pub(crate) mod resolve;
mod shell;
pub(crate) mod socket;
pub(crate) mod tcp;
pub(crate) mod tcp_info;
pub(crate) mod udp;
mod uninit;
pub(crate) mod unix;

pub use addr::{Domain, Protocol, SockAddr, Type, UNIX_PATH_MAX};
#[cfg(target_os = "linux")]
pub use msg::{
    cmsg_space, Cmsg, CmsgBuffer, CmsgKind, Cmsgs, ControlMessage, ErrorOrigin, ExtendedError,
    MmsgBatch, RecvFlags, RecvMsg, ScmPidfd, ScmRights, SendMsg, UnixCredentials, MAX_MMSG_BATCH,
    MAX_MMSG_CONTROL, MAX_SEND_CONTROL,
};
pub use resolve::{getnameinfo, hostname, resolve, AddrInfo, Hints, NameInfoFlags, ToSockAddrs};
pub use socket::{Received, Socket};
pub use tcp::{TcpListener, TcpStream, DEFAULT_BACKLOG};
pub use tcp_info::{TcpInfo, TcpState};
#[cfg(target_os = "linux")]
pub use udp::GroRecv;
pub use udp::{UdpSocket, MAX_UDP_PAYLOAD_V4};
pub use unix::{UnixDatagram, UnixListener, UnixStream};
