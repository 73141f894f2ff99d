//! Name resolution: `resolve` over getaddrinfo with its
//! hints, `getnameinfo`, `hostname` and the `ToSockAddrs` forms the typed
//! wrappers accept. No network here: only `localhost` and numeric hosts are
//! expected to resolve.

mod util;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use sockpoll::{
    getnameinfo, hostname, resolve, Domain, Error, Hints, NameInfoFlags, Protocol, SockAddr,
    TcpListener, ToSockAddrs, Type,
};

fn loopback_ips(answers: &[sockpoll::AddrInfo]) -> Vec<IpAddr> {
    answers
        .iter()
        .filter_map(|a| a.addr.as_socket())
        .map(|s| s.ip())
        .collect()
}

/// The `EAI_*` name of a resolution error, or a panic naming what it was.
fn eai_name(err: &Error) -> &'static str {
    match err {
        Error::Resolve(r) => r.code.name().expect("a known EAI code"),
        other => panic!("expected a Resolve error, got {other:?}"),
    }
}

#[test]
fn localhost_resolves_with_default_hints_to_loopback() {
    let answers = resolve(Some("localhost"), None, &Hints::new()).unwrap();
    assert!(!answers.is_empty());
    for a in &answers {
        let ip = a.addr.as_socket().expect("an IP address").ip();
        assert!(ip.is_loopback(), "{ip}");
        assert_eq!(a.domain, a.addr.family());
        assert_eq!(a.canonical_name, None, "not asked for");
    }
    // Default hints: one entry per socket type.
    assert!(answers.iter().any(|a| a.ty == Type::STREAM));
    assert!(answers.iter().any(|a| a.ty == Type::DGRAM));
}

#[test]
fn socket_type_hint_filters_and_sets_the_protocol() {
    let hints = Hints::new().socket_type(Type::STREAM);
    let answers = resolve(Some("localhost"), Some("7007"), &hints).unwrap();
    assert!(!answers.is_empty());
    for a in &answers {
        assert_eq!(a.ty, Type::STREAM);
        assert_eq!(a.protocol, Protocol::TCP);
        assert_eq!(a.addr.as_socket().unwrap().port(), 7007);
    }
    let hints = Hints::new()
        .socket_type(Type::DGRAM)
        .protocol(Protocol::UDP);
    let answers = resolve(Some("127.0.0.1"), Some("53"), &hints).unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].protocol, Protocol::UDP);
}

#[test]
fn family_hints_restrict_the_answers() {
    let v4 = Hints::new().family(Domain::IPV4).socket_type(Type::STREAM);
    let answers = resolve(Some("localhost"), Some("1"), &v4).unwrap();
    assert!(!answers.is_empty());
    assert!(answers.iter().all(|a| a.domain == Domain::IPV4));
    assert!(loopback_ips(&answers).contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)));

    // Only numeric v6 here: /etc/hosts need not map localhost to ::1.
    let v6 = Hints::new().family(Domain::IPV6).socket_type(Type::STREAM);
    let answers = resolve(Some("::1"), Some("1"), &v6).unwrap();
    assert_eq!(
        loopback_ips(&answers),
        vec![IpAddr::V6(Ipv6Addr::LOCALHOST)]
    );
    assert_eq!(answers[0].domain, Domain::IPV6);

    // An IPv6 literal asked for as IPv4 is an error, not an empty list.
    let err = resolve(Some("::1"), None, &v4).unwrap_err();
    assert!(matches!(err, Error::Resolve(_)), "{err:?}");
}

#[test]
fn numeric_host_refuses_a_name() {
    let hints = Hints::new().numeric_host(true);
    let err = resolve(Some("localhost"), Some("80"), &hints).unwrap_err();
    assert_eq!(eai_name(&err), "EAI_NONAME");
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert_eq!(err.call(), "getaddrinfo");
    let text = err.to_string();
    assert!(text.starts_with("getaddrinfo localhost:80: "), "{text}");
    assert!(text.ends_with("(EAI_NONAME)"), "{text}");
    // A number is fine.
    let ok = resolve(Some("127.0.0.1"), Some("80"), &hints).unwrap();
    assert!(ok.iter().all(|a| a.addr.to_string() == "127.0.0.1:80"));
}

#[test]
#[cfg(not(any(target_os = "illumos", target_os = "solaris")))]
fn numeric_service_refuses_a_service_name() {
    let hints = Hints::new().socket_type(Type::STREAM).numeric_service(true);
    let err = resolve(Some("127.0.0.1"), Some("http"), &hints).unwrap_err();
    assert!(matches!(err, Error::Resolve(_)), "{err:?}");
    let ok = resolve(Some("127.0.0.1"), Some("8080"), &hints).unwrap();
    assert_eq!(ok[0].addr.as_socket().unwrap().port(), 8080);
}

#[test]
fn canonical_name_is_filled_when_asked() {
    let hints = Hints::new().socket_type(Type::STREAM).canonical_name(true);
    let answers = resolve(Some("localhost"), None, &hints).unwrap();
    assert_eq!(answers[0].canonical_name.as_deref(), Some("localhost"));
}

#[test]
fn passive_with_no_host_gives_the_wildcard() {
    let hints = Hints::new()
        .passive(true)
        .family(Domain::IPV4)
        .socket_type(Type::STREAM);
    let answers = resolve(None, Some("7007"), &hints).unwrap();
    assert_eq!(answers[0].addr.to_string(), "0.0.0.0:7007");
    // Without passive it is loopback.
    let hints = hints.passive(false);
    let answers = resolve(None, Some("7007"), &hints).unwrap();
    assert_eq!(answers[0].addr.to_string(), "127.0.0.1:7007");
}

#[test]
fn neither_host_nor_service_is_a_resolve_error() {
    let err = resolve(None, None, &Hints::new()).unwrap_err();
    assert_eq!(eai_name(&err), "EAI_NONAME");
}

#[test]
fn nul_in_host_or_service_is_invalid_input_without_a_panic() {
    let err = resolve(Some("local\0host"), Some("80"), &Hints::new()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("NUL"), "{err}");
    let err = resolve(Some("localhost"), Some("8\u{0}0"), &Hints::new()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    // Through the typed wrappers too.
    let err = TcpListener::bind("local\0host:0").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = TcpListener::bind(("local\0host", 0)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn unknown_host_in_the_invalid_tld_is_a_resolve_error() {
    // RFC 6761: .invalid never resolves. Offline, getaddrinfo may say
    // EAI_NONAME or EAI_AGAIN; either way it is a typed Resolve error.
    let err = resolve(Some("nonexistent.invalid"), Some("80"), &Hints::new()).unwrap_err();
    let Error::Resolve(r) = &err else {
        panic!("expected Resolve, got {err:?}")
    };
    assert_eq!(r.call, "getaddrinfo");
    assert_eq!(r.query, "nonexistent.invalid:80");
    assert!(!r.message.is_empty());
    assert!(err.to_string().contains("nonexistent.invalid:80"), "{err}");
    let err = TcpListener::bind("nonexistent.invalid:0").unwrap_err();
    assert!(matches!(err, Error::Resolve(_)), "{err:?}");
}

#[test]
fn a_port_over_65535_or_a_missing_port_is_invalid_input() {
    let err = TcpListener::bind("localhost:99999").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(err.to_string().contains("localhost:99999"), "{err}");
    assert!(err.to_string().contains("65535"), "{err}");

    let err = TcpListener::bind("localhost").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(err.to_string().contains("host:port"), "{err}");

    let err = "localhost:-1".to_sock_addrs().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = "[::1]".to_sock_addrs().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn to_sock_addrs_forms() {
    let want = SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 80)));
    assert_eq!("127.0.0.1:80".to_sock_addrs().unwrap(), vec![want.clone()]);
    assert_eq!(
        String::from("127.0.0.1:80").to_sock_addrs().unwrap(),
        vec![want.clone()]
    );
    assert_eq!(
        (IpAddr::V4(Ipv4Addr::LOCALHOST), 80)
            .to_sock_addrs()
            .unwrap(),
        vec![want.clone()]
    );
    assert_eq!(
        ("127.0.0.1", 80).to_sock_addrs().unwrap(),
        vec![want.clone()]
    );
    assert_eq!(want.to_sock_addrs().unwrap(), vec![want.clone()]);
    let v6 = "[::1]:80".to_sock_addrs().unwrap();
    assert_eq!(v6[0].to_string(), "[::1]:80");
    let both: [SocketAddr; 2] = ["127.0.0.1:1".parse().unwrap(), "[::1]:2".parse().unwrap()];
    assert_eq!(both[..].to_sock_addrs().unwrap().len(), 2);

    // A name: each address once (no duplicates per socket type), all loopback.
    let named = ("localhost", 7007).to_sock_addrs().unwrap();
    assert!(!named.is_empty());
    for (i, a) in named.iter().enumerate() {
        let s = a.as_socket().unwrap();
        assert!(s.ip().is_loopback() && s.port() == 7007, "{s}");
        assert!(!named[i + 1..].contains(a), "duplicate {a}");
    }
    assert_eq!("localhost:7007".to_sock_addrs().unwrap(), named);
    assert_eq!(
        (String::from("localhost"), 7007).to_sock_addrs().unwrap(),
        named
    );
}

#[test]
fn getnameinfo_numeric_gives_digits() {
    let addr = SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 8080)));
    let flags = NameInfoFlags::NUMERIC_HOST | NameInfoFlags::NUMERIC_SERVICE;
    assert_eq!(
        getnameinfo(&addr, flags).unwrap(),
        ("127.0.0.1".to_string(), "8080".to_string())
    );
    let v6 = SockAddr::from("[::1]:443".parse::<SocketAddr>().unwrap());
    assert_eq!(
        getnameinfo(&v6, flags).unwrap(),
        ("::1".to_string(), "443".to_string())
    );
}

#[test]
fn getnameinfo_of_a_unix_address_does_not_panic() {
    // glibc answers AF_UNIX with ("localhost", path); musl and others say
    // EAI_FAMILY. Either is fine; nothing else is.
    let addr = SockAddr::unix("/tmp/x").unwrap();
    match getnameinfo(&addr, NameInfoFlags::NUMERIC_HOST) {
        Ok((host, service)) => {
            assert_eq!(host, "localhost");
            assert_eq!(service, "/tmp/x");
        }
        Err(Error::Resolve(r)) => {
            assert_eq!(r.call, "getnameinfo");
            assert_eq!(r.code.name(), Some("EAI_FAMILY"));
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
}

#[test]
fn hostname_is_not_empty() {
    let name = hostname().unwrap();
    assert!(!name.is_empty());
    assert!(!name.contains('\0'));
}

#[test]
fn bind_localhost_listens_on_loopback() {
    let l = TcpListener::bind("localhost:0").unwrap();
    let addr = l.local_addr().unwrap();
    assert!(addr.ip().is_loopback(), "{addr}");
    assert_ne!(addr.port(), 0);
}

// `(Ipv4Addr, u16)` and `(Ipv6Addr, u16)` are `ToSockAddrs`, as std's are:
// `bind((Ipv4Addr::LOCALHOST, 0))` compiles, not only `(IpAddr, u16)`.
#[test]
fn ip_and_port_tuples_name_addresses() {
    let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    assert_eq!(v4.local_addr().unwrap().ip(), Ipv4Addr::LOCALHOST);
    let v6 = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
    assert_eq!(v6.local_addr().unwrap().ip(), Ipv6Addr::LOCALHOST);
    let any = (IpAddr::from(Ipv4Addr::LOCALHOST), 7)
        .to_sock_addrs()
        .unwrap();
    assert_eq!(any, (Ipv4Addr::LOCALHOST, 7).to_sock_addrs().unwrap());
}

// `Hints` has `AI_V4MAPPED` and `AI_ALL` (not NetBSD's and OpenBSD's
// getaddrinfo, which never map).
#[test]
#[cfg(not(any(target_os = "netbsd", target_os = "openbsd")))]
fn v4_mapped_hints_answer_mapped_ipv6_addresses() {
    let hints = Hints::new()
        .family(Domain::IPV6)
        .socket_type(Type::STREAM)
        .numeric_host(true)
        .v4_mapped(true)
        .all(true);
    let answers = resolve(Some("127.0.0.1"), Some("80"), &hints).unwrap();
    let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
    assert_eq!(loopback_ips(&answers), vec![mapped]);
    // Without the flag an IPv4 literal has no IPv6 answer.
    let plain = Hints::new()
        .family(Domain::IPV6)
        .socket_type(Type::STREAM)
        .numeric_host(true);
    assert!(resolve(Some("127.0.0.1"), Some("80"), &plain).is_err());
}

// An empty address list names the call it was for, not a getaddrinfo
// failure (no name was resolved).
#[test]
fn an_empty_address_list_names_the_call_it_was_for() {
    let none: &[SocketAddr] = &[];
    let err = TcpListener::bind(none).unwrap_err();
    assert_eq!(
        (err.call(), err.kind()),
        ("bind", io::ErrorKind::InvalidInput)
    );
    let err = sockpoll::TcpStream::connect(none).unwrap_err();
    assert_eq!(err.call(), "connect", "{err}");
    let err = sockpoll::UdpSocket::bind(none).unwrap_err();
    assert_eq!(err.call(), "bind", "{err}");
}
