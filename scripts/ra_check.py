#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make ra-check`: fails on any error that `rust-analyzer diagnostics` reports in a file of
this repository (ROOT, out/ excepted), whatever the crate that includes it. Errors in the
kernel's own crates are counted, not judged: they are not ours to mend.

A file of rust_wq/ is part of every module crate that mounts it, so one error may be reported
once per crate: it is printed once, with the crates it was seen in.

usage: ra_check.py DIAGNOSTICS_OUTPUT ROOT"""
import collections
import os
import re
import sys

out, root = sys.argv[1], os.path.realpath(sys.argv[2])
text = open(out, errors="replace").read().replace("\r", "\n")

# rust-analyzer's diagnostics that are false for code rustc builds, by code and message: none
# is needed now. An entry must say which limitation of rust-analyzer it stands for.
FALSE = [
    # (code, message regex, why)
]

if "diagnostic scan complete" not in text:
    sys.stdout.write(text[-4000:])
    sys.exit("rust_wq: rust-analyzer did not complete its scan (above)")

LINE = re.compile(
    r"at crate (\S+), file (\S+): (Error|Warning|WeakWarning|Allow)\s+(.+?)\s+from "
    r"LineCol \{ line: (\d+), col: (\d+) \} to LineCol \{ line: \d+, col: \d+ \}: (.*)"
)
ours = collections.OrderedDict()
theirs = 0
filtered = 0
# Every error line must parse: one that does not is reported as it is, and fails the check.
errors = re.findall(r"at crate \S+, file \S+: Error\b", text)
parsed = [m for m in LINE.finditer(text) if m.group(3) == "Error"]
if len(parsed) != len(errors):
    sys.exit(f"rust_wq: {len(errors) - len(parsed)} error lines of rust-analyzer not understood "
             f"(see {out})")
for m in LINE.finditer(text):
    crate, path, severity, code, line, col, message = m.groups()
    if severity != "Error":
        continue
    real = os.path.realpath(path)
    if not real.startswith(root + os.sep) or real.startswith(os.path.join(root, "out") + os.sep):
        theirs += 1
        continue
    if any(c == code and re.search(r, message) for c, r, _ in FALSE):
        filtered += 1
        continue
    key = (os.path.relpath(real, root), int(line) + 1, int(col) + 1, code, message.strip())
    ours.setdefault(key, []).append(crate)

for (rel, line, col, code, message), crates in ours.items():
    print(f"{rel}:{line}:{col}: {code}: {message} (crates: {', '.join(sorted(set(crates)))})")
reports = sum(len(c) for c in ours.values())
print(
    f"rust-analyzer: {len(ours)} errors in this repository's files ({reports} reports), "
    f"{filtered} filtered as known false, {theirs} in the kernel's crates (not judged)"
)
sys.exit(1 if ours else 0)
