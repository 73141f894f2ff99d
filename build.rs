//! Names for the sets of targets the `cfg`s in `src/` choose between, so
//! each list is written once (the table in `src/sys/mod.rs` says what each
//! set changes). cfg_aliases is already built for nix.
use cfg_aliases::cfg_aliases;

fn main() {
    cfg_aliases! {
        // epoll, eventfd, abstract Unix names, kcmp.
        linux_like: { any(target_os = "linux", target_os = "android") },
        // ppoll(2).
        has_ppoll: { any(linux_like, target_os = "freebsd", target_os = "dragonfly",
                         target_os = "netbsd", target_os = "openbsd") },
        // pipe2(2) for the non-Linux waker (Linux wakes through an eventfd).
        bsd_pipe2: { any(target_os = "freebsd", target_os = "dragonfly", target_os = "netbsd",
                         target_os = "openbsd", target_os = "illumos", target_os = "solaris") },
        // SOCK_CLOEXEC/SOCK_NONBLOCK, accept4 and MSG_NOSIGNAL.
        atomic_cloexec: { any(linux_like, bsd_pipe2) },
        // TCP_KEEPIDLE (TCP_KEEPALIVE on Apple), TCP_KEEPINTVL, TCP_KEEPCNT
        // through socket2.
        tcp_keepalive_params: { any(linux_like, target_vendor = "apple", target_os = "freebsd",
                                    target_os = "dragonfly", target_os = "netbsd",
                                    target_os = "illumos") },
        // IPV6_TCLASS through socket2.
        ipv6_tclass: { any(linux_like, target_os = "macos", target_os = "freebsd",
                           target_os = "dragonfly", target_os = "netbsd", target_os = "openbsd",
                           target_os = "illumos") },
        // Linux architectures whose socket option numbers are
        // asm-generic's (alpha, mips, parisc and sparc have their own), for
        // the options newer than libc's constants.
        asm_generic_sockopts: { all(linux_like, any(target_arch = "x86", target_arch = "x86_64",
                                    target_arch = "arm", target_arch = "aarch64",
                                    target_arch = "riscv64", target_arch = "loongarch64",
                                    target_arch = "powerpc", target_arch = "powerpc64",
                                    target_arch = "s390x")) },
        // illumos and Solaris.
        solarish: { any(target_os = "illumos", target_os = "solaris") },
        // getsockopt(SO_DOMAIN); elsewhere the family of getsockname's address.
        has_so_domain: { any(linux_like, target_os = "freebsd", target_os = "openbsd", solarish) },
        // getaddrinfo's AI_V4MAPPED and AI_ALL (NetBSD and OpenBSD never map).
        ai_v4mapped: { not(any(target_os = "netbsd", target_os = "openbsd")) },
        // BackendKind::Uring: the `uring` feature, on Linux.
        uring_kind: { all(feature = "uring", target_os = "linux") },
        // The architectures the io-uring crate ships prebuilt layouts for
        // (the same list as its dependency line in Cargo.toml).
        uring_arch: { any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "riscv64",
                          target_arch = "loongarch64", target_arch = "powerpc64") },
        // The io_uring backend itself (UringSelector).
        uring: { all(uring_kind, uring_arch) },
    }
}
