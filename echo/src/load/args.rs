//! The command line of `echo_load` (see its docs), parsed and checked.

use std::net::SocketAddr;

use sockpoll::ToSockAddrs;

pub const USAGE: &str = "usage: echo_load [--connections C] [--size M] [--seconds T] [--pipeline | --rate R | --churn R] [--udp] [--max-loss P] [--json] ADDR";

/// How the TCP load is offered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// Closed loop, one message in flight per connection (the default).
    PingPong,
    /// Closed loop, a window of messages in flight (`--pipeline`).
    Pipeline,
    /// Open loop at R messages per second in all (`--rate R`).
    Rate(f64),
    /// R new connections per second, one echo each (`--churn R`).
    Churn(f64),
}

impl Shape {
    /// The name in the report (`mode`).
    pub fn name(self) -> &'static str {
        match self {
            Shape::PingPong => "pingpong",
            Shape::Pipeline => "pipeline",
            Shape::Rate(_) => "rate",
            Shape::Churn(_) => "churn",
        }
    }
}

/// What to run.
pub struct Args {
    pub conns: usize,
    pub size: usize,
    pub seconds: f64,
    pub shape: Shape,
    pub udp: bool,
    /// With `--udp`: the percentage of datagrams that may be lost in a
    /// clean run.
    pub max_loss: f64,
    pub json: bool,
    pub addr: SocketAddr,
}

/// Parses the command line. `Err` with an empty message means `--help`.
pub fn parse() -> Result<Args, String> {
    let mut a = Args {
        conns: 1,
        size: 64,
        seconds: 5.0,
        shape: Shape::PingPong,
        udp: false,
        max_loss: 1.0,
        json: false,
        addr: SocketAddr::from(([127, 0, 0, 1], 7007)),
    };
    let mut addr = None;
    let mut max_loss = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "--connections" | "-c" => {
                let v = value("--connections")?;
                a.conns = v
                    .parse()
                    .ok()
                    .filter(|c| (1..=100_000).contains(c))
                    .ok_or(format!("bad --connections {v:?} (1..=100000)"))?;
            }
            "--size" | "-s" => {
                let v = value("--size")?;
                a.size = v
                    .parse()
                    .ok()
                    .filter(|m| (1..=16 << 20).contains(m))
                    .ok_or(format!("bad --size {v:?} (1..=16777216 bytes)"))?;
            }
            "--seconds" | "-t" => {
                let v = value("--seconds")?;
                a.seconds = v
                    .parse()
                    .ok()
                    .filter(|&t: &f64| t > 0.0 && t <= 86_400.0)
                    .ok_or(format!("bad --seconds {v:?} (0 < T <= 86400)"))?;
            }
            "--pipeline" | "--rate" | "--churn" if a.shape != Shape::PingPong => {
                return Err(format!("{arg} and --{} exclude each other", a.shape.name()));
            }
            "--pipeline" => a.shape = Shape::Pipeline,
            "--rate" | "--churn" => {
                let v = value(&arg)?;
                let r = v
                    .parse()
                    .ok()
                    .filter(|&r: &f64| r > 0.0 && r <= 10_000_000.0)
                    .ok_or(format!("bad {arg} {v:?} (0 < R <= 10000000 per second)"))?;
                a.shape = if arg == "--rate" {
                    Shape::Rate(r)
                } else {
                    Shape::Churn(r)
                };
            }
            "--udp" => a.udp = true,
            "--max-loss" => {
                let v = value("--max-loss")?;
                a.max_loss = v
                    .parse()
                    .ok()
                    .filter(|p: &f64| (0.0..=100.0).contains(p))
                    .ok_or(format!("bad --max-loss {v:?} (0..=100 percent)"))?;
                max_loss = true;
            }
            "--json" => a.json = true,
            s if s.starts_with('-') => return Err(format!("unknown option {s:?}")),
            _ if addr.is_some() => return Err(format!("unexpected argument {arg:?}")),
            _ => addr = Some(arg),
        }
    }
    let addr = addr.ok_or("missing ADDR")?;
    a.addr = addr
        .as_str()
        .to_sock_addrs()
        .ok()
        .and_then(|v| v.iter().find_map(|s| s.as_socket()))
        .ok_or(format!("bad address {addr:?}"))?;
    if a.udp && !(super::HEADER..=65_507).contains(&a.size) {
        return Err(format!(
            "--udp needs {} <= --size <= 65507, got {}",
            super::HEADER,
            a.size
        ));
    }
    if matches!(a.shape, Shape::Churn(_)) && a.size > 64 * 1024 {
        return Err(format!("--churn needs --size <= 65536, got {}", a.size));
    }
    if a.udp && matches!(a.shape, Shape::Rate(_) | Shape::Churn(_)) {
        return Err(format!("--{} is TCP only", a.shape.name()));
    }
    if max_loss && !a.udp {
        return Err("--max-loss needs --udp (TCP loses nothing)".to_string());
    }
    Ok(a)
}

impl Args {
    /// Messages in flight per connection: one for ping-pong, with
    /// `--pipeline` up to 64 KiB or 64 messages.
    pub fn window(&self) -> u64 {
        if self.shape == Shape::Pipeline {
            ((64 * 1024) / self.size).clamp(1, 64) as u64
        } else {
            1
        }
    }
}
