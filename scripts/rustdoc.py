#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""`make doc`: rustdoc HTML for rust_wq, documented as kbuild compiles it.

rust_wq is not a crate: each module mounts it at its crate root. docs/doc_root.rs is such a
root, and rustdoc gets the flags kbuild gave rustc for a module of this repository (read from
the .cmd file kbuild saved for it: target, cfgs, edition, `-Zcrate-attr`s, `--extern kernel`,
`-L`), so the documented code is the compiled code. Links to the kernel's crates go to
rust.docs.kernel.org; `srctree/` links to the kernel source, as the kernel's `make rustdoc`
does. Any rustdoc warning (a missing doc comment, a broken or private link) fails.

usage: rustdoc.py CMD_FILE ROOT KSRC OUTPUT_DIR"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbuild_cmd  # noqa: E402

cmd_file, root, ksrc, output = sys.argv[1:5]
KERNEL_DOCS = "https://rust.docs.kernel.org/"

try:
    # Clippy's lints mean nothing to rustdoc; the kernel's `make rustdoc` drops
    # `--remap-path-scope` too.
    env, args = kbuild_cmd.kbuild_rustc(cmd_file, drop=r"--remap-path")
except ValueError as e:
    sys.exit(f"rust_wq: {e}")

crates = ["core", "kernel", "pin_init", "macros", "ffi", "bindings", "uapi", "zerocopy"]
rustdoc = [
    env.get("RUSTDOC", "rustdoc"),
    *args,
    "--crate-name", "rust_wq",
    "--crate-type", "rlib",
    # As the kernel's `make rustdoc`: rustdoc does not record the target modifiers
    # (https://github.com/rust-lang/rust/issues/144521).
    "-Cunsafe-allow-abi-mismatch=fixed-x18",
    "-Zunstable-options",
    *[f"--extern-html-root-url={c}={KERNEL_DOCS}" for c in crates],
    "-Dwarnings",
    "-Dmissing_docs",
    "-Drustdoc::broken_intra_doc_links",
    "-Drustdoc::private_intra_doc_links",
    "--output", output,
    os.path.join(root, "docs", "doc_root.rs"),
]
if subprocess.call(rustdoc, env=env) != 0:
    sys.exit("rust_wq: rustdoc failed (above)")

# `srctree/` links point into the kernel source the modules were built against.
src = os.path.realpath(ksrc)
for d, _, files in os.walk(os.path.join(output, "rust_wq")):
    for f in files:
        if f.endswith(".html"):
            p = os.path.join(d, f)
            t = open(p).read()
            u = t.replace('href="srctree/', f'href="{src}/')
            if u != t:
                open(p, "w").write(u)
print(f"rust_wq: documentation in {os.path.join(output, 'rust_wq', 'index.html')}")
