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
import re
import shlex
import subprocess
import sys

cmd_file, root, ksrc, output = sys.argv[1:5]
KERNEL_DOCS = "https://rust.docs.kernel.org/"

text = open(cmd_file).read()
m = re.match(r"savedcmd_\S+ := (.*)", text)
if not m:
    sys.exit(f"rust_wq: {cmd_file}: no saved command")
# The compile command is the first of the saved commands (objtool follows).
words = shlex.split(m.group(1).split(" ; ")[0])

env = dict(os.environ, RUSTC_BOOTSTRAP="1")
while words and re.match(r"^[A-Z_][A-Z0-9_]*=", words[0]):
    name, _, value = words.pop(0).partition("=")
    env[name] = value
# The glue's declarations, generated next to the object (rust_wq/glue/glue.mk exports their
# path to rustc, not into the saved command).
env["RUST_WQ_GLUE"] = os.path.join(os.path.dirname(os.path.abspath(cmd_file)), "rust_wq_glue.rs")
if not words or os.path.basename(words[0]) not in ("rustc", "clippy-driver"):
    sys.exit(f"rust_wq: {cmd_file}: not a rustc command")
words.pop(0)

args = []
skip = False
for w in words:
    if skip:
        skip = False
    elif w in ("--out-dir", "--crate-type", "--crate-name", "-o"):
        skip = True
    # Output and dependency tracking are rustc's; clippy's lints mean nothing to rustdoc; the
    # kernel's `make rustdoc` drops `--remap-path-scope` too.
    elif re.match(r"--emit|-Zbinary_dep_depinfo|--remap-path|-[WADF]clippy::", w):
        pass
    elif w.endswith(".rs"):
        pass
    else:
        args.append(w)

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
