#!/usr/bin/env python3
"""Process-level UDP comparison against C floors in the same run
(BENCHMARKS.md, "UDP against C in the same run").

Servers, each pinned `taskset -c 1`, all started once and driven in turn:
  c-single   benches/process/c/udp_echo.c single: epoll, recvfrom/sendto per datagram
  c-mmsg32   benches/process/c/udp_echo.c mmsg32: epoll, recvmmsg/sendmmsg of 32
  sockpoll   examples/echo_epoll (its UDP side: recv_mmsg/send_mmsg of 32)
Load: examples/echo_load --udp --connections C pinned `taskset -c 0`, every
size x server once per round, rounds interleaved (the server order rotates
each round). Per run: datagrams/s, server CPU ns per datagram echoed (ns on
CPU from /proc/PID/task/*/schedstat before and after, like
process_compare.py), and the ratios to c-mmsg32 and c-single of the same
round; the tables give the median over rounds (and the range). --strace adds
one run per server and size under `strace -c -f -p PID` for syscalls per
datagram. Then benches/process/c/gso_send.c once a round in each mode (x54, gso,
gso-gro; the order alternates): sender-thread CPU per 1,200-byte datagram
and the ratios x54 / gso and x54 / gso-gro of the same round.

usage: python3 benches/process/udp_compare.py [--target-dir DIR] [--rounds R] [--seconds T]
         [--sizes 64,1200] [--connections C] [--window pipeline|pingpong]
         [--gso-seconds S] [--strace] [--json FILE]
  DIR: --target-dir, else $CARGO_TARGET_DIR, else target (build first:
  cargo build --release --examples). The C files are compiled with
  `cc -O2` into DIR/c/; without a C compiler only sockpoll runs.
"""
import functools
import json
import os
import re
import signal
import subprocess
import sys
import time

from compare_common import cell, compile_c, cpu_ns, med, opt, rotated, round_ratios, start, stop

PROG = "udp_compare"
opt = functools.partial(opt, PROG)


target = opt("--target-dir", os.environ.get("CARGO_TARGET_DIR", "target"))
rounds = opt("--rounds", 3, int)
secs = opt("--seconds", 5.0, float)
sizes = opt("--sizes", [64, 1200], lambda v: [int(s) for s in v.split(",")])
conns = opt("--connections", 50, int)
window = opt("--window", "pipeline")
gso_secs = opt("--gso-seconds", 3, int)
json_out = opt("--json", None)
do_strace = "--strace" in sys.argv[1:]
if window not in ("pipeline", "pingpong"):
    sys.exit("udp_compare: --window is pipeline or pingpong")

examples = os.path.join(target, "release", "examples")
cdir = os.path.join(target, "c")
logdir = os.path.join(cdir, "logs")


def skmem(port):
    """rb/tb (the socket's receive and send buffer sizes) from `ss -m`."""
    out = subprocess.run(["ss", "-u", "-a", "-m", "-n", f"sport = :{port}"], capture_output=True, text=True)
    m = re.search(r"rb(\d+),t\d+,tb(\d+)", out.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def start_udp(name, cmd):
    s = start(PROG, logdir, name, cmd)
    s["rcvbuf"], s["sndbuf"] = skmem(s["addr"].rsplit(":", 1)[1])
    print(json.dumps(dict(server=name, pid=s["proc"].pid, addr=s["addr"], cmd=s["cmd"],
                          rcvbuf=s["rcvbuf"], sndbuf=s["sndbuf"])), flush=True)
    return s


def load(addr, size, t):
    cmd = ["taskset", "-c", "0", os.path.join(examples, "echo_load"), "--udp", "--connections", str(conns),
           "--size", str(size), "--seconds", str(t), "--max-loss", "100", "--json", addr]
    if window == "pipeline":
        cmd.insert(4, "--pipeline")
    out = subprocess.run(cmd, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        sys.exit(f"udp_compare: `{' '.join(cmd)}` exited {out.returncode}: {out.stderr.strip()}")
    return json.loads(lines[-1])


def run_one(s, size, t):
    n0 = cpu_ns(s["proc"].pid)
    r = load(s["addr"], size, t)
    n1 = cpu_ns(s["proc"].pid)
    # Echoes the load saw: in time, or late (still served by the server).
    echoed = max(r["messages"] + r["late"], 1)
    return dict(server=s["name"], size=size, dgrams_s=r["msgs_per_s"], cpu_ns=(n1 - n0) / echoed,
                lost_pct=r["loss_pct"], p50_us=r["p50_us"], p99_us=r["p99_us"], echoed=echoed)


def strace_one(s, size, t):
    path = f"/tmp/udp_compare_strace_{s['name']}_{size}.txt"
    st = subprocess.Popen(["strace", "-c", "-f", "-q", "-p", str(s["proc"].pid), "-o", path])
    time.sleep(0.5)
    r = load(s["addr"], size, t)
    st.send_signal(signal.SIGINT)
    st.wait()
    calls = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            # % time, seconds, usecs/call, calls, [errors,] syscall
            if len(parts) >= 5 and parts[3].isdigit() and parts[-1] != "total":
                calls[parts[-1]] = int(parts[3])
    echoed = max(r["messages"] + r["late"], 1)
    top = sorted(calls.items(), key=lambda kv: -kv[1])[:5]
    return dict(server=s["name"], size=size, strace_echoed=echoed,
                syscalls_per_dgram=sum(calls.values()) / echoed,
                by_call={k: round(v / echoed, 3) for k, v in top})


def gso(mode):
    cmd = [os.path.join(cdir, "gso_send"), mode, str(gso_secs), "0", "1"]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"udp_compare: `{' '.join(cmd)}` exited {out.returncode}: {out.stderr.strip()}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    if r["drained"] < r["datagrams"]:
        print(f"udp_compare: WARNING: gso_send {mode} lost {r['datagrams'] - r['drained']} datagrams "
              f"at the receiver: its sender CPU includes cheaper drops", flush=True)
    return r


GSO_MODES = ("x54", "gso", "gso-gro")


os.makedirs(logdir, exist_ok=True)
have_c = compile_c(PROG, cdir, [("udp_echo", []), ("gso_send", ["-pthread"])])
echo_epoll = os.path.join(examples, "echo_epoll")
if not (os.path.exists(echo_epoll) and os.path.exists(os.path.join(examples, "echo_load"))):
    sys.exit(f"udp_compare: no {echo_epoll} or echo_load: cargo build --release --examples "
             f"(or point --target-dir at the build)")

wanted = []
if have_c:
    wanted += [("c-single", [os.path.join(cdir, "udp_echo"), "single"]),
               ("c-mmsg32", [os.path.join(cdir, "udp_echo"), "mmsg32"])]
wanted.append(("sockpoll", [echo_epoll, "127.0.0.1:0"]))
servers = [start_udp(name, cmd) for name, cmd in wanted]
if len({(s["rcvbuf"], s["sndbuf"]) for s in servers}) != 1:
    print("udp_compare: WARNING: the servers' socket buffers differ (rcvbuf/sndbuf above)", flush=True)

runs, straces, gsos = [], [], []
try:
    for rnd in range(rounds):
        for size in sizes:
            for s in rotated(servers, rnd):
                row = dict(round=rnd, **run_one(s, size, secs))
                runs.append(row)
                print(json.dumps(row), flush=True)
        if have_c:
            for mode in GSO_MODES if rnd % 2 == 0 else GSO_MODES[::-1]:
                row = dict(round=rnd, **gso(mode))
                gsos.append(row)
                print(json.dumps(row), flush=True)
    if do_strace:
        for size in sizes:
            for s in servers:
                row = strace_one(s, size, secs)
                straces.append(row)
                print(json.dumps(row), flush=True)
finally:
    stop(PROG, servers)


def ratio_cells(size, name, base):
    """Per-round CPU ratios name / base at size."""
    return round_ratios(runs, rounds, dict(size=size), name, base)


print(f"\n{conns} senders, {window} ({'64 KiB or 64 datagrams' if window == 'pipeline' else '1 datagram'} "
      f"in flight per sender), {secs:g} s a run, {rounds} rounds; medians over rounds (range)")
print("\n| server | size | datagrams/s | server CPU ns/datagram | ÷ c-mmsg32 | ÷ c-single | lost % | rcvbuf/sndbuf |")
print("|---|---|---|---|---|---|---|---|")
for size in sizes:
    for s in servers:
        mine = [r for r in runs if r["server"] == s["name"] and r["size"] == size]
        print(f"| {s['name']} | {size} | {cell([r['dgrams_s'] for r in mine], '{:,.0f}')} | "
              f"{cell([r['cpu_ns'] for r in mine], '{:,.0f}')} | {cell(ratio_cells(size, s['name'], 'c-mmsg32'))} | "
              f"{cell(ratio_cells(size, s['name'], 'c-single'))} | {cell([r['lost_pct'] for r in mine], '{:.2f}')} | "
              f"{s['rcvbuf']}/{s['sndbuf']} |")
if straces:
    print("\n| server | size | syscalls/datagram | by call (per datagram) |")
    print("|---|---|---|---|")
    for r in straces:
        calls = ", ".join(f"{k} {v}" for k, v in r["by_call"].items())
        print(f"| {r['server']} | {r['size']} | {r['syscalls_per_dgram']:.3f} | {calls} |")
if gsos:
    def per_round(mode):
        return {r["round"]: r["sender_cpu_ns_per_datagram"] for r in gsos if r["mode"] == mode}

    x54 = per_round("x54")
    print("\n| gso_send (C, 1,200 B) | sender CPU ns/datagram | x54 ÷ this | datagrams/s | sleeps |")
    print("|---|---|---|---|---|")
    for mode in GSO_MODES:
        mine = [r for r in gsos if r["mode"] == mode]
        ratios = [x54[k] / v for k, v in per_round(mode).items() if k in x54]
        print(f"| {mode} | {cell([r['sender_cpu_ns_per_datagram'] for r in mine], '{:,.0f}')} | {cell(ratios)} | "
              f"{cell([r['datagrams_per_s'] for r in mine], '{:,.0f}')} | "
              f"{cell([r['sleeps'] for r in mine], '{:.0f}')} |")
if json_out:
    with open(json_out, "w") as f:
        json.dump(dict(runs=runs, strace=straces, gso=gsos,
                       servers=[{k: v for k, v in s.items() if k not in ("proc", "err")} for s in servers]),
                  f, indent=1)
