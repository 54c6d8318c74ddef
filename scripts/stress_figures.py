#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The figures of a `make stress` run, for docs/reliability.md.

  stress_figures.py render <console log> <run env>   the figures, in Markdown, on stdout
  stress_figures.py readme <figures file>... <doc>  puts figures files into the document
  stress_figures.py check <doc>                   the document's figures are files as rendered

`render` reads what the run printed (every `# ` line of the torture suite's cases, the
teardown times of the unload cycles, the unbinds of the sample driver, each case's verdict) and
the run's environment (`<mode>.env`, written by scripts/qemu-run.sh: the host's cores, CPU and
load, how QEMU ran), and names the machine next to the figures: figures are only comparable on
the same kind of machine. Its first line carries a checksum of the rest, which `check` verifies,
so that figures in the documentation are as a run rendered them, not edited or typed in by hand.
"""
import hashlib
import re
import sys

BEGIN = "<!-- stress-figures: begin -->"
END = "<!-- stress-figures: end -->"
HEAD = re.compile(r"<!-- written by make stress \(scripts/stress_figures\.py\); sha256 ([0-9a-f]{64}) -->")

# The parts of the run, in docs/reliability.md's words, by KTAP suite.
PARTS = {
    "rust_wq_stress_exactly_once": "exactly once at scale",
    "rust_wq_stress_delayed": "delayed items, queues come and go",
    "rust_wq_stress_hotplug": "CPU hotplug under load",
    "rust_wq_stress_alloc_failure": "allocation failure",
    "rust_wq_stress_bad_input": "bad input",
    "rust_wq_stress_semantics": "semantics under load",
    "rust_wq_stress_torture": "randomized API torture",
    "rust_wq_unload": "load/unload: a module with work pending everywhere",
    "rust_wq_edu_unload": "load/unload: unbinds of the edu driver",
    "rust_wq_edu_failslab": "allocation failure: loads of the edu driver",
}

TIME = re.compile(r"^\[ *\d+\.\d+\] ")
CASE = re.compile(r"^ *(not ok|ok) \d+ (\S+)")
SUITE_END = re.compile(r"^(not ok|ok) \d+ (\S+)")
DIAG = re.compile(r"^(?:[a-z_]+: +)?\s*# (.*)$")


def lines(path):
    for raw in open(path, errors="replace"):
        yield TIME.sub("", raw.rstrip("\r\n").replace("\r", ""))


def parse(log):
    """Per suite, in order: (name, [case verdicts], [diagnostic lines]); and the boot facts."""
    suites, cur, facts = [], None, {}
    for ln in lines(log):
        if ln.startswith("Kernel command line: "):
            facts["cmdline"] = " ".join(ln.split()[3:])
        # x86_64 says "smpboot: Total of N processors", arm64 "SMP: Total of N processors".
        m = re.search(r"(?i:smpboot|smp): Total of (\d+) processors activated", ln)
        if m:
            facts["online"] = m.group(1)
        # x86_64 counts present CPUs (ACPI); arm64 (device tree) only names the possible ones.
        m = re.search(r"Allowing (\d+) present CPUs", ln)
        if m:
            facts["present"] = m.group(1)
        m = re.search(r"restricting CPUs from NR_CPUS=\d+ to nr_cpu_ids=(\d+)", ln)
        if m:
            facts.setdefault("present", m.group(1))
        m = re.match(r"\s*# Subtest: (\S+)", ln)
        if m:
            cur = (m.group(1), [], [])
            suites.append(cur)
            continue
        if cur is None:
            continue
        m = SUITE_END.match(ln)
        if m and m.group(2) == cur[0]:
            cur = None
            continue
        m = CASE.match(ln)
        if m:
            cur[1].append(m.group(1) == "ok")
            continue
        m = DIAG.match(ln)
        if m:
            d = m.group(1).strip()
            if (re.match(r"(\S+\.)?speed: ", d) or "Test should be marked slow" in d
                    or re.match(r"\S+: (pass|fail):\d+", d)):
                continue
            cur[2].append(d)
    return suites, facts


def summarise(name, diags):
    """A suite's figures, one string; long lists shortened to what they say."""
    out = []
    if name == "rust_wq_stress_bad_input":
        classes = [d for d in diags if re.match(r"\d+ .*: got ", d)]
        wrong = [d for d in classes if d.endswith("WRONG")]
        out = [d for d in diags if d not in classes] + wrong
    elif name == "rust_wq_edu_unload":
        gone = [re.search(r"pending (\d+), queued (\d+), ran (\d+)", d) for d in diags]
        gone = [g for g in gone if g]
        ok = sum(1 for g in gone if int(g.group(1)) > 0 and g.group(2) == g.group(3))
        pend = sorted(int(g.group(1)) for g in gone)
        out = [f"{len(gone)} unbinds with the tally armed: {ok} dropped the devm queue with "
               f"items pending ({pend[0] if pend else 0} to {pend[-1] if pend else 0}) and ran "
               f"each queued item once"]
        out += [d for d in diags if "devm queue gone" not in d and "no line from" not in d]
        out += [d for d in diags if "no line from" in d]
    else:
        for d in diags:
            m = re.match(r"(slab pages after each of \d+ sweeps): \[([\d, ]+)\]", d)
            if m:
                v = [int(x) for x in m.group(2).split(",")]
                d = f"{m.group(1)}: {min(v)} to {max(v)}"
            out.append(d)
    return "; ".join(out).replace("|", "\\|")


def env(path):
    e = {}
    for ln in open(path):
        k, _, v = ln.rstrip("\n").partition("=")
        e[k] = " ".join(v.split())
    return e


def duration(s):
    s = int(s or 0)
    return f"{s // 60} min {s % 60} s" if s >= 60 else f"{s} s"


def render(log, envfile):
    suites, facts = parse(log)
    e = env(envfile)
    cmd = facts.get("cmdline", "")
    params = [
        f"STRESS_{p.split('.', 1)[1].split('=')[0].upper()}={p.split('=', 1)[1]}"
        for p in cmd.split() if p.startswith("rust_wq_stress.")]
    cycles = sum(len(c) for n, c, _ in suites if n == "rust_wq_unload")
    params = " ".join(params + [f"STRESS_CYCLES={cycles}"])
    slowed = [x for x in re.findall(r"taskset -c \S+|-icount \S+", e.get("qemu", ""))]
    body = [
        f"Run of {e.get('date', '?')}, commit {e.get('commit', '?')}: `make stress` with "
        f"`{params}`: "
        f"**{e.get('verdict', '?')}**, {e.get('splats', '?')} splats, "
        f"{duration(e.get('seconds'))}{' (' + e['retried'] + ')' if e.get('retried') else ''}.",
        "",
        f"Machine: {e.get('host_nproc', '?')} host cores (`nproc`), {e.get('host_cpu', '?')} at "
        f"{e.get('host_mhz', '?')} MHz, load average {e.get('host_load_start', '?')} at the start "
        f"and {e.get('host_load_end', '?')} at the end; {e.get('qemu_version', '?')}: "
        f"`{e.get('qemu', '?')}`, {facts.get('present', '?')} vCPUs of which "
        f"{facts.get('online', '?')} online; "
        + (f"slowed: `{'`, `'.join(slowed)}`." if slowed else "not slowed."),
        "",
        "| part | cases | figures the run printed |",
        "|---|---|---|",
    ]
    for name, cases, diags in suites:
        if name not in PARTS and not name.startswith("rust_wq_"):
            continue
        part = PARTS.get(name, name)
        body.append(f"| {part} (`{name}`) | {sum(cases)} of {len(cases)} ok | "
                    f"{summarise(name, diags)} |")
    text = "\n".join(body) + "\n"
    digest = hashlib.sha256(text.encode()).hexdigest()
    return f"<!-- written by make stress (scripts/stress_figures.py); sha256 {digest} -->\n" + text


def verify(block):
    """Whether `block` is one or more figures files as rendered: each checksum holds."""
    parts = re.split(r"(?m)^(?=<!-- written by make stress )", block)
    if parts[0].strip() or len(parts) < 2:
        return False
    for part in parts[1:]:
        head, _, rest = part.partition("\n")
        rest = rest.rstrip("\n") + "\n"
        m = HEAD.fullmatch(head)
        if not m or hashlib.sha256(rest.encode()).hexdigest() != m.group(1):
            return False
    return True


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "render":
        sys.stdout.write(render(sys.argv[2], sys.argv[3]))
    elif len(sys.argv) >= 4 and sys.argv[1] == "readme":
        *figs, path = sys.argv[2:]
        fig = ""
        for f in figs:
            text = open(f).read()
            if not verify(text):
                sys.exit(f"{f}: not a figures file as make stress wrote it")
            fig += ("\n" if fig else "") + text
        readme = open(path).read()
        if readme.count(BEGIN) != 1 or readme.count(END) != 1:
            sys.exit(f"{path}: needs one '{BEGIN}' and one '{END}'")
        pre, _, rest = readme.partition(BEGIN + "\n")
        _, _, post = rest.partition(END)
        open(path, "w").write(pre + BEGIN + "\n" + fig + END + post)
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        readme = open(sys.argv[2]).read()
        if readme.count(BEGIN) != 1 or readme.count(END) != 1:
            sys.exit(f"{sys.argv[2]}: needs one '{BEGIN}' and one '{END}'")
        block = readme.partition(BEGIN + "\n")[2].partition(END)[0]
        if not verify(block):
            sys.exit(f"{sys.argv[2]}: the stress figures between '{BEGIN}' and '{END}' are not "
                     "as a run rendered them: `make stress`, then `make stress-readme`")
        print(f"{sys.argv[2]}: stress figures as rendered by a run")
    else:
        sys.exit(__doc__)


main()
