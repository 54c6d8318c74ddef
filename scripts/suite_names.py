#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Each KUnit suite is named after its file: `#[kunit_tests(<prefix><file>)]` in `<dir>/<file>.rs`,
the prefix `rust_wq_` under tests/kunit and `rust_wq_stress_` under tests/stress.
Usage: suite_names.py <repository root>; names every file that differs and fails.
"""
import os
import re
import sys

PREFIX = {"tests/kunit": "rust_wq_", "tests/stress": "rust_wq_stress_"}

root = sys.argv[1]
bad = 0
count = 0
for d, prefix in PREFIX.items():
    for f in sorted(os.listdir(os.path.join(root, d))):
        if not f.endswith(".rs"):
            continue
        for suite in re.findall(r"#\[kunit_tests\((\w+)\)\]", open(os.path.join(root, d, f)).read()):
            count += 1
            want = prefix + f[:-3]
            if suite != want:
                print(f"{d}/{f}: suite {suite}, want {want} (a suite is named after its file)",
                      file=sys.stderr)
                bad = 1
if not bad:
    print(f"suite names: {count} suites named after their files")
sys.exit(bad)
