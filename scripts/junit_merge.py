#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Merges kunit.py's JUnit files (one per KTAP document) into one file that a CI server shows
red whenever `make check` fails: each document's suite is named after it, a crashed case with no
name gets one, and kernel splats, cases that never reported and tests asked for that never ran
are failures of their own.

usage: junit_merge.py OUT SPLATS_FILE MISSING_FILE NOTEST_FILE DOC.junit.xml...
  SPLATS_FILE: the splat lines (empty file: none); MISSING_FILE: lines "doc cases suites";
  NOTEST_FILE: why a module or SUITE glob asked for ran no test, or the run none (empty: ran).
"""
import sys
import xml.etree.ElementTree as ET

out, splats_file, missing_file, notest_file, *docs = sys.argv[1:]
root = ET.Element("testsuites", name="rust_wq")
for path in docs:
    name = path.rsplit("/", 1)[-1].removesuffix(".junit.xml")
    try:
        top = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        top = ET.Element("testsuite")
        case = ET.SubElement(top, "testcase", name="results")
        ET.SubElement(case, "error", message=f"kunit.py wrote no results: {e}")
    top.set("name", name)
    for suite in top.iter("testsuite"):
        previous = "start"
        for case in suite.findall("testcase"):
            if not case.get("name"):
                case.set("name", f"crashed after {previous}")
            previous = case.get("name")
    root.append(top)

harness = ET.SubElement(root, "testsuite", name="rust_wq_harness")
splats = [l.rstrip("\n") for l in open(splats_file) if l.strip()]
if splats:
    case = ET.SubElement(harness, "testcase", name="no_kernel_splat")
    ET.SubElement(case, "failure", message=f"{len(splats)} splat lines in the console log")
    ET.SubElement(case, "system-out").text = "\n".join(splats)
else:
    ET.SubElement(harness, "testcase", name="no_kernel_splat")
for line in open(missing_file):
    doc, cases, suites = line.split()
    case = ET.SubElement(harness, "testcase", name=f"{doc}_reported_every_planned_case")
    if int(cases) or int(suites):
        ET.SubElement(case, "failure",
                      message=f"{cases} planned cases and {suites} suites never reported")
notest = [l.rstrip("\n") for l in open(notest_file) if l.strip()]
case = ET.SubElement(harness, "testcase", name="requested_tests_ran")
if notest:
    ET.SubElement(case, "failure", message="; ".join(notest))
fails = sum(1 for c in root.iter("testcase") if c.find("failure") is not None or c.find("error") is not None)
root.set("tests", str(sum(1 for _ in root.iter("testcase"))))
root.set("failures", str(fails))
ET.indent(root)
ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
