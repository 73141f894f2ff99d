//! Talks to an echo server (ours or any other) over TCP or UDP.
//!
//! ```text
//! cargo run --example echo_client -- [--udp] [ADDR] [MESSAGE...]
//! ```
//!
//! ADDR defaults to `127.0.0.1:7007` (`host:port`, `[v6]:port` or a host
//! name, resolved through sockpoll's getaddrinfo). With a MESSAGE, sends it
//! once and prints the echo; without, sends each line of stdin and prints
//! each echo. Exits 1 if an echo differs from what was sent or does not come
//! back within 5 seconds; 2 on a bad argument.

use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use sockpoll::{TcpStream, ToSockAddrs, UdpSocket};

const TIMEOUT: Duration = Duration::from_secs(5);

enum Peer {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

impl Peer {
    fn connect(addr: &str, udp: bool) -> sockpoll::Result<Peer> {
        let addrs = addr.to_sock_addrs()?;
        if udp {
            let mut last = None;
            for addr in &addrs {
                let any = if addr.family() == sockpoll::Domain::IPV6 {
                    "[::]:0"
                } else {
                    "0.0.0.0:0"
                };
                let attempt = UdpSocket::bind(any).and_then(|s| s.connect(addr).map(|()| s));
                match attempt {
                    Ok(s) => {
                        s.as_socket().set_read_timeout(Some(TIMEOUT))?;
                        return Ok(Peer::Udp(s));
                    }
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| sockpoll::Error::from(io::Error::other("no address"))))
        } else {
            let s = TcpStream::connect(addrs.as_slice())?;
            s.as_socket().set_read_timeout(Some(TIMEOUT))?;
            s.set_nodelay(true)?;
            Ok(Peer::Tcp(s))
        }
    }

    /// Sends `msg` and reads back exactly as many bytes (TCP) or one
    /// datagram (UDP).
    fn echo(&mut self, msg: &[u8]) -> io::Result<Vec<u8>> {
        match self {
            Peer::Tcp(s) => {
                s.write_all(msg)?;
                let mut back = vec![0; msg.len()];
                s.read_exact(&mut back)?;
                Ok(back)
            }
            Peer::Udp(s) => {
                s.send(msg)?;
                let mut back = vec![0; sockpoll::MAX_UDP_PAYLOAD_V4 + 1];
                let n = s.recv(&mut back)?;
                back.truncate(n);
                Ok(back)
            }
        }
    }
}

fn main() -> ExitCode {
    let mut udp = false;
    let mut positional = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--udp" => udp = true,
            "--tcp" => udp = false,
            "-h" | "--help" => {
                println!("usage: echo_client [--udp] [ADDR] [MESSAGE...]");
                return ExitCode::SUCCESS;
            }
            s if s.starts_with("--") => {
                eprintln!("echo_client: unknown option {s:?}");
                return ExitCode::from(2);
            }
            _ => positional.push(arg),
        }
    }
    let addr = if positional.is_empty() {
        "127.0.0.1:7007".to_string()
    } else {
        positional.remove(0)
    };
    let mut peer = match Peer::connect(&addr, udp) {
        Ok(peer) => peer,
        Err(e) => {
            eprintln!("echo_client: {e}");
            return ExitCode::from(1);
        }
    };

    let messages: Box<dyn Iterator<Item = io::Result<Vec<u8>>>> = if positional.is_empty() {
        Box::new(
            io::stdin()
                .lock()
                .lines()
                .map(|l| l.map(|l| format!("{l}\n").into_bytes())),
        )
    } else {
        Box::new(std::iter::once(Ok(positional.join(" ").into_bytes())))
    };
    let mut stdout = io::stdout().lock();
    for msg in messages {
        let result = msg.and_then(|msg| {
            let back = peer.echo(&msg)?;
            if back != msg {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the echo differs from what was sent",
                ));
            }
            stdout.write_all(&back)?;
            if !back.ends_with(b"\n") {
                stdout.write_all(b"\n")?;
            }
            stdout.flush()
        });
        if let Err(e) = result {
            eprintln!("echo_client: {e}");
            return ExitCode::from(1);
        }
    }
    ExitCode::SUCCESS
}
