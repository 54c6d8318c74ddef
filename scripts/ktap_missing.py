#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Counts the KTAP test cases that a document planned but never reported (a crash or a hang
cut it short), and names the case that crashed where the console shows it: prints
"<missing cases> <missing suites> <crashed>" for the slice given as argv[1], <crashed> being
"suite.case" (or "suite.?" when the log does not name it), or "-"."""
import re
import sys

lines = [re.sub(r"^\[[ 0-9.]+\] ", "", l.rstrip("\r\n")) for l in open(sys.argv[1], errors="replace")]
suites_planned = suites_seen = 0
missing = 0
planned = seen = None
suite = None
crashed = "-"
for l in lines:
    m = re.search(r"kunit_rust_wrapper_(\w+?)(\+0x|$)", l)
    if m and crashed == "-":
        crashed = f"{suite or '?'}.{m.group(1)}"
    if re.match(r"^1\.\.\d+$", l):
        suites_planned += int(l[3:])
    elif re.match(r"^    # Subtest: ", l):
        if planned is not None:
            missing += max(planned - seen, 0)
        suites_seen += 1
        suite = l.split("# Subtest: ", 1)[1].strip()
        planned, seen = None, 0
    elif re.match(r"^    1\.\.\d+$", l):
        planned = int(l.strip()[3:])
    elif re.match(r"^    (not )?ok \d+ ", l):
        seen = (seen or 0) + 1
if planned is not None:
    missing += max(planned - seen, 0)
if (missing or suites_planned > suites_seen) and crashed == "-" and suite:
    crashed = f"{suite}.?"
print(missing, max(suites_planned - suites_seen, 0), crashed)
