#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The doc examples of rust_wq and the README's Rust examples, as a KUnit suite.

The kernel turns its own crate's examples into the KUnit suite `rust_doctests_kernel`
(scripts/rustdoc_test_builder.rs and rustdoc_test_gen.rs, run by rust/Makefile). rust_wq is not
a crate but source mounted into each module, so this script reads the examples itself, with
rustdoc's rules, and writes them as the suite `rust_wq_doctests` of the KUnit module
(tests/kunit/doctests.rs includes the file; tests/kunit/Kbuild writes it at build time):

- Examples are the fenced blocks of the `///` and `//!` comments of rust_wq/**/*.rs and docs/*.rs
  whose info string is empty or names only rustdoc's attributes (`rust`, `ignore`, `no_run`,
  ...), and the blocks of README.md marked `rust`.
- A line `# code` (or `#` alone) is compiled but hidden from the rendered documentation, as in
  rustdoc; `##` stands for a visible `#`. The README has no hidden lines: GitHub would show them.
- As rustdoc does, a doc example whose code ends in `(())` (e.g. `# Ok::<(), Error>(())`) is
  the body of a function returning `Result<(), impl Debug>`, so it may use `?`; an `Err`
  fails the case. A README example is always the body of a function returning `Result`.
- One case per example, named after its file and line (`lib_rs_57`, `readme_md_307`), with
  `assert!`/`assert_eq!` reporting the example's own file and line, as the kernel's
  generator does. The kernel's prelude and rust_wq's (`crate::rust_wq::prelude`, the queueing
  traits) are in scope, as in a driver that imports both; everything else the example imports.
- `no_run (reason)`: compiled, not run; its case is reported skipped with the reason (a device,
  a hang). `ignore (reason)`: a driver's crate root (a `module!`), which a case cannot hold: it
  is compiled as a crate of its own, with the flags kbuild gives the KUnit module (`roots`).
  The reason in parentheses is required, and a README block must either run or repeat a doc
  example word for word (then it is checked as that one).

usage: doctests.py suite ROOT OUT_RS     write the KUnit suite
       doctests.py roots ROOT CMD_FILE   compile the crate-root examples (CMD_FILE: the .cmd of
                                         tests/kunit/kunit_main.o)
       doctests.py list ROOT             the examples and what is done with each
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kbuild_cmd  # noqa: E402

# rustdoc's code block attributes (src/librustdoc/html/markdown.rs, LangString).
RUSTDOC_ATTRS = {
    "rust", "ignore", "no_run", "should_panic", "compile_fail", "test_harness", "standalone",
    "edition2015", "edition2018", "edition2021", "edition2024",
}
SUITE = "rust_wq_doctests"


class Example:
    def __init__(self, path, line, tags, reason, lines, readme):
        self.path = path  # relative to ROOT
        self.line = line  # the line of the opening fence (1-based)
        self.tags = tags
        self.reason = reason
        self.lines = lines  # [(source line, code, hidden)]
        self.readme = readme
        self.same_as = None
        base = re.sub(r"\W", "_", os.path.basename(path).lower())
        self.name = f"{base}_{line}"

    @property
    def kind(self):
        if self.same_as:
            return "same"
        if "ignore" in self.tags:
            return "root"
        if "no_run" in self.tags:
            return "no_run"
        return "run"

    def visible(self):
        return [c for _, c, h in self.lines if not h]

    def code(self):
        return "\n".join(c for _, c, _ in self.lines)

    def where(self):
        return f"{self.path}:{self.line}"


def die(msg):
    sys.exit(f"doctests: {msg}")


def split_info(info):
    """rustdoc's tags of an info string, and the text of its parenthesised comments."""
    comments = re.findall(r"\(([^)]*)\)", info)
    tags = [t for t in re.split(r"[\s,]+", re.sub(r"\([^)]*\)", " ", info)) if t]
    return tags, " ".join(c.strip() for c in comments)


def code_line(text):
    """rustdoc's hidden lines: `# x` and `#` are hidden, `##x` is a visible `#x`."""
    s = text.lstrip()
    indent = text[: len(text) - len(s)]
    if s.startswith("##"):
        return indent + s[1:], False
    if s == "#":
        return "", True
    if s.startswith("# "):
        return indent + s[2:], True
    return text, False


def blocks(path, rel, readme):
    """The examples of one file."""
    out = []
    src = open(path).read().split("\n")
    fence = None
    for i, raw in enumerate(src, 1):
        if readme:
            text = raw
        else:
            m = re.match(r"\s*//[/!](?!/) ?(.*)$", raw)
            if not m:
                if fence:
                    die(f"{rel}:{fence[0]}: the example's comment ends before its closing ```")
                continue
            text = m.group(1)
        if fence is None:
            m = re.match(r"```(.*)$", text)
            if m:
                if "`" in m.group(1):
                    die(f"{rel}:{i}: a backtick in the info string makes this no code block "
                        "(CommonMark): write the reason without backticks")
                fence = (i, m.group(1).strip(), [])
            continue
        if re.match(r"```\s*$", text):
            line, info, body = fence
            fence = None
            tags, reason = split_info(info)
            if readme:
                if tags != ["rust"]:
                    continue
            elif any(t not in RUSTDOC_ATTRS for t in tags):
                continue  # text, sh, c, ...: not Rust
            for t in ("should_panic", "compile_fail", "test_harness", "standalone"):
                if t in tags:
                    die(f"{rel}:{line}: `{t}` examples are not supported")
            if ("ignore" in tags or "no_run" in tags) and not reason:
                die(f"{rel}:{line}: an `ignore` or `no_run` example says why, next to it: "
                    "```no_run (needs a bound PCI device)")
            if reason and not ("ignore" in tags or "no_run" in tags):
                die(f"{rel}:{line}: a reason in parentheses goes with `ignore` or `no_run` only")
            if readme:
                lines = [(n, c, False) for n, c in body]
                if any(code_line(c)[1] for _, c, _ in lines):
                    die(f"{rel}:{line}: a README example has no hidden `# ` lines "
                        "(GitHub shows them)")
            else:
                lines = [(n, *code_line(c)) for n, c in body]
            out.append(Example(rel, line, tags, reason, lines, readme))
            continue
        fence[2].append((i, text))
    if fence:
        die(f"{rel}:{fence[0]}: no closing ```")
    return out


def collect(root):
    files = []
    for d in ("rust_wq", "docs"):
        for top, _, names in sorted(os.walk(os.path.join(root, d))):
            for f in sorted(names):
                if f.endswith(".rs"):
                    files.append((os.path.relpath(os.path.join(top, f), root), False))
    files.append(("README.md", True))
    examples = []
    for rel, readme in files:
        examples += blocks(os.path.join(root, rel), rel, readme)
    docs = [e for e in examples if not e.readme]
    for e in examples:
        if not e.readme:
            continue
        same = [d for d in docs if d.visible() == e.visible()]
        if same:
            e.same_as = same[0]
        elif "ignore" in e.tags or "no_run" in e.tags:
            die(f"{e.where()}: a README example runs, or repeats a doc example word for word")
    names = [e.name for e in examples]
    for n in names:
        if names.count(n) > 1:
            die(f"two examples would be the case {n}: rename a file")
    for e in examples:
        if e.kind == "root" and "module!" not in e.code():
            die(f"{e.where()}: an `ignore` example is a driver's crate root (with its `module!`),"
                " compiled as a crate; anything else is a test case (`no_run` if it must not run)")
    return examples


def c_str(s):
    return 'c"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def suite(root, out_rs):
    examples = collect(root)
    g = []  # the generated lines

    def emit(s=""):
        g.extend(s.split("\n"))

    emit("// SPDX-License-Identifier: GPL-2.0")
    emit("// Written by scripts/doctests.py from the examples of rust_wq/**/*.rs, docs/*.rs and")
    emit("// README.md at build time: edit those, not this file.")
    emit(f"#[kunit_tests({SUITE})]")
    emit("mod tests {")
    emit("    #[allow(unused_imports)]")
    emit("    use kernel::prelude::*;")
    emit("    #[allow(unused_imports)]")
    emit("    use crate::rust_wq::prelude::*;")
    counts = {"run": 0, "no_run": 0}
    for e in examples:
        if e.kind not in counts:
            continue
        counts[e.kind] += 1
        n, file = e.name, c_str(e.path)
        emit("")
        what = "run" if e.kind == "run" else f"compiled, not run: {e.reason}"
        emit(f"    /// The example at `{e.where()}` ({what}).")
        emit("    #[test]")
        emit(f"    fn {n}() {{")
        # `assert!` and `assert_eq!` of the example report its own file and line: the body is
        # copied line for line, so a line of it is the source's line plus a constant.
        diff = "__DIFF__"
        emit("        #[allow(unused_macros)]")
        emit("        macro_rules! assert {")
        emit("            ($cond:expr $(,)?) => {{")
        emit(f'                ::kernel::kunit_assert!("{n}", {file}, {diff}, $cond);')
        emit("            }};")
        emit("        }")
        emit("        #[allow(unused_macros)]")
        emit("        macro_rules! assert_eq {")
        emit("            ($left:expr, $right:expr $(,)?) => {{")
        emit(f'                ::kernel::kunit_assert_eq!("{n}", {file}, {diff}, $left, $right);')
        emit("            }};")
        emit("        }")
        emit(f'        ::kernel::kunit::info(fmt!("    # {n}.location: {e.where()}\\n"));')
        code = "\n".join(c for _, c, _ in e.lines).rstrip()
        if e.readme:
            ret, tail = "Result", ["Ok(())"]
        elif code.endswith("(())"):
            ret, tail = "::core::result::Result<(), impl ::core::fmt::Debug>", []
        else:
            ret, tail = None, []
        emit("        #[allow(unused, unreachable_pub, clippy::disallowed_names)]")
        emit(f"        fn example(){' -> ' + ret if ret else ''} {{")
        first = len(g) + 1  # the generated line of the example's first line
        start = e.lines[0][0] if e.lines else e.line + 1
        for _, c, _ in e.lines:
            emit(c)
        for t in tail:
            emit(t)
        emit("        }")
        d = first - start
        g[:] = [x.replace("__DIFF__", f"({d})") for x in g]
        if e.kind == "no_run":
            emit("        let _ = example;")
            emit(f"        crate::probe::skip({c_str('compile-only: ' + e.reason)});")
        elif ret:
            emit("        let result = example();")
            emit("        if let Err(e) = &result {")
            emit(f'            ::kernel::kunit::err(fmt!("    # {n}: the example returned '
                 'Err({e:?})\\n"));')
            emit("        }")
            # An `Err` is reported at the line of the opening fence.
            emit(f'        ::kernel::kunit_assert!("{n}", {file}, ({len(g) + 1 - e.line}), '
                 "result.is_ok());")
        else:
            emit("        example();")
        emit("    }")
    emit("}")
    text = "\n".join(g) + "\n"
    tmp = out_rs + ".tmp"
    open(tmp, "w").write(text)
    os.replace(tmp, out_rs)
    return examples, counts


def kbuild_rustc(cmd_file):
    """The environment and arguments of kbuild's rustc command saved in `cmd_file`."""
    try:
        return kbuild_cmd.kbuild_rustc(cmd_file)
    except ValueError as e:
        die(str(e))


def roots(root, cmd_file):
    """Compiles each crate-root example as a crate of its own, as kbuild compiles a module.

    The crate is written to out/ (next to rust_wq/, so the example's `#[path]` finds it as a
    driver one directory down does)."""
    env, args = kbuild_rustc(cmd_file)
    rustc = env.get("RUSTC", "rustc")
    failed = 0
    done = 0
    for e in collect(root):
        if e.kind != "root":
            continue
        src = os.path.join(root, "out", f"doctest_{e.name}.rs")
        obj = os.path.join(root, "out", "doctests", f"{e.name}.o")
        os.makedirs(os.path.dirname(obj), exist_ok=True)
        with open(src, "w") as f:
            f.write(f"// Written by scripts/doctests.py from {e.where()}: the crate-root\n")
            f.write("// example, each line at its line number in the source.\n")
            f.write("\n" * (e.lines[0][0] - 3 if e.lines and e.lines[0][0] > 3 else 0))
            f.write(e.code() + "\n")
        cmd = [rustc, *args, "--crate-type", "rlib", "--crate-name", f"doctest_{e.name}",
               "-Dwarnings", "-Amissing_docs", f"--emit=obj={obj}", src]
        r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        done += 1
        if r.returncode != 0:
            failed += 1
            # The generated file keeps the example's line numbers: point at the source.
            out = r.stdout.replace(src, e.path).replace(os.path.relpath(src, root), e.path)
            sys.stderr.write(out)
            print(f"doctests: {e.where()}: the crate-root example does not compile",
                  file=sys.stderr)
    if failed:
        sys.exit(1)
    print(f"doctests: {done} crate-root examples compile")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "suite" and len(sys.argv) == 4:
        examples, counts = suite(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "roots":
        roots(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "list":
        for e in collect(sys.argv[2]):
            k = e.kind
            what = {
                "run": f"runs as {SUITE}.{e.name}",
                "no_run": f"compiled, not run ({e.reason}): {SUITE}.{e.name}, skipped",
                "root": f"a crate root, compiled as a crate ({e.reason})",
                "same": f"the example of {e.same_as.where() if e.same_as else ''}",
            }[k]
            print(f"{e.where()}: {what}")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
