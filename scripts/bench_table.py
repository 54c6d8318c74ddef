#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The tables of a `make bench` run, for docs/benchmarks.md.

  bench_table.py render <console log> <run env>      the run's tables, in Markdown, on stdout
  bench_table.py readme <tables file> <doc> <region>  puts a tables file into the document
  bench_table.py check <doc>                         every region's tables are a file as rendered

`render` takes what the benchmark module printed (its lines are Markdown already: the tables
with every row's C, rust_wq and in-tree figures, ratios, target and how it stands against it)
and names the kernel, the commit and how QEMU ran next to them, from the console log and the
run's environment (`bench.env`, written by scripts/qemu-run.sh). Its first line carries a
checksum of the rest, which `check` verifies, so that the tables in the documentation are as a
run printed them, never edited or typed in by hand. `make bench` (region `perf-<arch>`) and
`make distro-bench` (region `debian-<arch>`) render their run and put it into the document's
region of that name, between `<!-- bench-table <region>: begin -->` and `... end -->`.
"""
import hashlib
import re
import sys

HEAD = re.compile(r"<!-- written by make bench \(scripts/bench_table\.py\); sha256 ([0-9a-f]{64}) -->")
REGION = re.compile(r"<!-- bench-table (\S+): (begin|end) -->")
TIME = re.compile(r"^\[ *\d+\.\d+\] ")
MODULE = "rust_wq_bench: "


def begin(region):
    return f"<!-- bench-table {region}: begin -->"


def end(region):
    return f"<!-- bench-table {region}: end -->"


def env(path):
    e = {}
    for ln in open(path):
        k, _, v = ln.rstrip("\n").partition("=")
        e[k] = " ".join(v.split())
    return e


def render(log, envfile):
    e = env(envfile)
    kernel, printed = "?", []
    for raw in open(log, errors="replace"):
        ln = TIME.sub("", raw.rstrip("\r\n").replace("\r", ""))
        m = re.match(r"Linux version (\S+)", ln)
        if m and kernel == "?":
            kernel = m.group(1)
        # The kernel's own lines about the module (its taint) are no figures.
        if ln.startswith(MODULE) and "taint" not in ln:
            printed.append(ln[len(MODULE):].rstrip())
    if not any(ln.startswith("|") for ln in printed):
        sys.exit(f"{log}: the benchmark module printed no table")
    body = [
        f"Run of {e.get('date', '?')}, commit {e.get('commit', '?')}, kernel {kernel}: "
        f"`{e.get('qemu', '?')}` ({e.get('qemu_version', '?')}), "
        f"{e.get('seconds', '?')} s on {e.get('host_nproc', '?')} host cores, load average "
        f"{e.get('host_load_start', '?')} at the start (instruction counts: the host's speed and "
        "load do not change them).",
    ]
    # Paragraphs and tables as Markdown wants them: a blank line between two paragraphs and
    # around a table.
    prev_table = False
    for ln in printed:
        table = ln.startswith("|")
        if not (table and prev_table):
            body.append("")
        body.append(ln)
        prev_table = table
    text = "\n".join(body) + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"<!-- written by make bench (scripts/bench_table.py); sha256 {digest} -->\n" + text


def verify(block):
    """Whether `block` is a tables file as rendered: its checksum holds."""
    head, _, rest = block.partition("\n")
    m = HEAD.fullmatch(head)
    rest = rest.rstrip("\n") + "\n"
    return bool(m) and hashlib.sha256(rest.encode()).hexdigest() == m.group(1)


def regions(doc):
    """The regions of `doc` in order, each (name, its text), or an error message."""
    out, cur, start = [], None, 0
    for m in REGION.finditer(doc):
        name, what = m.groups()
        if what == "begin":
            if cur is not None:
                return None, f"region {cur} has no end before region {name} begins"
            cur, start = name, m.end() + 1
        else:
            if cur != name:
                return None, f"'{m.group(0)}' ends no region that began"
            out.append((name, doc[start:m.start()]))
            cur = None
    if cur is not None:
        return None, f"region {cur} has no end"
    names = [n for n, _ in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        return None, f"region {', '.join(sorted(dup))} more than once"
    return out, None


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "render":
        sys.stdout.write(render(sys.argv[2], sys.argv[3]))
    elif len(sys.argv) == 5 and sys.argv[1] == "readme":
        table, path, region = sys.argv[2:]
        text = open(table).read()
        if not verify(text):
            sys.exit(f"{table}: not a tables file as make bench wrote it")
        doc = open(path).read()
        found, err = regions(doc)
        if err:
            sys.exit(f"{path}: {err}")
        if region not in [n for n, _ in found]:
            print(f"{path} has no region {region} ('{begin(region)}'): the tables of this run "
                  f"are in {table} only")
            return
        pre, _, rest = doc.partition(begin(region) + "\n")
        _, _, post = rest.partition(end(region))
        open(path, "w").write(pre + begin(region) + "\n" + text + end(region) + post)
        print(f"{path}: region {region} written from {table}")
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        path = sys.argv[2]
        found, err = regions(open(path).read())
        if err:
            sys.exit(f"{path}: {err}")
        if not found:
            sys.exit(f"{path}: no '<!-- bench-table <region>: begin -->' region")
        bad = [n for n, block in found if not verify(block)]
        if bad:
            sys.exit(f"{path}: the tables of region {', '.join(bad)} are not as a run rendered "
                     "them: run `make bench` (perf-*) or `make distro-bench` (debian-*), which "
                     "write them")
        print(f"{path}: benchmark tables as rendered by a run ({', '.join(n for n, _ in found)})")
    else:
        sys.exit(__doc__)


main()
