"""What udp_compare.py, tcp_compare.py and multi_compare.py (beside it) share: option parsing,
building the C floors, starting a server (pinned or not), reading a process's CPU
time, and the per-round ratios and table cells."""
import os
import re
import shutil
import statistics
import subprocess
import sys


def opt(prog, name, default, conv=str):
    """The value after `name` on the command line, converted; `default` if absent."""
    args = sys.argv[1:]
    if name in args:
        i = args.index(name)
        if i + 1 >= len(args):
            sys.exit(f"{prog}: {name} needs a value")
        try:
            return conv(args[i + 1])
        except ValueError:
            sys.exit(f"{prog}: bad value for {name}: {args[i + 1]!r}")
    return default


def compile_c(prog, cdir, sources):
    """Builds each (name, extra flags) of c/ (beside this file) into cdir with `cc -O2`;
    False (and says why) if there is no compiler or a build fails."""
    here = os.path.dirname(os.path.abspath(__file__))
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        print(f"{prog}: no C compiler (cc, gcc, clang) found: skipping the C floors; "
              "sockpoll runs alone and no ratio to C can be given", flush=True)
        return False
    os.makedirs(cdir, exist_ok=True)
    for name, extra in sources:
        cmd = [cc, "-O2", "-Wall", "-Wextra", "-o", os.path.join(cdir, name),
               os.path.join(here, "c", f"{name}.c")] + extra
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{prog}: `{' '.join(cmd)}` failed, skipping the C side:\n{out.stderr}", flush=True)
            return False
    return True


def cpu_ns(pid):
    """ns on CPU of every thread of `pid` (/proc/PID/task/*/schedstat)."""
    ns = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            ns += int(f.read().split()[0])
    return ns


def start(prog, logdir, name, cmd, cpus="1"):
    """Starts `cmd` pinned to `cpus` (None: not pinned; it may pin its own
    threads) and waits for its `listening on ADDR` line; stderr goes to
    logdir/NAME.stderr (a pipe nobody reads could fill and stall the
    server)."""
    os.makedirs(logdir, exist_ok=True)
    err = open(os.path.join(logdir, f"{name}.stderr"), "w+")
    pin = ["taskset", "-c", cpus] if cpus else []
    p = subprocess.Popen(pin + cmd, stdout=subprocess.PIPE, stderr=err, text=True)
    line = p.stdout.readline()
    m = re.search(r"listening on (\S+)", line)
    if not m:
        p.kill()
        p.wait()
        err.seek(0)
        sys.exit(f"{prog}: {name} did not start: {line!r} {err.read()!r}")
    return dict(name=name, proc=p, err=err, addr=m.group(1), cmd=" ".join(cmd))


def stop(prog, servers):
    """SIGTERM each server, and say how each exited (its last stderr line)."""
    for s in servers:
        s["proc"].terminate()
        try:
            rc = s["proc"].wait(timeout=5)
        except subprocess.TimeoutExpired:
            s["proc"].kill()
            rc = "killed"
        s["err"].seek(0)
        last = s["err"].read().strip().splitlines()[-1:]
        print(f"{prog}: {s['name']} exited {rc}: {' '.join(last)}", flush=True)


def rotated(servers, rnd):
    """The servers in the order of round `rnd` (rotated by one each round)."""
    k = rnd % len(servers)
    return servers[k:] + servers[:k]


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def round_ratios(runs, rounds, key, name, base, value="cpu_ns"):
    """Per round, value(name) / value(base) among the runs matching `key`."""
    out = []
    for rnd in range(rounds):
        pick = [r for r in runs if r["round"] == rnd and all(r[k] == v for k, v in key.items())]
        a = [r[value] for r in pick if r["server"] == name]
        b = [r[value] for r in pick if r["server"] == base]
        if a and b:
            out.append(a[0] / b[0])
    return out


def cell(xs, fmt="{:.2f}"):
    """The median (and range) of xs, formatted; an em dash for none."""
    if not xs:
        return "—"
    if len(xs) == 1:
        return fmt.format(xs[0])
    return f"{fmt.format(med(xs))} ({fmt.format(min(xs))}–{fmt.format(max(xs))})"
