#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The harness's own test: `make check`'s runner must fail, say what happened, and write JUnit
# that a CI server shows red, for a flipped assertion, a WARN, a splat that does not panic, a
# guest hang and a crash, and for runs that test nothing they were asked to: a SUITE glob that
# matches no suite, an EXTRA_MODULES module none of whose suites matches it, and one that holds
# no suite; and pass a clean run. Uses tests/selftest (rust_wq_selftest.ko, rust_wq_nosuite.ko).
#   scripts/selftest.sh       (after `make modules`; KDIR and OUT as for qemu-run.sh)
#   SELFTEST_MODES="0 nosuite" scripts/selftest.sh    (some of the runs only)
set -euo pipefail
. "$(dirname "$0")/common.sh"
: "${KDIR:?KDIR must name the kernel build directory}"
: "${OUT:?OUT must name the module build directory}"
ko=$OUT/tests/selftest/rust_wq_selftest.ko
nosuite=$OUT/tests/selftest/rust_wq_nosuite.ko
for m in "$ko" "$nosuite"; do
	[ -f "$m" ] || die "no $m: run make modules first"
done

bad=0 n=0
for mode in ${SELFTEST_MODES:-0 1 2 3 4 5 nomatch extra-nomatch nosuite}; do
	logs=$OUT/selftest/mode$mode
	timeout=120
	[ "$mode" = 4 ] && timeout=40
	# Modes 0-5: the selftest module fails one way each (its `mode` parameter). The others pass
	# it clean and ask for a test that is not there; `why` is the line the run must print.
	extra=$ko suite='rust_wq_selftest*' param=$mode why=""
	case $mode in
	nomatch) extra="" suite='rust_wq_misspelt*' param=0
		why="SUITE=rust_wq_misspelt\* matches no KUnit suite of the modules under test \(rust_wq_kunit: rust_wq_" ;;
	extra-nomatch) suite='rust_wq_selftset*' param=0
		why="EXTRA_MODULES: rust_wq_selftest ran no test: no suite of it matches SUITE=rust_wq_selftset\* \(its suites: rust_wq_selftest\)" ;;
	nosuite) extra="$ko $nosuite" param=0
		why="EXTRA_MODULES: rust_wq_nosuite ran no test: rust_wq_nosuite.ko holds no KUnit suite" ;;
	esac
	set +e
	out=$(EXTRA_MODULES=$extra SUITE=$suite UNLOAD_CYCLES=0 NO_SAMPLE=1 \
		QEMU_APPEND="rust_wq_selftest.mode=$param" QEMU_TIMEOUT=$timeout LOGDIR=$logs \
		"$(dirname "$0")/qemu-run.sh" check 2>&1)
	rc=$?
	set -e
	last=$(echo "$out" | tail -n 1)
	failures=$(python3 -c 'import sys,xml.etree.ElementTree as E
try: print(E.parse(sys.argv[1]).getroot().get("failures"))
except Exception: print("none")' "$logs/junit.xml")
	ok=""
	if [ "$mode" = 0 ]; then
		want="exit 0, '3 passed, 0 failed', JUnit failures 0"
		if [ $rc -eq 0 ] && [ "$last" = "3 passed, 0 failed" ] && [ "$failures" = 0 ]; then
			ok=y
		fi
	else
		want="non-zero exit, failures on the last line, JUnit failures > 0"
		[ -z "$why" ] || want="$want, a line \"rust_wq: $why\""
		if [ $rc -ne 0 ] && echo "$last" | grep -qE '^[0-9]+ passed, [1-9][0-9]* failed' &&
			[ "$failures" != none ] && [ "$failures" -gt 0 ] &&
			{ [ -z "$why" ] || echo "$out" | grep -qE "^rust_wq: $why"; }; then
			ok=y
		fi
	fi
	n=$((n + 1))
	if [ -n "$ok" ]; then
		echo "ok $mode: exit $rc, '$last', JUnit failures $failures${why:+, says why}"
	else
		echo "FAILED $mode: wanted $want; got exit $rc, '$last', JUnit failures $failures" >&2
		echo "$out" | tail -n 15 >&2
		bad=$((bad + 1))
	fi
done
[ $bad -eq 0 ] || echo "selftest: FAILED" >&2
echo "selftest: $((n - bad)) of $n runs judged as they should be"
exit $((bad > 0))
