#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Prints a console log without the hung-task reports of the KUnit runner waiting for a case.

insmod runs a module's KUnit suites and waits for each case in kunit_try_catch_run(), in
uninterruptible sleep, for as long as the case runs: a case that runs longer than the guest's
hung_task_timeout_secs (a slow machine, a loaded host) makes the kernel report insmod as
blocked. That wait is not a hang (KUnit ends a case at its own timeout, and the case fails
then), so such a report is no splat. Every other report stays, a kworker's or a case thread's
above all. The lines of a dropped report are printed to stderr, for the log of the verdict.

Usage: runner_waits.py LOG > FILTERED
"""
import re
import sys

FRAME = re.compile(r"^\[[ 0-9.]+\]\s+(\? )?\S+\+0x[0-9a-f]+/0x[0-9a-f]+")

lines = open(sys.argv[1], errors="replace").read().split("\n")
drop = set()
for i, line in enumerate(lines):
    if not re.search(r"INFO: task .* blocked for more than", line):
        continue
    j = i + 1
    while j < len(lines) and j < i + 8 and "Call trace:" not in lines[j] and "Call Trace:" not in lines[j]:
        j += 1
    if j >= len(lines) or j == i + 8:
        continue
    k = j + 1
    while k < len(lines) and (FRAME.search(lines[k]) or "<TASK>" in lines[k] or "</TASK>" in lines[k]):
        k += 1
    if any("kunit_try_catch_run" in x for x in lines[j + 1:k]):
        drop.update(range(i, k))
        print(lines[i].strip(), "(the KUnit runner waiting for a case: not a splat)", file=sys.stderr)
# Line numbers stay those of the log: dropped lines are printed empty.
sys.stdout.write("\n".join("" if n in drop else x for n, x in enumerate(lines)))
