#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Mends the rust-project.json that the kernel's `make rust-analyzer` writes, for this
repository's crates or a driver's of another repository (ROOT):

- rust-analyzer follows `#[path = ".../rust_wq/lib.rs"] pub mod rust_wq;`: each module crate
  under ROOT may include files from its own directory and from the rust_wq/ directory it mounts
  (its `source`);
- one standard library, the pinned toolchain's: the kernel's generator lists the sysroot's
  `core`, `alloc`, `std` and `proc_macro` as crates of the project and also names a `sysroot`,
  which rust-analyzer loads a second time. Our crates then depend on a `core` that is not the
  one rust-analyzer takes the primitive types' methods from, and every `ptr.is_null()`,
  `slice.len()` or `x.wrapping_add()` is an error (`no method is_null on *mut kunit`). The
  listed copies are dropped (rust-analyzer adds its sysroot crates to every crate), and
  `sysroot` is SYSROOT, `rustc --print sysroot` of the toolchain that builds the modules;
- rust_wq includes the declarations of its C glue that the build generates in each module's
  directory of BUILD (rust_wq/glue/glue.mk): each crate that mounts rust_wq gets its path in
  `RUST_WQ_GLUE`, as kbuild gives it to rustc.

usage: ra_include.py RUST_PROJECT_JSON ROOT SYSROOT BUILD"""
import json
import os
import re
import sys

path, root, sysroot = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
build = os.path.abspath(sys.argv[4])
project = json.load(open(path))

# The sysroot's own crates, wherever the generator found their source.
SYSROOT_CRATES = {"core", "alloc", "std", "proc_macro"}
crates = project["crates"]
drop = {
    i
    for i, c in enumerate(crates)
    if c.get("display_name") in SYSROOT_CRATES and "/lib/rustlib/src/" in c["root_module"]
}
index = {}
kept = []
for i, c in enumerate(crates):
    if i not in drop:
        index[i] = len(kept)
        kept.append(c)
for c in kept:
    c["deps"] = [dict(d, crate=index[d["crate"]]) for d in c["deps"] if d["crate"] in index]
project["crates"] = kept
project["sysroot"] = sysroot
project["sysroot_src"] = os.path.join(sysroot, "lib", "rustlib", "src", "rust", "library")

# `#[path = "..."]` on the `mod rust_wq` of a crate root: the directory of rust_wq it mounts.
MOUNT = re.compile(r'#\[path\s*=\s*"([^"]*lib\.rs)"\]\s*pub\s+mod\s+rust_wq\s*;')
for crate in kept:
    module = crate["root_module"]
    if not module.startswith(root + os.sep):
        continue
    dirs = [os.path.dirname(module)]
    m = MOUNT.search(open(module).read())
    if m:
        lib = os.path.normpath(os.path.join(os.path.dirname(module), m.group(1)))
        if os.path.dirname(lib) not in dirs:
            dirs.append(os.path.dirname(lib))
        # In BUILD, or next to the crate root for a crate built in its own directory (without
        # MO=, as the compile-fail cases under out/ are).
        places = [os.path.join(build, os.path.relpath(dirs[0], root)), dirs[0]]
        glue = next(
            (g for g in (os.path.join(d, "rust_wq_glue.rs") for d in places) if os.path.exists(g)),
            None,
        )
        if glue is None:
            glue = os.path.join(places[0], "rust_wq_glue.rs")
            print(f"rust_wq: {glue} is not built yet: build the modules first", file=sys.stderr)
        crate.setdefault("env", {})["RUST_WQ_GLUE"] = glue
    # The KUnit module includes the suite of doc examples that kbuild writes (in BUILD):
    # rust-analyzer reads it from there, as rustc does.
    if os.path.relpath(module, root) == "tests/kunit/kunit_main.rs":
        gen = os.path.join(build, "tests", "kunit")
        crate.setdefault("env", {})["RUST_WQ_DOCTESTS"] = os.path.join(gen, "doctests_generated.rs")
        dirs.append(gen)
    crate["source"] = {"include_dirs": dirs, "exclude_dirs": []}
json.dump(project, open(path, "w"), indent=1, sort_keys=True)
