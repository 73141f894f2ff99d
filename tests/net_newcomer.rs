//! What a newcomer does first, using only the public API (no test helpers):
//! create, bind, listen, accept and connect TCP over IPv4 and IPv6, round
//! trip TCP and UDP data, resolve localhost, and read a typed error for a
//! busy port that names the address.

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;

use sockpoll::{resolve, Domain, Hints, SockAddr, Socket, TcpListener, TcpStream, Type, UdpSocket};

#[test]
fn newcomer_end_to_end() -> Result<(), Box<dyn std::error::Error>> {
    for (host, domain) in [("127.0.0.1", Domain::IPV4), ("::1", Domain::IPV6)] {
        // The untyped layer: socket, bind, listen, connect, accept.
        let listener = Socket::new(domain, Type::STREAM, None)?;
        let any: std::net::SocketAddr = (host.parse::<std::net::IpAddr>()?, 0).into();
        listener.bind(&SockAddr::from(any))?;
        listener.listen(8)?;
        let client = Socket::new(domain, Type::STREAM, None)?;
        client.connect(&listener.local_addr()?)?;
        let (server, peer) = listener.accept()?;
        assert_eq!(peer, client.local_addr()?);
        client.send(b"raw hello")?;
        client.shutdown(Shutdown::Write)?;
        let mut got = Vec::new();
        (&server).read_to_end(&mut got)?;
        assert_eq!(got, b"raw hello");

        // The typed layer.
        let listener = TcpListener::bind((host, 0))?;
        let mut client = TcpStream::connect(listener.local_addr()?)?;
        let (mut server, _) = listener.accept()?;
        client.write_all(b"typed hello")?;
        let mut buf = [0u8; 11];
        server.read_exact(&mut buf)?;
        assert_eq!(&buf, b"typed hello");
        server.write_all(b"echo")?;
        let mut echo = [0u8; 4];
        client.read_exact(&mut echo)?;
        assert_eq!(&echo, b"echo");

        // UDP.
        let a = UdpSocket::bind((host, 0))?;
        let b = UdpSocket::bind((host, 0))?;
        a.send_to(b"datagram", b.local_addr()?)?;
        let mut dbuf = [0u8; 32];
        let (n, from) = b.recv_from(&mut dbuf)?;
        assert_eq!((&dbuf[..n], from), (&b"datagram"[..], a.local_addr()?));

        // A busy port: a typed error that names the address.
        let taken = listener.local_addr()?;
        let err = TcpListener::bind(taken).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AddrInUse);
        let text = err.to_string();
        assert!(text.contains(&taken.to_string()), "{text}");
        assert!(
            text.contains("Address already in use") || text.contains("Address in use"),
            "{text}"
        );
    }

    // Resolve localhost.
    let answers = resolve(Some("localhost"), Some("7007"), &Hints::new())?;
    assert!(answers.iter().any(|a| a
        .addr
        .as_socket()
        .is_some_and(|s| s.ip().is_loopback() && s.port() == 7007)));
    let listener = TcpListener::bind("localhost:0")?;
    assert!(listener.local_addr()?.ip().is_loopback());
    Ok(())
}
