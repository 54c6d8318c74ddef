#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The set-up path installs (or names) every tool before anything tests for it: the entry points
# run as on a fresh Debian 12 machine that has only rustup (and make, to type them), where a
# Debian package is there only once the set-up asked apt for it.
#
# How (scripts/fresh_model.py works out the fresh machine from this one's dpkg database): in a
# private mount namespace, /usr/bin and /usr/sbin become directories of their own (tmpfs) that
# hold only what a minimal Debian 12 has (each file bind-mounted from the real one), so that a
# command of any other package is absent, by name through PATH and by path alike;
# /usr/local/bin and /usr/local/sbin are empty, and PATH is Debian's default plus ~/.cargo/bin.
# apt-get and dpkg-query are replaced: dpkg-query reports the absent packages as not installed,
# `apt-get install P...` brings in the commands of P and of the absent packages it depends on
# (what apt would install with --no-install-recommends), `apt-get update` does nothing. Nothing
# is fetched for that: this machine has the packages (the check installs them for real first).
# The toolchain of rustup and the cache (~/.cache/rust_wq) are used as they are.
#
# Every run starts on a fresh machine again:
#   control      the absent commands are out of reach, by name and by path, until installed
#   no apt       with apt-get failing, `make tools` fails naming every package it needs
#   make tools, make check (fast: FRESH_CHECK_ARGS), make run   succeed
#   no apt (ARCH=arm64), make check ARCH=arm64 (fast)   the same for the arm64 leg
# A run that fails prints its last lines and the apt-get installs done before (none: a tool was
# looked for before the set-up installed it). Each run's output stays in out/fresh-check/.
#
# Usage: scripts/fresh-check.sh      (as root: a mount namespace; `make fresh-check`)
set -euo pipefail
. "$(dirname "$0")/common.sh"

ROOT=$RUST_WQ_ROOT
FRESH_CHECK_ARGS=${FRESH_CHECK_ARGS:-UNLOAD_CYCLES=0 NO_SAMPLE=1 SUITE=rust_wq_queue}
# The packages the set-up installs, read from setup.sh itself; with `arm64`, those it adds for
# ARCH=arm64 too.
apt_packages() {
	sed -n '/^APT_PACKAGES="/,/"$/p' "$ROOT/scripts/setup.sh" | tr -d '"' | sed 's/^APT_PACKAGES=//'
	# shellcheck disable=SC2016 # the `$` is setup.sh's text, not ours
	[ "${1:-}" != arm64 ] ||
		sed -n 's/^\s*APT_PACKAGES="\$APT_PACKAGES \(.*\)"$/\1/p' "$ROOT/scripts/setup.sh"
}

# --- inside the namespace: a fresh /usr/bin, then one entry point --------------------------------
if [ "${1:-}" = --inside ]; then
	W=$2 name=$3
	shift 3
	mount --make-rprivate /
	mkdir -p "$W/orig/usr/bin" "$W/orig/usr/sbin"
	for d in /usr/bin /usr/sbin; do
		mount --bind "$d" "$W/orig$d"
	done
	# Until the fresh directories have them, the commands of this script come from the real ones.
	PATH=$W/orig/usr/bin:$W/orig/usr/sbin
	hash -r
	for d in /usr/bin /usr/sbin /usr/local/bin /usr/local/sbin; do
		[ ! -d "$d" ] || mount -t tmpfs -o mode=0755 fresh "$d"
	done
	grep -vxE '/usr/bin/(apt-get|dpkg-query)' "$W/present" | bash "$W/bring" >/dev/null
	cp "$W/fake/apt-get" "$W/fake/dpkg-query" /usr/bin/
	rm -rf "$W/state" && mkdir -p "$W/state" && : >"$W/state/installed" && : >"$W/state/log"
	[ "${name%% (*}" = "no apt" ] && touch "$W/state/apt-fails"
	cd "$ROOT"
	env=(HOME="$HOME" USER="${USER:-root}" LOGNAME="${LOGNAME:-root}" LANG=C.UTF-8
		TERM="${TERM:-dumb}" PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${CARGO_HOME:-$HOME/.cargo}/bin"
		RUSTUP_AUTO_INSTALL=0)
	for v in RUST_WQ_CACHE XDG_CACHE_HOME APT_MIRROR RUSTUP_HOME CARGO_HOME; do
		[ -z "${!v:-}" ] || env+=("$v=${!v}")
	done
	exec env -i "${env[@]}" "$@"
fi

# --- outside: the model, the fakes, the runs ----------------------------------------------------
[ "$(id -u)" = 0 ] || die "fresh-check needs root: it covers tools in a private mount namespace"
command -v unshare >/dev/null || die "unshare (util-linux) is missing"
# The machine needs the packages to uncover them; the toolchain must be there already (this
# check fetches nothing from rustup).
"$ROOT/scripts/setup.sh" apt
ARCH=arm64 "$ROOT/scripts/setup.sh" apt
rustup run "$RUSTC_VERSION" rustc --version >/dev/null 2>&1 ||
	die "rustc $RUSTC_VERSION is not installed: run scripts/setup.sh tools first"
[ -f "$(kbuild_dir debug)/.rust_wq-built" ] ||
	step "fresh-check: no cached debug kernel: make check will build it (about 15 min on 2 cores)"

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
LOGS=$ROOT/out/fresh-check
rm -rf "$LOGS" && mkdir -p "$LOGS"
mkdir -p "$W/fake"
python3 "$ROOT/scripts/fresh_model.py" "$W" make
step "fresh-check: $(cat "$W/summary")"

# Brings the entries of /usr/bin and /usr/sbin read from stdin into the fresh ones: a link as it
# is, a file bind-mounted from the real one (the same inode: a program finds its own path);
# prints how many it brought.
cat >"$W/bring" <<EOF
#!/bin/bash
W=$W
EOF
cat >>"$W/bring" <<'EOF'
n=0
while IFS= read -r f; do
	[ -e "$f" ] || [ -L "$f" ] && continue
	if [ -L "$W/orig$f" ]; then
		cp -P "$W/orig$f" "$f"
	else
		: >"$f" && mount --bind "$W/orig$f" "$f"
	fi
	n=$((n + 1))
done
echo $n
EOF

cat >"$W/fake/dpkg-query" <<EOF
#!/bin/bash
# fresh-check's dpkg-query: a covered package is not installed until apt-get installed it.
W=$W
EOF
cat >>"$W/fake/dpkg-query" <<'EOF'
args=() pkgs=() query="" value=""
for a in "$@"; do
	if [ -n "$value" ]; then args+=("$a") value=""; continue; fi
	case "$a" in
	-f | --showformat) args+=("$a") value=y ;;
	-W | --show | -s | --status | -l | --list | -L | --listfiles) args+=("$a") query=y ;;
	-*) args+=("$a") ;;
	*) pkgs+=("$a") ;;
	esac
done
real=$W/orig/usr/bin/dpkg-query
if [ -z "$query" ] || [ ${#pkgs[@]} -eq 0 ]; then exec "$real" "$@"; fi
there=() rc=0
for p in "${pkgs[@]}"; do
	n=${p%%:*}
	if [ -e "$W/pkg/$n.deps" ] && ! grep -qx "$n" "$W/state/installed"; then
		echo "dpkg-query: no packages found matching $p" >&2
		rc=1
	else
		there+=("$p")
	fi
done
if [ ${#there[@]} -gt 0 ]; then "$real" "${args[@]}" "${there[@]}" || rc=$?; fi
exit $rc
EOF

cat >"$W/fake/apt-get" <<EOF
#!/bin/bash
# fresh-check's apt-get: install uncovers what apt would install; update fetches nothing.
W=$W
EOF
cat >>"$W/fake/apt-get" <<'EOF'
# The set-up's own apt configuration (linux-source from Debian) is the real apt-get's.
for a in "$@"; do
	case "$a" in Dir::Etc::sourcelist=*) exec "$W/orig/usr/bin/apt-get" "$@" ;; esac
done
cmd="" pkgs=() value=""
for a in "$@"; do
	if [ -n "$value" ]; then value=""; continue; fi
	case "$a" in
	-o | -c | -t | --option | --config-file | --target-release) value=y ;;
	-*) ;;
	*) if [ -z "$cmd" ]; then cmd=$a; else pkgs+=("$a"); fi ;;
	esac
done
if [ -e "$W/state/apt-fails" ]; then
	echo "E: (fresh-check) apt-get $cmd fails on this simulated machine" >&2
	exit 100
fi
case "$cmd" in
update) echo "apt-get update" >>"$W/state/log" ;;
install)
	n=0 files=0
	for p in "${pkgs[@]}"; do
		p=${p%%=*} && p=${p%%:*}
		if [ ! -e "$W/pkg/$p.deps" ]; then
			"$W/orig/usr/bin/dpkg-query" -W "$p" >/dev/null 2>&1 && continue
			echo "E: Unable to locate package $p (fresh-check: not installed on the real machine)" >&2
			exit 100
		fi
		while IFS= read -r q; do
			grep -qx "$q" "$W/state/installed" && continue
			echo "$q" >>"$W/state/installed"
			n=$((n + 1))
			files=$((files + $("$W/bring" <"$W/pkg/$q.files")))
		done <"$W/pkg/$p.deps"
	done
	echo "apt-get install ${pkgs[*]}: $n packages, $files commands" >>"$W/state/log" ;;
*)
	echo "E: (fresh-check) apt-get $cmd is not simulated" >&2
	exit 100 ;;
esac
EOF
chmod +x "$W/fake/apt-get" "$W/fake/dpkg-query" "$W/bring"

# The control: every absent command is out of reach by name (no other copy on PATH) and by path,
# dpkg-query says its package is missing; installing the set-up's packages brings theirs in.
cat >"$W/control" <<EOF
#!/bin/bash
W=$W
apt_packages="$(apt_packages arm64 | tr '\n' ' ')"
EOF
cat >>"$W/control" <<'EOF'
bad=0
while IFS= read -r f; do
	if [ -e "$f" ] || [ -L "$f" ] || type -P "${f##*/}" >/dev/null; then
		echo "control: ${f##*/} is reachable ($f, $(type -P "${f##*/}"))" >&2
		bad=1
	fi
done <"$W/absent"
for p in $apt_packages; do
	[ -e "$W/pkg/$p.deps" ] || continue
	if dpkg-query -W -f='${Status}' "$p" >/dev/null 2>&1; then
		echo "control: dpkg-query calls $p installed before apt-get installed it" >&2
		bad=1
	fi
done
# shellcheck disable=SC2086
apt-get -q install -y --no-install-recommends $apt_packages || bad=1
for t in qemu-system-x86_64 busybox python3 gcc cc flex bison bc cpio depmod xz curl \
	aarch64-linux-gnu-gcc qemu-system-aarch64; do
	type -P "$t" >/dev/null || { echo "control: $t missing after apt-get install" >&2; bad=1; }
done
for p in $apt_packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		{ echo "control: dpkg-query: $p not installed after apt-get install" >&2; bad=1; }
done
exit $bad
EOF
chmod +x "$W/control"

failed=()
# $1: the run's name, then its command.
run() {
	local name=$1 t0 rc out
	shift
	t0=$(date +%s)
	out=$LOGS/$(echo "$name" | cut -d' ' -f1-3 | tr -c 'a-z0-9\n' -).log
	set +e
	unshare -m "$0" --inside "$W" "$name" "$@" >"$out" 2>&1
	rc=$?
	set -e
	# "no apt" must fail, naming every package of the set-up; the others must succeed.
	if [ "${name%% (*}" = "no apt" ]; then
		local unnamed=() arch=
		[[ $name != *arm64* ]] || arch=arm64
		for p in $(apt_packages $arch); do
			[ ! -e "$W/pkg/$p.deps" ] || grep -qw -- "$p" "$out" || unnamed+=("$p")
		done
		if [ $rc -ne 0 ] && [ ${#unnamed[@]} -eq 0 ]; then
			rc=0
			echo "fresh-check: $name: ok ($(($(date +%s) - t0)) s): $(grep -m1 'rust_wq: error' "$out")"
			return
		fi
		echo "fresh-check: $name: FAILED: wanted a failure naming every package; exit $rc," \
			"not named: ${unnamed[*]:-none}" >&2
		rc=1
	elif [ $rc -eq 0 ]; then
		echo "fresh-check: $name: ok ($(($(date +%s) - t0)) s)$(sed -n '$s/^/: /p' "$W/state/log" 2>/dev/null)"
		return
	else
		echo "fresh-check: $name: FAILED (exit $rc) on a fresh machine; apt-get before the failure:" \
			"$(paste -sd';' "$W/state/log" 2>/dev/null | grep . || echo "none")" >&2
	fi
	tail -n 15 "$out" | sed 's/^/fresh-check:   /' >&2
	failed+=("$name")
}

T=$(date +%s)
run control "$W/control"
run "no apt" make tools
run "make tools" make tools
# shellcheck disable=SC2086
run "make check $FRESH_CHECK_ARGS" make check $FRESH_CHECK_ARGS
run "make run" make run
# The arm64 leg: its cross compiler and QEMU come from the set-up too.
run "no apt (ARCH=arm64)" make tools ARCH=arm64
# shellcheck disable=SC2086
run "make check ARCH=arm64 $FRESH_CHECK_ARGS" make check ARCH=arm64 $FRESH_CHECK_ARGS
if [ ${#failed[@]} -gt 0 ]; then
	echo "fresh-check: FAILED ($(($(date +%s) - T)) s): ${failed[*]}" >&2
	exit 1
fi
echo "fresh-check: passed ($(($(date +%s) - T)) s)"
