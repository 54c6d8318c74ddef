#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The harness's own test: `make check`'s runner must fail, say what happened, and write JUnit
# that a CI server shows red, for a flipped assertion, a WARN, a splat that does not panic, a
# guest hang and a crash; and pass a clean run. Uses tests/selftest (rust_wq_selftest.ko).
#   scripts/selftest.sh       (after `make modules`; KDIR and OUT as for qemu-run.sh)
set -euo pipefail
. "$(dirname "$0")/common.sh"
: "${KDIR:?KDIR must name the kernel build directory}"
: "${OUT:?OUT must name the module build directory}"
ko=$OUT/tests/selftest/rust_wq_selftest.ko
[ -f "$ko" ] || die "no $ko: run make modules first"

bad=0 n=0
for mode in ${SELFTEST_MODES:-0 1 2 3 4 5}; do
	logs=$OUT/selftest/mode$mode
	timeout=120
	[ $mode -eq 4 ] && timeout=40
	set +e
	out=$(EXTRA_MODULES=$ko SUITE='rust_wq_selftest*' UNLOAD_CYCLES=0 NO_SAMPLE=1 \
		QEMU_APPEND="rust_wq_selftest.mode=$mode" QEMU_TIMEOUT=$timeout LOGDIR=$logs \
		"$(dirname "$0")/qemu-run.sh" check 2>&1)
	rc=$?
	set -e
	last=$(echo "$out" | tail -n 1)
	failures=$(python3 -c 'import sys,xml.etree.ElementTree as E
try: print(E.parse(sys.argv[1]).getroot().get("failures"))
except Exception: print("none")' "$logs/junit.xml")
	case $mode in
	0) want="exit 0, '3 passed, 0 failed', JUnit failures 0"
	   ok=$([ $rc -eq 0 ] && [ "$last" = "3 passed, 0 failed" ] && [ "$failures" = 0 ] &&
		echo y || true) ;;
	*) want="non-zero exit, failures on the last line, JUnit failures > 0"
	   ok=$([ $rc -ne 0 ] && echo "$last" | grep -qE '^[0-9]+ passed, [1-9][0-9]* failed' &&
		[ "$failures" != none ] && [ "$failures" -gt 0 ] && echo y || true) ;;
	esac
	n=$((n + 1))
	if [ "${ok:-}" = y ]; then
		echo "ok $mode: exit $rc, '$last', JUnit failures $failures"
	else
		echo "FAILED $mode: wanted $want; got exit $rc, '$last', JUnit failures $failures" >&2
		echo "$out" | tail -n 15 >&2
		bad=$((bad + 1))
	fi
done
[ $bad -eq 0 ] || echo "selftest: FAILED" >&2
echo "selftest: $((n - bad)) of $n runs judged as they should be"
exit $((bad > 0))
