# SPDX-License-Identifier: GPL-2.0
"""The rustc command kbuild saved for a Rust object (its `.<object>.cmd` file), as an environment
and arguments to compile or document rust_wq the way kbuild compiles it (scripts/doctests.py,
scripts/rustdoc.py)."""
import os
import re
import shlex


def kbuild_rustc(cmd_file, drop=None):
    """The environment and the arguments of the compile command saved in `cmd_file`, without its
    output, dependency and clippy flags and its source file; `drop`, a regular expression, leaves
    out more flags. Raises ValueError, naming the file, if it holds no rustc command."""
    m = re.match(r"savedcmd_\S+ := (.*)", open(cmd_file).read())
    if not m:
        raise ValueError(f"{cmd_file}: no saved command")
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
        raise ValueError(f"{cmd_file}: not a rustc command")
    words.pop(0)
    args, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w in ("--out-dir", "--crate-type", "--crate-name", "-o"):
            skip = True
        elif (re.match(r"--emit|-Zbinary_dep_depinfo|-[WADF]clippy::", w) or w.endswith(".rs")
              or (drop and re.match(drop, w))):
            pass
        else:
            args.append(w)
    return env, args
