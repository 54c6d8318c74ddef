#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Lets rust-analyzer follow `#[path = "../rust_wq/lib.rs"]`: each module crate of this
repository may include files from its own directory and from rust_wq/ (its `source`).

usage: ra_include.py RUST_PROJECT_JSON ROOT"""
import json
import os
import sys

path, root = sys.argv[1], os.path.abspath(sys.argv[2])
project = json.load(open(path))
for crate in project["crates"]:
    module = crate["root_module"]
    if module.startswith(root + os.sep):
        crate["source"] = {
            "include_dirs": [os.path.dirname(module), os.path.join(root, "rust_wq")],
            "exclude_dirs": [],
        }
json.dump(project, open(path, "w"), indent=1, sort_keys=True)
