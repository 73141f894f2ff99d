#!/usr/bin/env python3
"""Fails, naming them, when a comment, doc or Markdown file of the repository
names a file that is not in it.

Looks at backticked names ending in .rs, .md, .py, .c, .toml, .sh in the
Rust, Python, C, shell and Markdown files that git tracks (tracked files
only, so a build directory is never read). A name with a slash is a path:
it must exist from the repository root, from the naming file's folder, or
from one of the crate roots below (a doc in src/event/ may say
`sys/uring.rs`). A bare file name must be some tracked file's name. Names
outside the repository (`../shared/...`) and patterns (`*`, `<`, `{`) are
not paths of it and are skipped.
"""
import os
import re
import subprocess
import sys

EXT = r"(?:rs|md|py|c|toml|sh)"
TOKEN = re.compile(r"`([A-Za-z0-9_.\-/]+\." + EXT + r")(?::[0-9]+(?:-[0-9]+)?)?`")
ROOTS = ["", "src", "src/event", "src/net", "src/sys", "tests", "examples",
         "benches", "conformance", "conformance/src", "echo", "echo/src", "fuzz"]

def main():
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True,
                         text=True, check=True).stdout.strip()
    os.chdir(top)
    files = subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                           check=True).stdout.split("\n")
    files = [f for f in files if f]
    tracked = set(files)
    dirs = {os.path.dirname(f) for f in files}
    names = {os.path.basename(f) for f in files}
    stale = []
    for f in files:
        if not re.search(r"\.(rs|md|py|c|h|toml|sh)$", f) and not f.startswith(".ci/"):
            continue
        if f.startswith("fuzz/corpus/"):
            continue
        try:
            text = open(f, encoding="utf-8").read()
        except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
            continue
        for lineno, line in enumerate(text.split("\n"), 1):
            for m in TOKEN.finditer(line):
                name = m.group(1)
                if name.startswith("../") or name.startswith("/"):
                    continue
                if "/" not in name:
                    ok = name in names
                else:
                    here = os.path.dirname(f)
                    candidates = [os.path.normpath(os.path.join(here, name))]
                    candidates += [os.path.normpath(os.path.join(r, name)) for r in ROOTS]
                    ok = any(c in tracked or c in dirs for c in candidates)
                if not ok:
                    stale.append(f"{f}:{lineno}: `{name}`")
    if stale:
        print("Files named in comments, docs or Markdown that are not in the repository:")
        print("\n".join(stale))
        sys.exit(1)
    print("every file named in comments, docs and Markdown exists")

main()
