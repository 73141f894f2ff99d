//! Talks to an echo server (ours or any other) over TCP or UDP.
//!
//! ```text
//! cargo run --example echo_client -- [--udp] [ADDR] [MESSAGE...]
//! ```
//!
//! ADDR defaults to `127.0.0.1:7007` (`host:port`, `[v6]:port` or a host
//! name). The host is resolved the way an event loop must resolve it, with
//! a [`Resolver`]: getaddrinfo on its thread, the result delivered through
//! a selector (`lookup` below), so nothing here would block a loop with
//! other sockets in it. With a MESSAGE, sends it
//! once and prints the echo; without, sends each line of stdin and prints
//! each echo. Exits 1 if an echo differs from what was sent or does not come
//! back within 5 seconds; 2 on a bad argument.

use std::io::{self, BufRead, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use std::os::fd::AsFd;

use sockpoll::event::{DefaultSelector, Events, Interest, Mode, Selector, Token};
use sockpoll::{Hints, Resolver, SockAddr, TcpStream, Type, UdpSocket};

const TIMEOUT: Duration = Duration::from_secs(5);

enum Peer {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

impl Peer {
    fn connect(addr: &str, udp: bool) -> sockpoll::Result<Peer> {
        let addrs = lookup(addr, udp)?;
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

/// Resolves `host:port` (or `[v6]:port`) through a [`Resolver`]
/// registered with a selector, as a loop with other sockets would: the
/// wait reports the resolver's token when the answer is in.
fn lookup(addr: &str, udp: bool) -> sockpoll::Result<Vec<SockAddr>> {
    const RESOLVER: Token = Token(0);
    let bad = || {
        sockpoll::Error::from(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad address {addr:?}: expected host:port or [v6]:port"),
        ))
    };
    let (host, port) = match addr.strip_prefix('[') {
        Some(rest) => rest.split_once("]:").ok_or_else(bad)?,
        None => addr.rsplit_once(':').ok_or_else(bad)?,
    };
    let ty = if udp { Type::DGRAM } else { Type::STREAM };
    let selector = DefaultSelector::new()?;
    let resolver = Resolver::new()?;
    selector.register(resolver.as_fd(), RESOLVER, Interest::READABLE, Mode::Level)?;
    let pending = resolver.resolve(host, Some(port), Hints::new().socket_type(ty))?;
    let mut events = Events::with_capacity(8);
    loop {
        // The resolver answers within its deadline (10 s), with a timeout
        // error if getaddrinfo has not.
        selector.wait(&mut events, None)?;
        while let Some(done) = resolver.take() {
            if done.id == pending.id() {
                return Ok(done.result?.into_iter().map(|a| a.addr).collect());
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
