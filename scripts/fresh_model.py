#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The fresh machine that scripts/fresh-check.sh simulates, worked out from this machine's dpkg
database: a minimal Debian 12 (the packages of priority `required` or `Essential: yes`, as in
`debootstrap --variant=minbase` or the `debian:12` image) plus the packages named on the command
line (`make`, to type the entry points) and their dependencies. Every other installed package is
"covered": its commands in /usr/bin and /usr/sbin are absent until the simulated `apt-get
install` installs it.

usage: fresh_model.py DIR [BASELINE_PACKAGE...]
Writes into DIR:
  present      the entries of /usr/bin and /usr/sbin a fresh machine has (one path a line): owned
               by a baseline package, or symbolic links of no package (the alternatives' links,
               dangling while what they point to is absent)
  absent       all the others: owned by covered packages only, or files of no package
  pkg/P.deps   for each covered package P: P and the covered packages apt would install with it
               (Pre-Depends and Depends, recursively; an alternative already installed counts)
  pkg/P.files  the entries of `absent` that P owns
  summary      one line of figures
"""
import os
import re
import subprocess
import sys

out_dir, *allowed = sys.argv[1:]
fields = "${Package}\t${Architecture}\t${Priority}\t${Essential}\t${Pre-Depends}, ${Depends}" \
    "\t${Provides}\t${db:Status-Abbrev}\n"
rows = subprocess.run(["dpkg-query", "-W", "-f=" + fields], check=True, capture_output=True,
                      text=True).stdout.splitlines()
pkgs = {}  # name -> (required or essential, dependency text, list files)
providers = {}
for row in rows:
    name, arch, prio, essential, deps, provides, status = row.split("\t")
    if not status.startswith("ii"):
        continue
    base, old_deps, lists = pkgs.get(name, (False, "", []))
    lists.append(f"/var/lib/dpkg/info/{name}:{arch}.list")
    lists.append(f"/var/lib/dpkg/info/{name}.list")
    pkgs[name] = (base or prio == "required" or essential == "yes", old_deps + ", " + deps, lists)
    for p in provides.split(","):
        p = p.strip().split(" ")[0]
        if p:
            providers.setdefault(p, []).append(name)


def depends(name):
    """The installed packages that satisfy each dependency of `name` (the first alternative
    installed, as apt would have chosen then)."""
    found = []
    for clause in pkgs[name][1].split(","):
        for alt in clause.split("|"):
            alt = re.sub(r"\(.*?\)|\[.*?\]|<.*?>", "", alt).strip().split(":")[0]
            hits = [alt] if alt in pkgs else providers.get(alt, [])
            if hits:
                found += hits
                break
    return found


def closure(names):
    seen, todo = set(names), list(names)
    while todo:
        for d in depends(todo.pop()):
            if d not in seen:
                seen.add(d)
                todo.append(d)
    return seen


baseline = closure([n for n, v in pkgs.items() if v[0]] + [a for a in allowed if a in pkgs])
owners = {}  # path as dpkg lists it -> packages
for name, (_, _, lists) in pkgs.items():
    for lst in lists:
        if not os.path.exists(lst):
            continue
        for line in open(lst, errors="replace"):
            owners.setdefault(line.rstrip("\n"), set()).add(name)

present, absent, files = [], [], {}
for d in ("/usr/bin", "/usr/sbin"):
    for entry in sorted(os.listdir(d)):
        path = os.path.join(d, entry)
        # merged /usr: dpkg may list the entry under /bin or /sbin
        own = owners.get(path, set()) | owners.get("/" + os.path.relpath(path, "/usr"), set())
        if own & baseline or (not own and os.path.islink(path)):
            present.append(path)
            continue
        absent.append(path)
        for name in own:
            files.setdefault(name, []).append(path)

os.makedirs(os.path.join(out_dir, "pkg"), exist_ok=True)
for what, paths in (("present", present), ("absent", absent)):
    with open(os.path.join(out_dir, what), "w") as f:
        f.write("".join(p + "\n" for p in paths))
hidden = set(pkgs) - baseline
for name in hidden:
    with open(os.path.join(out_dir, "pkg", name + ".deps"), "w") as f:
        f.write("".join(d + "\n" for d in sorted(closure([name]) & hidden)))
    with open(os.path.join(out_dir, "pkg", name + ".files"), "w") as f:
        f.write("".join(p + "\n" for p in sorted(files.get(name, []))))
unowned = len(absent) - len({p for ps in files.values() for p in ps})
with open(os.path.join(out_dir, "summary"), "w") as f:
    f.write(f"{len(baseline)} packages of a minimal Debian 12 with {' '.join(allowed)} kept; "
            f"{len(hidden)} installed packages covered; {len(present)} entries of /usr/bin and "
            f"/usr/sbin present, {len(absent)} absent ({unowned} of no package)\n")
