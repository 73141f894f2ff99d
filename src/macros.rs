//! Macros every layer may use (declared first in `lib.rs`, so they are in
//! scope in every module below it).

/// A Markdown link to a man7.org page, e.g. `man!("bind", 2)`.
macro_rules! man {
    ($name:literal, $section:literal) => {
        concat!(
            "[`",
            $name,
            "(",
            $section,
            ")`](https://man7.org/linux/man-pages/man",
            $section,
            "/",
            $name,
            ".",
            $section,
            ".html)"
        )
    };
}

/// Items that exist only where `cfg(...)` holds, each with its docs.rs badge
/// `doc(cfg(...))` naming the real targets (a `build.rs` alias means
/// nothing to a reader). The wrappers below name each long target list
/// once.
macro_rules! cfg_doc {
    (cfg $cfg:tt, doc $doc:tt, $($item:item)*) => {
        $(
            #[cfg $cfg]
            #[cfg_attr(docsrs, doc(cfg $doc))]
            $item
        )*
    };
}

/// Items for the targets socket2 has keep-alive timing on (`TCP_KEEPIDLE`,
/// `TCP_KEEPINTVL`, `TCP_KEEPCNT`).
macro_rules! keepalive_params_items {
    ($($item:item)*) => {
        cfg_doc! {
            cfg(tcp_keepalive_params),
            doc(any(target_os = "linux", target_os = "android", target_vendor = "apple",
                    target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd",
                    target_os = "illumos")),
            $($item)*
        }
    };
}

/// Items for the targets socket2 has `IPV6_TCLASS` on.
macro_rules! ipv6_tclass_items {
    ($($item:item)*) => {
        cfg_doc! {
            cfg(ipv6_tclass),
            doc(any(target_os = "linux", target_os = "android", target_os = "macos",
                    target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd",
                    target_os = "openbsd", target_os = "illumos")),
            $($item)*
        }
    };
}

/// Items for the Linux architectures with asm-generic socket option numbers.
macro_rules! asm_generic_items {
    ($($item:item)*) => {
        cfg_doc! {
            cfg(asm_generic_sockopts),
            doc(all(any(target_os = "linux", target_os = "android"),
                    any(target_arch = "x86", target_arch = "x86_64", target_arch = "arm",
                        target_arch = "aarch64", target_arch = "riscv64",
                        target_arch = "loongarch64", target_arch = "powerpc",
                        target_arch = "powerpc64", target_arch = "s390x"))),
            $($item)*
        }
    };
}

/// Items of the io_uring backend: the `uring` feature, on the Linux
/// architectures the io-uring crate has layouts for.
macro_rules! uring_items {
    ($($item:item)*) => {
        cfg_doc! {
            cfg(uring),
            doc(all(feature = "uring", target_os = "linux",
                    any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64",
                        target_arch = "loongarch64", target_arch = "powerpc64"))),
            $($item)*
        }
    };
}
