#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots the rust_wq modules under QEMU (TCG, -smp $SMP with maxcpus=$SMP-1: all CPUs but the last
# online, the last possible but offline; SMP=5 by default) from a busybox initramfs and judges the run.
#
#   scripts/qemu-run.sh check   load the KUnit modules and the sample's checks; parse every KTAP
#                               document with the kernel's own kunit.py; last line "N passed, N failed"
#   scripts/qemu-run.sh run     load the sample driver and run its userspace client in demo mode
#   scripts/qemu-run.sh bench   load the benchmark module (use the kernel without debug options)
#   scripts/qemu-run.sh stress  the torture suite's modules, then load/unload cycles
#
# Environment: KDIR (kernel build dir, required), OUT (module build dir, required),
# QEMU_ACCEL=tcg|kvm (kvm only on hosts where it really works), QEMU_NUMA (two NUMA nodes), QEMU_TIMEOUT (seconds, 900),
# LOGDIR (default $OUT/logs), UNLOAD_CYCLES (check: loads and unloads of the module left with
# work pending everywhere, 100; 0 skips them; stress: those and as many of the sample driver
# with its interrupts in flight), EDU_FAILSLAB (stress: loads of the sample driver with their
# n-th allocation failing, n = 1 to this, 0), SUITE (check: KUnit suites to run, a glob for
# kunit.filter_glob), QEMU_APPEND (more kernel parameters), VERBOSE=1 (stream the console: every
# line from the start of the run on, what the modules under test print included),
# EXTRA_MODULES (check: more KUnit .ko files to load and judge like ours; each must run a test,
# as a SUITE glob must match a suite), NO_SAMPLE=1 (check:
# skip the sample driver's checks), BOOT_TIMEOUT (seconds to reach /init before one reboot, 90),
# STALL_TIMEOUT (seconds without the guest's heartbeat before one rerun, 90), SMP (vCPUs, 5; 3 to 16:
# the kernel is built for 16; the last is offline at boot, the tests take each of the others
# but CPU 0 down and up; QEMU_TIMEOUT, BOOT_TIMEOUT and STALL_TIMEOUT grow with it).
# QEMU's options are comma lists, not misspelt arrays:
# shellcheck disable=SC2054
set -euo pipefail
. "$(dirname "$0")/common.sh"

MODE=${1:-check}
: "${KDIR:?KDIR must name the kernel build directory}"
: "${OUT:?OUT must name the module build directory}"
QEMU_ACCEL=${QEMU_ACCEL:-tcg}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-900}
LOGDIR=${LOGDIR:-$OUT/logs}
KSRC_OF_KDIR=$KDIR
[ -e "$KDIR/source" ] && KSRC_OF_KDIR=$(readlink -f "$KDIR/source")
KUNIT_PY=$KSRC_OF_KDIR/tools/testing/kunit/kunit.py
# What differs between the architectures (ARCH=, scripts/common.sh): the kernel image, QEMU and
# its machine, the console, the guest's heartbeat port, busybox and the compiler of the guest's
# own programs. arm64 runs on QEMU's virt machine with a GICv3 (its ITS delivers the edu
# device's MSIs) and a PL011 console; the heartbeat goes to a 16550 on the PCI bus, the virt
# machine having no second UART.
if [ "$RUST_WQ_ARCH" = arm64 ]; then
	IMAGE_DEFAULT=$KDIR/arch/arm64/boot/Image
	QEMU_BIN=qemu-system-aarch64
	QEMU_PKG=qemu-system-arm
	CONSOLE=ttyAMA0
	HEARTBEAT_TTY=/dev/ttyS0
	GUEST_CC=${CROSS_COMPILE:-}gcc
else
	IMAGE_DEFAULT=$KDIR/arch/x86/boot/bzImage
	QEMU_BIN=qemu-system-x86_64
	QEMU_PKG=qemu-system-x86
	CONSOLE=ttyS0
	HEARTBEAT_TTY=/dev/ttyS1
	GUEST_CC=cc
fi
# Another kernel image than the build's own: a distribution's, for modules built against a
# build directory prepared for it (scripts/distro.sh).
BZIMAGE=${BZIMAGE:-$IMAGE_DEFAULT}

[ -f "$BZIMAGE" ] || die "no kernel image at $BZIMAGE"
command -v "$QEMU_BIN" >/dev/null || die "$QEMU_BIN is missing ($QEMU_PKG): run scripts/setup.sh apt"
if [ "$RUST_WQ_ARCH" = arm64 ]; then
	# Debian's arm64 busybox-static, unpacked into the cache by the set-up.
	BUSYBOX=$BUSYBOX_ARM64
	[ -x "$BUSYBOX" ] || die "no arm64 busybox at $BUSYBOX: run ARCH=arm64 scripts/setup.sh apt"
else
	# Found through PATH like every other tool, so that a machine without it fails here, by name.
	BUSYBOX=$(command -v busybox || true)
	[ -n "$BUSYBOX" ] || die "busybox is missing (Debian: busybox-static): run scripts/setup.sh apt"
fi

mkdir -p "$LOGDIR"
# Results are written fresh: no earlier run's passing files may stay next to a failing run's.
rm -f "$LOGDIR"/*.json "$LOGDIR"/*.junit.xml "$LOGDIR"/*.parse.log "$LOGDIR"/junit.xml \
	"$LOGDIR"/*.stalled
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The run's settings for the guest's scripts (scripts/guest/: /init and the bin/ scripts).
{
	echo "MODE=$MODE"
	echo "UNLOAD_CYCLES=${UNLOAD_CYCLES:-100}"
	echo "NO_SAMPLE=${NO_SAMPLE:-}"
	echo "EDU_FAILSLAB=${EDU_FAILSLAB:-0}"
	echo "HEARTBEAT=$HEARTBEAT_TTY"
} >"$WORK/rust_wq.conf"
KERNEL_ARGS=""
[ -n "${SUITE:-}" ] && KERNEL_ARGS="kunit.filter_glob=$SUITE"
[ -n "${QEMU_APPEND:-}" ] && KERNEL_ARGS="$KERNEL_ARGS $QEMU_APPEND"

# --- initramfs -----------------------------------------------------------------------------
# The guest's /init and scripts, as they are in scripts/guest/.
GUEST=$(cd "$(dirname "$0")/guest" && pwd)
# The modules of the last build (kbuild's list), not whatever .ko files an older build left.
[ -f "$OUT/modules.order" ] || die "no modules under $OUT: run make first"
modules=$(sed -n "s,^\(.*\)\.o\$,$OUT/\1.ko,p" "$OUT/modules.order" | sort)
for m in $modules; do
	[ -f "$m" ] || die "$m is in $OUT/modules.order but was not built: run make first"
done
[ -n "$modules" ] || die "no modules under $OUT: run make first"
if [ "$MODE" = stress ] && ! echo "$modules" | grep -q '/tests/stress/rust_wq_stress\.ko$'; then
	die "the torture module was not built (tests/stress needs a kernel with KUnit)"
fi
# The KUnit modules this run loads and judges: ours of the mode, and EXTRA_MODULES (check only).
# Each must report at least one test; their suites, read from the .ko files, name what a SUITE
# glob could have matched.
kunit_kos=()
for m in $modules; do
	case "$m" in
	*/tests/selftest/* | */tests/unload/* | */tests/unwrapped/*) ;;
	*/tests/stress/*) [ "$MODE" != stress ] || kunit_kos+=("$m") ;;
	*/tests/*) [ "$MODE" != check ] || kunit_kos+=("$m") ;;
	esac
done
extra_names=()
for m in ${EXTRA_MODULES:-}; do
	[ -f "$m" ] || die "EXTRA_MODULES: no such file $m"
	[ "$MODE" = check ] || die "EXTRA_MODULES: only make check loads them (this is mode $MODE)"
	kunit_kos+=("$m")
	extra_names+=("$(basename "$m" .ko)")
done
: >"$WORK/suites"
[ ${#kunit_kos[@]} -eq 0 ] ||
	python3 "$(dirname "$0")/ko_suites.py" "${kunit_kos[@]}" >"$WORK/suites" || true

# The guest's insmod loads once per call (busybox's loads again when the first load fails), and
# is called by its path: busybox's shell runs its own applet for a bare `insmod`.
"$GUEST_CC" -static -O2 -Wall -Wextra -Werror -o "$WORK/insmod" "$(dirname "$0")/insmod.c" ||
	die "could not build the guest's insmod from scripts/insmod.c"

{
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	for d in /bin /sbin /etc /proc /sys /tmp /lib /lib/modules /lib/modules/rust_wq \
		/lib/modules/rust_wq/tests /lib/modules/rust_wq/unload /lib/modules/rust_wq/unwrapped \
		/lib/modules/rust_wq/samples \
		/lib/modules/rust_wq/bench /lib/modules/rust_wq/stress; do
		echo "dir $d 0755 0 0"
	done
	echo "file /bin/busybox $BUSYBOX 0755 0 0"
	echo "file /bin/insmod $WORK/insmod 0755 0 0"
	for a in sh mount rmmod poweroff echo cat ls sleep grep dmesg basename mkdir tr sed \
		sort head tail wc; do
		echo "slink /bin/$a /bin/busybox 0777 0 0"
	done
	echo "file /init $GUEST/init 0755 0 0"
	for r in run-check run-run run-bench run-stress mark run-module ktap-suite unload-cycles \
		wait-unloaded edu-unload edu-failslab unwrapped; do
		echo "file /bin/$r $GUEST/$r 0755 0 0"
	done
	echo "file /etc/rust_wq.conf $WORK/rust_wq.conf 0644 0 0"
	for m in $modules; do
		case "$m" in
		*/tests/selftest/*) continue ;;
		*/tests/unload/*) sub=unload ;;
		*/tests/unwrapped/*) sub=unwrapped ;;
		*/tests/stress/*) sub=stress ;;
		*/tests/*) sub=tests ;;
		*/bench/*) sub=bench ;;
		*) sub=samples ;;
		esac
		echo "file /lib/modules/rust_wq/$sub/$(basename "$m") $m 0644 0 0"
	done
	# Other KUnit modules to run like ours (a driver author's, or the harness's self-test).
	for m in ${EXTRA_MODULES:-}; do
		echo "file /lib/modules/rust_wq/tests/$(basename "$m") $(readlink -f "$m") 0644 0 0"
	done
	for b in "$OUT"/userspace/*; do
		[ -x "$b" ] && echo "file /bin/$(basename "$b") $b 0755 0 0"
	done
	true
} >"$WORK/initramfs.list"

GEN_CPIO=$KDIR/usr/gen_init_cpio
if [ ! -x "$GEN_CPIO" ]; then
	# A build directory prepared for modules only (modules_prepare) has no initramfs tool.
	GEN_CPIO=$WORK/gen_init_cpio
	cc -O2 -o "$GEN_CPIO" "$KSRC_OF_KDIR/usr/gen_init_cpio.c" ||
		die "could not build gen_init_cpio from $KSRC_OF_KDIR/usr"
fi
"$GEN_CPIO" "$WORK/initramfs.list" | gzip -1 >"$WORK/initramfs.cpio.gz"

# --- boot ------------------------------------------------------------------------------------
LOG=$LOGDIR/$MODE.log
accel=(-accel tcg)
[ "$QEMU_ACCEL" = kvm ] && accel=(-accel kvm -cpu host)
# Distribution kernels patch their own text with int3 breakpoints (static keys, alternatives)
# while other CPUs run it, which QEMU's multi-threaded TCG gets wrong ("Oops: int3" at boot,
# seen in sched_clock_cpu with Debian's 7.3): one thread for all vCPUs then.
[ "$QEMU_ACCEL" = tcg ] && [ -n "${QEMU_TCG_SINGLE:-}" ] && accel=(-accel tcg,thread=single)
# Benchmarks count instructions: one vCPU thread, and one guest nanosecond per instruction.
[ "$MODE" = bench ] && accel=(-accel tcg,thread=single -icount shift=0,sleep=off)
# A slower machine, to show that no verdict depends on speed: QEMU_TASKSET=<host CPUs> runs
# QEMU on those host CPUs only (SLOW=1: QEMU_TASKSET=0, every vCPU on one host core);
# QEMU_ICOUNT=<shift> gives each guest instruction 2^shift ns of guest time (one TCG thread for
# all vCPUs, as icount needs); QEMU_EXTRA=<arguments> goes on QEMU's command line as it is.
[ -n "${SLOW:-}" ] && [ "${SLOW}" != 0 ] && QEMU_TASKSET=${QEMU_TASKSET:-0}
taskset=()
[ -n "${QEMU_TASKSET:-}" ] && taskset=(taskset -c "$QEMU_TASKSET")
slow=()
if [ -n "${QEMU_ICOUNT:-}" ] && [ "$MODE" != bench ]; then
	accel=(-accel tcg,thread=single)
	slow=(-icount "shift=$QEMU_ICOUNT")
fi
# shellcheck disable=SC2206 # QEMU_EXTRA is a list of arguments, split on blanks.
slow+=(${QEMU_EXTRA:-})
# QEMU_TIMEOUT only ends a hung guest: a slowed one gets three times as long.
[ ${#taskset[@]} -gt 0 ] || [ -n "${QEMU_ICOUNT:-}" ] && QEMU_TIMEOUT=$((QEMU_TIMEOUT * 3))
# Under TCG the guest very rarely stops for good (seen at the switch to the TSC clocksource
# during boot, twice in about 50 boots, and once mid-run: its clock stood still). A guest that
# has not started /init within BOOT_TIMEOUT seconds, or whose user space stopped beating for
# STALL_TIMEOUT seconds, is run once more, and the output says so. A guest that hangs in the
# kernel still beats: only QEMU_TIMEOUT ends it, and the run fails.
# QEMU_NUMA=1: two NUMA nodes (the lower and the upper half of the CPUs, half the memory each;
# CPUs 0-2 and 3-4 by default), for kernels with CONFIG_NUMA.
# One socket per CPU then: a package split across nodes makes the kernel warn.
SMP=${SMP:-5}
case $SMP in
'' | *[!0-9]*) die "SMP=$SMP: give a number of vCPUs from 3 to 16" ;;
esac
{ [ "$SMP" -ge 3 ] && [ "$SMP" -le 16 ]; } || die "SMP=$SMP: give a number of vCPUs from 3 to 16 (the kernel is built with CONFIG_NR_CPUS=16; CPU 0 and one more stay online while the tests take others down, and the last is offline at boot)"
maxcpus=$((SMP - 1))
smp=$SMP
# Memory for the guest: the debug kernel's per-CPU areas and workers grow with the CPUs.
mem=512
[ "$SMP" -gt 8 ] && mem=1024
numa=()
half=$(((SMP + 1) / 2))
[ -n "${QEMU_NUMA:-}" ] && smp=$SMP,sockets=$SMP,cores=1,threads=1 && numa=(-object memory-backend-ram,id=m0,size=$((mem / 2))M
	-object memory-backend-ram,id=m1,size=$((mem / 2))M
	-numa node,nodeid=0,cpus=0-$((half - 1)),memdev=m0 -numa node,nodeid=1,cpus="$half"-$((SMP - 1)),memdev=m1)
# More vCPUs than host cores under TCG: each of them runs slower; the watchdogs that end a hung
# or stopped guest wait in proportion (a verdict never depends on them).
scale=$(((SMP + 4) / 5))
QEMU_TIMEOUT=$((QEMU_TIMEOUT * scale))
# The workqueue watchdog reports a pool that made no progress for 20 s. With 16 vCPUs on two
# host cores, one `make stress` saw a per-CPU pool wait 22 s (its idle worker runnable, its CPU
# running a torture closure on an unbound worker); the pool then went on and every item ran
# exactly once. The threshold grows with the vCPUs, as the other watchdogs do: a hang still
# trips it.
wq_thresh=$((20 * scale))
BOOT_TIMEOUT=$((${BOOT_TIMEOUT:-90} * scale))
STALL_TIMEOUT=$((${STALL_TIMEOUT:-90} * scale))
if [ "$RUST_WQ_ARCH" = arm64 ]; then
	# -cpu max with QEMU's own pointer-authentication algorithm: the architected one (QARMA)
	# costs TCG much time at every signed return of a kernel built with pointer
	# authentication (a distribution's; the test kernel has none).
	cpu=(-cpu max,pauth-impdef=on)
	[ "$QEMU_ACCEL" = kvm ] && cpu=()
	machine=(-machine virt,gic-version=3 "${cpu[@]}" -nic none -nographic -no-reboot -monitor none
		-serial stdio -chardev "file,id=heartbeat,path=$WORK/heartbeat"
		-device pci-serial,chardev=heartbeat)
else
	machine=(-machine pc -bios qboot.rom -nographic -no-reboot -monitor none -serial stdio
		-serial "file:$WORK/heartbeat")
fi
boot() {
	: >"$WORK/heartbeat"
	rm -f "$WORK/stalled"
	timeout --foreground -k 5 "$QEMU_TIMEOUT" "${taskset[@]}" "$QEMU_BIN" "${accel[@]}" "${slow[@]}" \
		-smp "$smp" -m ${mem}M "${numa[@]}" "${machine[@]}" \
		-device edu -kernel "$BZIMAGE" -initrd "$WORK/initramfs.cpio.gz" \
		-append "console=$CONSOLE printk.time=1 printk.devkmsg=on maxcpus=$maxcpus panic=-1 oops=panic panic_on_warn=1 rdinit=/init kfence.sample_interval=10 workqueue.watchdog_thresh=$wq_thresh $KERNEL_ARGS" \
		</dev/null >"$LOG" 2>&1 &
	qpid=$!
	local waited=0
	while kill -0 $qpid 2>/dev/null && ! grep -q 'Run /init as init process' "$LOG"; do
		sleep 1
		waited=$((waited + 1))
		if [ $waited -ge "$BOOT_TIMEOUT" ]; then
			kill $qpid 2>/dev/null
			wait $qpid
			return 125
		fi
	done
	if [ "$MODE" != bench ]; then
		# The stall watch: no heartbeat for STALL_TIMEOUT seconds means the guest stopped.
		(
			last=-1 same=0
			while kill -0 $qpid 2>/dev/null; do
				sleep 5
				now=$(stat -c %s "$WORK/heartbeat" 2>/dev/null || echo 0)
				if [ "$now" = "$last" ]; then same=$((same + 5)); else same=0 last=$now; fi
				if [ $same -ge "$STALL_TIMEOUT" ]; then
					touch "$WORK/stalled"
					kill $qpid 2>/dev/null
					break
				fi
			done
		) &
	fi
	if [ "$MODE" = run ] || [ "$MODE" = bench ] || [ -n "${VERBOSE:-}" ]; then
		# Show what the modules and the client print, not the whole boot log; with VERBOSE=1,
		# every line from the start of the run on (a module under test may print anything).
		tail -n +1 --pid=$qpid -f "$LOG" | tr -d '\r' | awk -v all="${VERBOSE:+1}" '
			all && started { print; fflush(); next }
			/rust_wq-marker: start / { started = 1 }
			/rust_wq|WARNING:|BUG:|Oops|Kernel panic/ { print; fflush(); next }
			/^\[ *[0-9]+\.[0-9]+\] / || /^(SeaBIOS|qboot|Booting)/ || /^[[:space:]]*$/ { next }
			{ print; fflush() }' || true
	fi
	wait $qpid
	local rc=$?
	[ -f "$WORK/stalled" ] && return 126
	return $rc
}
slowed=""
[ ${#taskset[@]} -gt 0 ] && slowed="$slowed, ${taskset[*]}"
[ ${#slow[@]} -gt 0 ] && slowed="$slowed, ${slow[*]}"
step "booting QEMU ($QEMU_ACCEL, $maxcpus of $SMP CPUs online, mode $MODE$slowed); console log: $LOG"
# What the run's figures depend on: the host, its load, and how QEMU ran (scripts/stress_figures.py
# names them next to the figures).
RUN_ENV=$LOGDIR/$MODE.env
{
	echo "host_nproc=$(nproc)"
	echo "host_cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "host_mhz=$(sed -n 's/^cpu MHz[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
	echo "host_load_start=$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "qemu_version=$("$QEMU_BIN" --version | head -n 1)"
	echo "qemu=${taskset[*]}${taskset:+ }$QEMU_BIN ${accel[*]} ${slow[*]}${slow:+ }-smp $smp"
	echo "append=maxcpus=$maxcpus workqueue.watchdog_thresh=$wq_thresh $KERNEL_ARGS"
	echo "commit=$(git -C "$(dirname "$0")/.." describe --always --dirty 2>/dev/null || echo unknown)"
	echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
} >"$RUN_ENV"
t_start=$SECONDS
set +e
boot
qrc=$?
if [ $qrc -eq 125 ] || [ $qrc -eq 126 ]; then
	mv "$LOG" "$LOG.stalled"
	retried="the first boot was cut short (status $qrc) and run again"
	if [ $qrc -eq 125 ]; then
		step "the guest did not reach /init within ${BOOT_TIMEOUT}s (log: $LOG.stalled): booting again"
	else
		step "the guest stopped (no heartbeat for ${STALL_TIMEOUT}s; log: $LOG.stalled): running again"
	fi
	boot
	qrc=$?
	[ $qrc -eq 125 ] || [ $qrc -eq 126 ] && qrc=124
fi
set -e
[ $qrc -eq 124 ] && step "QEMU did not exit within ${QEMU_TIMEOUT}s: killed"

# --- verdict ---------------------------------------------------------------------------------
fail=0
complain() {
	echo "rust_wq: $*" >&2
	echo "$*" | head -3 >>"$WORK/complaints"
	fail=1
}
[ $qrc -eq 0 ] || complain "QEMU exited with status $qrc"
grep -q 'rust_wq-marker: end' "$LOG" || complain "the guest did not reach the end of its script"
grep -q 'rust_wq-marker: \(insmod\|rmmod\)-failed' "$LOG" &&
	complain "$(grep -o 'rust_wq-marker: \(insmod\|rmmod\)-failed.*' "$LOG" | tr -d '\r' | head -3)"
# Splats anywhere fail the run; the deprecation notice only counts once our modules load (an
# in-tree boot-time suite triggers it before).
# Headers only: a stack frame's name (seqcount_lockdep_reader_access) is no splat.
SPLAT_HEADERS='WARNING:|BUG:|sleeping function called|scheduling while atomic|INFO: task .* blocked|Oops|Kernel panic|general protection fault|possible recursive locking|possible circular locking|inconsistent lock state|DEBUG_LOCKS_WARN_ON|bad unlock balance|held lock freed|lockdep is turned off|ODEBUG|KFENCE:|workqueue lockup|blocked for more than|UBSAN|list_add corruption|list_del corruption|cannot create duplicate'
# A hung-task report of the KUnit runner (insmod waiting for a long case) is none: see
# runner_waits.py.
python3 "$(dirname "$0")/runner_waits.py" "$LOG" >"$WORK/splat-scan.log" 2>"$WORK/runner-waits"
[ -s "$WORK/runner-waits" ] && step "not splats: $(cat "$WORK/runner-waits")"
splats=$({
	grep -n -E "$SPLAT_HEADERS|Call [Tt]race:" "$WORK/splat-scan.log" |
		grep -v -E 'ODEBUG: selftest|KFENCE: initialized|Lock dependency validator|RCU lockdep checking'
	sed -n '/rust_wq-marker:/,$p' "$LOG" | grep -E 'enqueued on deprecated workqueue'
} || true)
# One per header; a stack dump without a header of its own counts once.
nsplats=$(echo "$splats" | grep -c -E "$SPLAT_HEADERS|deprecated workqueue" || true)
[ -n "$splats" ] && [ "$nsplats" -eq 0 ] && nsplats=1
[ -z "$splats" ] || complain "kernel splat in the console log:
$(echo "$splats" | head -20)"

# No false pass: a run that ran no test, or no test of a module or SUITE glob asked for, fails
# with a line saying so (and a failed case in the JUnit file).
: >"$WORK/notest"
no_test() {
	complain "$*"
	echo "$*" >>"$WORK/notest"
}
# The suites module $1 holds, from its .ko ("?" when they could not be read).
suites_of() {
	awk -v n="$1" '{ f = $1; sub(/.*\//, "", f); sub(/\.ko$/, "", f) }
		f == n { $1 = ""; sub(/^ +/, ""); print; exit }' "$WORK/suites"
}
is_extra() {
	local e
	for e in "${extra_names[@]}"; do [ "$e" = "$1" ] && return 0; done
	return 1
}
total_pass=0 total_fail=0 total_skip=0 total_missing=0 suites_missing=0
if [ "$MODE" = check ] || [ "$MODE" = stress ]; then
	docs=$(grep -o 'rust_wq-marker: ktap-begin [A-Za-z0-9_.-]*' "$LOG" | awk '{print $3}' | tr -d '\r' || true)
	[ -n "$docs" ] || complain "no KTAP document in the console log"
	: >"$WORK/ran"
	for d in $docs; do
		slice=$WORK/$d.ktap
		sed -n "/rust_wq-marker: ktap-begin $d\b/,/rust_wq-marker: ktap-end $d\b/p" "$LOG" >"$slice"
		if is_extra "$d" && ! grep -q 'KTAP version' "$slice"; then
			# Loaded, and no suite of it ran: judged below with the others asked for.
			docs=$(echo "$docs" | grep -vx "$d" || true)
			continue
		fi
		if [ -n "${SUITE:-}" ] && ! grep -q 'KTAP version' "$slice"; then
			echo "rust_wq: $d: no suite matches SUITE=$SUITE" >&2
			docs=$(echo "$docs" | grep -vx "$d" || true)
			continue
		fi
		json=$LOGDIR/$d.json
		rm -f "$json"
		(cd "$(dirname "$KUNIT_PY")" &&
			python3 "$KUNIT_PY" parse --json="$json" --junit="$LOGDIR/$d.junit.xml" "$slice") \
			>"$LOGDIR/$d.parse.log" 2>&1 ||
			complain "kunit.py parse: $d did not pass (see $LOGDIR/$d.parse.log): $(grep -E 'ERROR|FAILED|CRASHED|no tests run' "$LOGDIR/$d.parse.log" | sed 's/\x1b\[[0-9;]*m//g' | head -2 | paste -sd'|')"
		grep -E '\[(PASSED|FAILED|CRASHED|SKIPPED)\]|Testing complete|ASSERTION|Expected |ERROR' \
			"$LOGDIR/$d.parse.log" | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
		if [ -s "$json" ]; then
			read -r p f s < <(python3 -c 'import json,sys
m=json.load(open(sys.argv[1]))["misc"]
print(m["passed"], m["failed"]+m["crashed"]+m["errors"], m["skipped"])' "$json")
			total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
			[ "$((p + f))" -eq 0 ] || echo "$d" >>"$WORK/ran"
			[ "$((p + f))" -gt 0 ] || no_test "$d ran no test; its document began: $(grep -v 'rust_wq-marker' "$slice" | head -4 | tr -d '\r' | sed 's/^\[ *[0-9.]*\] //' | paste -sd'|')"
		else
			complain "kunit.py wrote no results for $d"
			total_fail=$((total_fail + 1))
		fi
		read -r m ms cr < <(python3 "$(dirname "$0")/ktap_missing.py" "$slice")
		echo "$d $m $ms" >>"$WORK/missing"
		[ "$cr" = - ] || crashed="${crashed:+$crashed, }$cr"
		total_missing=$((total_missing + m)) suites_missing=$((suites_missing + ms))
		[ "$((m + ms))" -eq 0 ] || complain "$d: $m planned cases and $ms suites never reported"
	done
	# Every module of EXTRA_MODULES ran a test.
	for e in "${extra_names[@]}"; do
		grep -qx "$e" "$WORK/ran" && continue
		# Those that printed a KTAP document and ran nothing were judged above.
		echo "$docs" | grep -qx "$e" && continue
		s=$(suites_of "$e")
		[ "$s" = "?" ] && s="unreadable from $e.ko"
		# Whether a suite of it matches SUITE's suite part (kunit.filter_glob is suite[.test]).
		match=""
		for x in $s; do
			# shellcheck disable=SC2053
			[[ $x == ${SUITE%%.*} ]] && match=y
		done
		if ! grep -q "rust_wq-marker: ktap-begin $e\b" "$LOG"; then
			no_test "EXTRA_MODULES: $e ran no test: the guest never loaded it"
		elif grep -q "rust_wq-marker: insmod-failed $e:" "$LOG"; then
			# The error, and the module's last line before it (often the reason).
			why=$(grep -o "rust_wq-marker: insmod-failed $e: .*" "$LOG" | tr -d '\r' |
				sed 's/^[^:]*: [^:]*: //; s/ *$//')
			said=$(sed -n "/rust_wq-marker: ktap-begin $e\b/,/rust_wq-marker: insmod-failed $e:/p" \
				"$LOG" | tr -d '\r' | grep -E "^\[ *[0-9.]+\] $e: " | grep -v 'taints kernel' |
				tail -n 1 | sed 's/^\[[^]]*\] //')
			no_test "EXTRA_MODULES: $e ran no test: it did not load ($why)${said:+; it said: $said}"
		elif [ -z "$s" ]; then
			no_test "EXTRA_MODULES: $e ran no test: $e.ko holds no KUnit suite (none in its" \
				".kunit_test_suites section: #[kunit_tests(...)] or kunit_test_suite(), built" \
				"against a kernel with CONFIG_KUNIT=y)"
		elif [ -n "${SUITE:-}" ] && [ -z "$match" ]; then
			no_test "EXTRA_MODULES: $e ran no test: no suite of it matches SUITE=$SUITE" \
				"(its suites: ${s// /, })"
		else
			no_test "EXTRA_MODULES: $e ran no test: it printed no KTAP document (its suites: ${s// /, })"
		fi
	done
	# A SUITE glob matched a suite of some KUnit module (one that matches nothing is a typo):
	# the unload cycles and the sample's checks, which SUITE does not filter, do not count.
	matched=""
	for k in "${kunit_kos[@]}"; do
		grep -qx "$(basename "$k" .ko)" "$WORK/ran" && matched=y
	done
	if [ -n "${SUITE:-}" ] && [ ${#kunit_kos[@]} -gt 0 ] && [ -z "$matched" ] &&
		! [ -s "$WORK/notest" ]; then
		all=$(for k in "${kunit_kos[@]}"; do
			n=$(basename "$k" .ko)
			s=$(suites_of "$n")
			[ "$s" = "?" ] && s="unreadable"
			echo "$n: ${s// /, }"
		done | paste -sd';' | sed 's/;/; /g')
		no_test "SUITE=$SUITE matches no KUnit suite of the modules under test ($all)"
	fi
	# And the run ran something.
	if [ $((total_pass + total_fail)) -eq 0 ] && ! [ -s "$WORK/notest" ]; then
		no_test "no test ran: 0 passed, 0 failed, $total_skip skipped"
	fi
	# One JUnit file for CI, red on any failure, crash, unreported case, splat or missing test.
	echo -n "$splats" >"$WORK/splats"
	touch "$WORK/missing"
	junits=()
	for d in $docs; do junits+=("$LOGDIR/$d.junit.xml"); done
	python3 "$(dirname "$0")/junit_merge.py" "$LOGDIR/junit.xml" "$WORK/splats" \
		"$WORK/missing" "$WORK/notest" "${junits[@]}" ||
		complain "could not write $LOGDIR/junit.xml"
	for d in $docs; do rm -f "$LOGDIR/$d.junit.xml"; done
	if [ $fail -ne 0 ]; then
		# The next run writes $LOG anew: a failed run's console stays in its own file, until
		# the next failure.
		cp "$LOG" "$LOGDIR/$MODE.failed.log" 2>/dev/null || true
		# Again at the end, where a CI log that keeps only its tail still shows them.
		echo "rust_wq: FAILED (console log $LOG, kept as $LOGDIR/$MODE.failed.log), because:" >&2
		sed 's/^/rust_wq:   /' "$WORK/complaints" >&2
		[ -z "${retried:-}" ] || echo "rust_wq:   ($retried)" >&2
	fi
	# Failed counts failed and crashed cases, cases planned but never run, and splats.
	nsplats=${nsplats:-0}
	echo "rust_wq: $total_pass passed, $total_fail failed or crashed${crashed:+ (crashed: $crashed)}," \
		"$total_missing not run ($suites_missing suites unreported), $nsplats splats, $total_skip skipped"
	total_fail=$((total_fail + total_missing + suites_missing + nsplats))
	# A run that failed on its own (QEMU killed, the guest stuck, a module not loading) fails
	# at least once on the last line too.
	[ $fail -eq 0 ] || [ $total_fail -gt 0 ] || total_fail=1
	verdict="$total_pass passed, $total_fail failed"
	[ $total_skip -gt 0 ] && verdict="$verdict, $total_skip skipped"
	if [ "$MODE" = stress ]; then
		# The figures of the run, with the machine they were measured on (docs/reliability.md).
		{
			echo "host_load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
			echo "seconds=$((SECONDS - t_start))"
			echo "splats=$nsplats"
			echo "retried=${retried:-}"
			echo "verdict=$verdict"
		} >>"$RUN_ENV"
		python3 "$(dirname "$0")/stress_figures.py" render "$LOG" "$RUN_ENV" \
			>"$LOGDIR/stress-figures.md" || complain "could not write $LOGDIR/stress-figures.md"
		echo "rust_wq: figures of this run: $LOGDIR/stress-figures.md"
	fi
	echo "$verdict"
fi
if [ "$MODE" = bench ]; then
	# The tables of the run, with the kernel and QEMU they were measured on: the Makefile puts
	# them into docs/benchmarks.md (scripts/bench_table.py).
	rm -f "$LOGDIR/bench-table.md"
	if [ $fail -eq 0 ]; then
		{
			echo "host_load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
			echo "seconds=$((SECONDS - t_start))"
		} >>"$RUN_ENV"
		python3 "$(dirname "$0")/bench_table.py" render "$LOG" "$RUN_ENV" \
			>"$LOGDIR/bench-table.md" || complain "could not write $LOGDIR/bench-table.md"
	else
		cp "$LOG" "$LOGDIR/$MODE.failed.log" 2>/dev/null || true
		echo "rust_wq: FAILED (console log $LOG, kept as $LOGDIR/$MODE.failed.log), because:" >&2
		sed 's/^/rust_wq:   /' "$WORK/complaints" >&2
	fi
fi
exit $fail
