#!/usr/bin/env python3
"""Process-level TCP echo comparison of the epoll and uring examples against
C floors in the same run (BENCHMARKS.md, "uring against epoll and C").

Servers, each pinned `taskset -c 1`, all started once and driven in turn:
  c-epoll          benches/process/c/tcp_echo.c epoll: level-triggered epoll_wait
  c-uring          benches/process/c/tcp_echo.c uring: multishot POLL_ADD on a
                   SINGLE_ISSUER | DEFER_TASKRUN ring
  c-uring-oneshot  the same ring, a single-shot POLL_ADD re-armed after each
                   completion (the cost of re-arming: UringSelector's
                   Mode::Level is multishot plus a poll(2) level probe)
  epoll, uring     examples/echo_epoll and examples/echo_uring (--mode level,
                   the default, or edge: uring's edge mode is multishot)
  (--servers picks a subset, by these names; --extra NAME=PATH,... adds
  other builds of an echo example, e.g. the previous commit's echo_uring,
  run with the same --mode, so that two versions compare in one run)
Load: examples/echo_load --connections C --size M pinned `taskset -c 0`
(ping-pong, one message in flight per connection), every C x server once a
round, the server order rotated each round. Per run: messages/s and server
CPU ns per message (ns on CPU from /proc/PID/task/*/schedstat before and
after). The table gives medians over rounds (and the range) of CPU per
message and of the ratios to c-epoll and to epoll *of the same round*:
paired ratios, because this machine's CPU per message drifts by ±20%
between runs a minute apart while servers measured back to back drift
together. Then, with the servers stopped, two C checks: `tcp_echo
probe-level` (does this kernel take IORING_POLL_ADD_LEVEL on a POLL_ADD?)
and benches/process/c/identity_cost.c on CPU 1 (ns per call of the system calls a
backend could check a file's identity with; the median of 3 runs).

usage: python3 benches/process/tcp_compare.py [--target-dir DIR] [--rounds R] [--seconds T]
         [--connections 50,500] [--size 64] [--mode level|edge] [--servers a,b,...]
         [--extra NAME=PATH,...] [--json FILE]
  DIR: --target-dir, else $CARGO_TARGET_DIR, else target (build first:
  cargo build --release --examples). The C file is compiled with `cc -O2`
  into DIR/c/; without a C compiler only sockpoll's servers run.
"""
import functools
import json
import os
import subprocess
import sys

from compare_common import cell, compile_c, cpu_ns, opt, rotated, round_ratios, start, stop

PROG = "tcp_compare"
opt = functools.partial(opt, PROG)

target = opt("--target-dir", os.environ.get("CARGO_TARGET_DIR", "target"))
rounds = opt("--rounds", 10, int)
secs = opt("--seconds", 1.5, float)
conns = opt("--connections", [50, 500], lambda v: [int(c) for c in v.split(",")])
size = opt("--size", 64, int)
json_out = opt("--json", None)
mode = opt("--mode", "level")
if mode not in ("level", "edge"):
    sys.exit(f"{PROG}: --mode is level or edge")
examples = os.path.join(target, "release", "examples")
cdir = os.path.join(target, "c")
logdir = os.path.join(cdir, "logs")

C_SERVERS = ("c-epoll", "c-uring", "c-uring-oneshot")
ALL = C_SERVERS + ("epoll", "uring")
picked = opt("--servers", list(ALL), lambda v: v.split(","))
unknown = [n for n in picked if n not in ALL]
if unknown:
    sys.exit(f"{PROG}: unknown server(s) {unknown}: choose from {','.join(ALL)}")
extra = opt("--extra", {}, lambda v: dict(x.split("=", 1) for x in v.split(",")))
clash = [n for n in extra if n in ALL]
if clash:
    sys.exit(f"{PROG}: --extra names {clash} are taken: pick others")

have_c = compile_c(PROG, cdir, [("tcp_echo", []), ("identity_cost", [])])
echo_load = os.path.join(examples, "echo_load")
if not os.path.exists(echo_load):
    sys.exit(f"{PROG}: no {echo_load}: cargo build --release --examples (or point --target-dir at the build)")


def command(name):
    if name in extra:
        return [extra[name], "--mode", mode, "127.0.0.1:0"]
    if name in C_SERVERS:
        return [os.path.join(cdir, "tcp_echo"), name[2:], "127.0.0.1:0"]
    path = os.path.join(examples, f"echo_{name}")
    if not os.path.exists(path):
        sys.exit(f"{PROG}: no {path}: cargo build --release --examples")
    return [path, "--mode", mode, "127.0.0.1:0"]


def run_one(s, c):
    cmd = ["taskset", "-c", "0", echo_load, "--connections", str(c), "--size", str(size),
           "--seconds", str(secs), "--json", s["addr"]]
    n0 = cpu_ns(s["proc"].pid)
    out = subprocess.run(cmd, capture_output=True, text=True)
    n1 = cpu_ns(s["proc"].pid)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        sys.exit(f"{PROG}: `{' '.join(cmd)}` exited {out.returncode}: {out.stderr.strip()}")
    r = json.loads(lines[-1])
    if r.get("errors"):
        sys.exit(f"{PROG}: {s['name']} at C={c}: echo_load counted errors: {r}")
    msgs = max(r["messages"], 1)
    return dict(server=s["name"], c=c, msgs_s=r["msgs_per_s"], cpu_ns=(n1 - n0) / msgs, messages=msgs)


servers = []
runs = []
try:
    for name in picked + list(extra):
        if name in C_SERVERS and not have_c:
            continue
        servers.append(start(PROG, logdir, name, command(name)))
        print(json.dumps(dict(server=name, pid=servers[-1]["proc"].pid, addr=servers[-1]["addr"],
                              cmd=servers[-1]["cmd"])), flush=True)
    for rnd in range(rounds):
        for c in conns:
            for s in rotated(servers, rnd):
                row = dict(round=rnd, **run_one(s, c))
                runs.append(row)
                print(json.dumps(row), flush=True)
finally:
    stop(PROG, servers)

names = [s["name"] for s in servers]
print(f"\n{size} B ping-pong, sockpoll servers in {mode} mode, {secs:g} s a run, {rounds} rounds; medians over rounds (range) of server CPU "
      f"per message and of the ratios to c-epoll and to epoll in the same round")
print("\n| C | server | messages/s | server CPU ns/msg | ÷ c-epoll | ÷ epoll |")
print("|---|---|---|---|---|---|")
for c in conns:
    for n in names:
        mine = [r for r in runs if r["server"] == n and r["c"] == c]
        vs_c = round_ratios(runs, rounds, dict(c=c), n, "c-epoll") if "c-epoll" in names else []
        vs_e = round_ratios(runs, rounds, dict(c=c), n, "epoll") if "epoll" in names else []
        print(f"| {c} | {n} | {cell([r['msgs_s'] for r in mine], '{:,.0f}')} | "
              f"{cell([r['cpu_ns'] for r in mine], '{:,.0f}')} | {cell(vs_c)} | {cell(vs_e)} |")
probe, costs = None, []
if have_c:
    out = subprocess.run([os.path.join(cdir, "tcp_echo"), "probe-level"], capture_output=True, text=True)
    probe = (out.stdout + out.stderr).strip()
    print(f"\ntcp_echo probe-level (exit {out.returncode}):\n{probe}")
    for _ in range(3):
        out = subprocess.run(["taskset", "-c", "1", os.path.join(cdir, "identity_cost")],
                             capture_output=True, text=True)
        if out.returncode == 0:
            costs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    if costs:
        keys = [k for k in costs[0] if k.endswith("_ns")]
        print("\n| identity check candidate | ns per call |")
        print("|---|---|")
        for k in keys:
            print(f"| {k[:-3]} | {cell([c[k] for c in costs], '{:.0f}')} |")
if json_out:
    with open(json_out, "w") as f:
        json.dump(dict(runs=runs, probe_level=probe, identity_cost=costs, servers=[{k: v for k, v in s.items() if k not in ("proc", "err")}
                                           for s in servers]), f, indent=1)
