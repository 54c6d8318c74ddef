#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Names the KUnit suites a module holds, read from its .ko without loading it: prints one line
"<module file> <suite> <suite>..." for each argument ("<module file>" alone: no suite), or
"<module file> ?" when the file cannot be read that way.

A suite is a `struct kunit_suite` (its first field, `name`, is a char array) that the module's
`.kunit_test_suites` section points to; in a relocatable .ko those pointers are relocations,
each naming a symbol and an addend into the section that holds the suite.
"""
import struct
import sys


def suites(path):
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF" or elf[4] != 2 or elf[5] != 1:
        raise ValueError("not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", elf, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + i * shentsize) for i in range(shnum)]
    strtab_off = sections[shstrndx][4]

    def name_at(off, at):
        return elf[off + at:elf.index(b"\0", off + at)].decode(errors="replace")

    names = [name_at(strtab_off, s[0]) for s in sections]
    if ".kunit_test_suites" not in names:
        return []
    target = names.index(".kunit_test_suites")
    found = []
    for s in sections:
        # SHT_RELA (4) entries applying to the suites' section, symbols from s[6] (sh_link).
        if s[1] != 4 or s[7] != target:
            continue
        symtab = sections[s[6]]
        for off in range(s[4], s[4] + s[5], 24):
            _, info, addend = struct.unpack_from("<QQq", elf, off)
            _, _, _, shndx, value, _ = struct.unpack_from("<IBBHQQ", elf, symtab[4] + (info >> 32) * 24)
            holder = sections[shndx]
            if holder[1] == 8:  # SHT_NOBITS: nothing to read
                raise ValueError("a suite in a section without contents")
            at = holder[4] + value + addend
            found.append(elf[at:elf.index(b"\0", at, at + 256)].decode(errors="replace"))
    return found


for path in sys.argv[1:]:
    try:
        print(" ".join([path] + suites(path)))
    except (OSError, ValueError, IndexError, struct.error):
        print(path, "?")
