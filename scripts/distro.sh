#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Debian's stock 7.3 kernel: prepares a kernel build directory whose Rust metadata matches the
# kernel Debian ships, so that rust_wq modules built against it load into that kernel unmodified.
#
#   scripts/distro.sh kdir        prepare (cached) and print the build directory
#   scripts/distro.sh image       print the path of Debian's vmlinuz (fetched with the rest; on
#                                 arm64 an uncompressed Image, which QEMU boots as it is)
#   scripts/distro.sh symcheck M..  check that every symbol the modules M.. import is exported by
#                                 Debian's kernel (its Module.symvers), naming the cause if not
#
# Debian's linux-headers package has no Rust metadata (.rmeta of core, kernel, bindings, macros,
# pin_init), so `make -C /usr/src/linux-headers-...` cannot build a Rust module. What makes the
# metadata match (each was checked against Debian's Module.symvers):
# - the rustc Debian used, with its exact version text: the crate hash in every mangled Rust
#   symbol depends on it. rustup's 1.85.1 prints the version without Debian's "(built from a
#   source tarball)"; RUSTC_FORCE_RUSTC_VERSION gives it Debian's text;
# - the bindgen Debian used (0.71.1): others number the `Default` impls of `bindings` otherwise;
# - Debian's configuration as Debian generated it: `olddefconfig` with this machine's compilers
#   may drop options (BTF, sched_ext, ...) and move `struct module` and `task_struct`, so Debian's
#   include/generated/autoconf.h and rustc_cfg replace the generated ones;
# - KERNELRELEASE (vermagic) and Debian's Module.symvers (vmlinux's exports, for modpost).
#
# ARCH=arm64 (scripts/common.sh): Debian's arm64 kernel (7.3.4+deb13-arm64, its `Image`), the
# build directory cross-prepared with CROSS_COMPILE; everything else as for amd64.
#
# Environment: DISTRO_RELEASE (7.3.4+deb13-amd64, or -arm64 with ARCH=arm64), APT_MIRROR,
# RUST_WQ_CACHE, KSRC, ARCH, CROSS_COMPILE.
set -euo pipefail
. "$(dirname "$0")/common.sh"

case "$RUST_WQ_CACHE" in *[[:space:]]*) die "RUST_WQ_CACHE may not contain spaces (kbuild)" ;; esac

# Debian's packages of the architecture, through a private apt configuration of its own.
apt_update() {
	arch_apt_opts "$DEB_ARCH" "$APT_SUITE"
	apt-get "${ARCH_APT_OPTS[@]}" update >"$ARCH_APT_DIR/update.log" 2>&1 ||
		die "apt-get update ($APT_MIRROR $APT_SUITE, $DEB_ARCH) failed: see $ARCH_APT_DIR/update.log"
}

# The release: DISTRO_RELEASE=, else the newest 7.3 headers package of the architecture in the
# suite when first asked (recorded in the cache, one record an architecture, so that later runs
# and `image` agree without network).
pick_release() {
	local rec=$RUST_WQ_CACHE/distro/release
	# amd64 keeps the record it always had.
	[ "$DEB_ARCH" = amd64 ] || rec=$rec-$DEB_ARCH
	if [ -n "${DISTRO_RELEASE:-}" ]; then
		return
	fi
	if [ -s "$rec" ]; then
		DISTRO_RELEASE=$(cat "$rec")
		return
	fi
	apt_update
	DISTRO_RELEASE=$(apt-cache "${ARCH_APT_OPTS[@]}" pkgnames "linux-headers-$KERNEL_SERIES." |
		sed -n "s/^linux-headers-\($KERNEL_SERIES\.[0-9]*+deb[0-9]*-$DEB_ARCH\)$/\1/p" |
		sort -V | tail -n1)
	[ -n "$DISTRO_RELEASE" ] ||
		die "no linux-headers-$KERNEL_SERIES.*-$DEB_ARCH in $APT_SUITE: name one with DISTRO_RELEASE="
	mkdir -p "$(dirname "$rec")"
	echo "$DISTRO_RELEASE" >"$rec"
}

set_paths() {
	case "$DISTRO_RELEASE" in
	*-"$DEB_ARCH") ;;
	*) die "DISTRO_RELEASE=$DISTRO_RELEASE is not an $DEB_ARCH kernel (ARCH=$RUST_WQ_ARCH)" ;;
	esac
	DISTRO_CACHE=$RUST_WQ_CACHE/distro/$DISTRO_RELEASE
	ROOTFS=$DISTRO_CACHE/root
	HEADERS=$ROOTFS/usr/src/linux-headers-$DISTRO_RELEASE
	VMLINUZ=$ROOTFS/usr/lib/modules/$DISTRO_RELEASE/vmlinuz
	ABI=${DISTRO_RELEASE%%-*} # 7.3.4+deb13: the package name of the common headers
	PACKAGES="linux-headers-$DISTRO_RELEASE linux-headers-$ABI-common linux-binary-$DISTRO_RELEASE"
}

# Debian's packages of the release (its architecture's), unpacked into the cache.
fetch_packages() {
	[ -f "$DISTRO_CACHE/.unpacked" ] && return
	rm -rf "$DISTRO_CACHE"
	mkdir -p "$DISTRO_CACHE/debs" "$ROOTFS"
	apt_update
	step "apt ($APT_SUITE, $DEB_ARCH): fetching $PACKAGES (about 26 MB)"
	(cd "$DISTRO_CACHE/debs" &&
		apt-get "${ARCH_APT_OPTS[@]}" download $PACKAGES >"$DISTRO_CACHE/download.log" 2>&1) ||
		die "could not download $PACKAGES from $APT_MIRROR $APT_SUITE (see" \
			"$DISTRO_CACHE/download.log; DISTRO_RELEASE= names another release)"
	local d
	for d in "$DISTRO_CACHE"/debs/*.deb; do dpkg-deb -x "$d" "$ROOTFS"; done
	[ -f "$HEADERS/.config" ] && [ -f "$HEADERS/Module.symvers" ] && [ -f "$VMLINUZ" ] ||
		die "the $DISTRO_RELEASE packages lack .config, Module.symvers or vmlinuz"
	touch "$DISTRO_CACHE/.unpacked"
}

# What Debian's kernel was built with, from its .config.
config_value() {
	sed -n "s/^$1=\"\\(.*\\)\"$/\\1/p" "$HEADERS/.config"
}

read_versions() {
	RUSTC_TEXT=$(config_value CONFIG_RUSTC_VERSION_TEXT)    # rustc 1.85.1 (4eb161250 ...) (...)
	BINDGEN_TEXT=$(config_value CONFIG_BINDGEN_VERSION_TEXT) # bindgen 0.71.1
	DISTRO_RUSTC=$(echo "$RUSTC_TEXT" | awk '{print $2}')
	DISTRO_BINDGEN=$(echo "$BINDGEN_TEXT" | awk '{print $2}')
	[ -n "$DISTRO_RUSTC" ] && [ -n "$DISTRO_BINDGEN" ] ||
		die "Debian's .config names no rustc or bindgen version: is CONFIG_RUST on?"
	# The version rustc hashes into crate names: its --version text without "rustc ".
	# DISTRO_FORCE_RUSTC_VERSION=0, DISTRO_RUSTC_TOOLCHAIN=<rustup toolchain> and
	# DISTRO_BINDGEN_VERSION=<version> choose otherwise, to see the mismatch reported.
	if [ "${DISTRO_FORCE_RUSTC_VERSION:-1}" != 0 ]; then
		export RUSTC_FORCE_RUSTC_VERSION=${RUSTC_TEXT#rustc }
	else
		unset RUSTC_FORCE_RUSTC_VERSION
	fi
	USE_RUSTC=${DISTRO_RUSTC_TOOLCHAIN:-$DISTRO_RUSTC}
	USE_BINDGEN=${DISTRO_BINDGEN_VERSION:-$DISTRO_BINDGEN}
	export RUSTUP_TOOLCHAIN=$USE_RUSTC
	DISTRO_BINDGEN_ROOT=$TOOLS_DIR/bindgen-$USE_BINDGEN
	export PATH=$DISTRO_BINDGEN_ROOT/bin:$PATH
}

setup_tools() {
	if ! rustup run "$USE_RUSTC" rustc --version >/dev/null 2>&1 ||
		! rustup component list --toolchain "$USE_RUSTC" --installed 2>/dev/null |
		grep -q '^rust-src'; then
		step "rustup: installing rustc $USE_RUSTC with rust-src (the rustc of Debian's kernel)"
		rustup toolchain install "$USE_RUSTC" --profile minimal --component rust-src >&2
	fi
	if [ ! -x "$DISTRO_BINDGEN_ROOT/bin/bindgen" ]; then
		step "cargo: building bindgen-cli $USE_BINDGEN (the bindgen of Debian's kernel, about 90 s)"
		cargo install --locked --quiet bindgen-cli --version "$USE_BINDGEN" \
			--root "$DISTRO_BINDGEN_ROOT" >&2 ||
			die "cargo install bindgen-cli $USE_BINDGEN failed"
	fi
}

# Refuses, by name, a toolchain whose symbols would not match Debian's (before anything builds).
check_tools() {
	local have
	have=$(rustc --version 2>/dev/null) || die "no rustc $DISTRO_RUSTC (rustup toolchain)"
	case "$have" in
	"rustc $DISTRO_RUSTC "*) ;;
	*) die "compiler mismatch: Debian's kernel was built by '$RUSTC_TEXT', this rustc is '$have'" ;;
	esac
	local hashes="rustc ${RUSTC_FORCE_RUSTC_VERSION:-${have#rustc }}"
	[ "$hashes" = "$RUSTC_TEXT" ] ||
		die "compiler mismatch: Debian's kernel was built by '$RUSTC_TEXT', this rustc hashes" \
			"crates as '$hashes'" \
			"(RUSTC_FORCE_RUSTC_VERSION must be Debian's version text)"
	have=$(bindgen --version 2>/dev/null | head -n1) || die "no bindgen on PATH"
	[ "$have" = "$BINDGEN_TEXT" ] ||
		die "bindgen mismatch: Debian's kernel was built with '$BINDGEN_TEXT', PATH has '$have'"
}

kdir_path() {
	local key
	key=$({
		echo "release=$DISTRO_RELEASE ksrc=$KSRC rustc=$RUSTC_TEXT bindgen=$BINDGEN_TEXT"
		sha256sum "$HEADERS/.config" "$HEADERS/Module.symvers" \
			"$HEADERS/include/generated/autoconf.h" "$HEADERS/include/generated/rustc_cfg"
	} | sha256sum | cut -c1-12)
	echo "$RUST_WQ_CACHE/build/distro-$DISTRO_RELEASE-$key"
}

prepare_kdir() {
	check_tools
	KDIR=$(kdir_path)
	[ -f "$KDIR/.rust_wq-prepared" ] && return
	local srcver
	srcver=$(make -s -C "$KSRC" kernelversion 2>/dev/null) || die "no kernel source at $KSRC"
	[ "$srcver" = "${DISTRO_RELEASE%%+*}" ] ||
		die "source mismatch: $KSRC is Linux $srcver, Debian's kernel is ${DISTRO_RELEASE%%+*}" \
			"(KSRC= a $srcver tree, or DISTRO_RELEASE= a $srcver release)"
	rm -rf "$KDIR"
	mkdir -p "$KDIR"
	local dk=(make -C "$KSRC" O="$KDIR" "${KMAKE_ARCH[@]}" LLVM= KERNELRELEASE="$DISTRO_RELEASE")
	step "preparing a build directory for Debian's $DISTRO_RELEASE in $KDIR"
	cp "$HEADERS/.config" "$KDIR/.config"
	# syncconfig writes include/generated/ from this machine's view of the configuration, once,
	# here; nothing regenerates it later (include/config/auto.conf is newer than .config).
	"${dk[@]}" -s olddefconfig >/dev/null 2>&1 || die "olddefconfig failed in $KDIR"
	"${dk[@]}" -s syncconfig >/dev/null 2>&1 || die "syncconfig failed in $KDIR"
	check_config
	# Debian's generated configuration, not this machine's: the layouts must be Debian's.
	cp "$HEADERS/include/generated/autoconf.h" "$HEADERS/include/generated/rustc_cfg" \
		"$KDIR/include/generated/"
	cp "$HEADERS/Module.symvers" "$KDIR/Module.symvers"
	step "building the kernel's Rust crates for it (modules_prepare, about 2 min on 2 cores)"
	local log=$KDIR/prepare.log start
	start=$(date +%s)
	"${dk[@]}" -j"$(nproc)" modules_prepare >"$log" 2>&1 ||
		{ tail -n 30 "$log" >&2; die "modules_prepare failed, log in $log"; }
	[ -f "$KDIR/rust/libkernel.rmeta" ] || die "modules_prepare built no Rust metadata: see $log"
	# modules_prepare keeps what it was given: Debian's layouts, and Debian's exports.
	cmp -s "$HEADERS/include/generated/autoconf.h" "$KDIR/include/generated/autoconf.h" ||
		die "config mismatch: modules_prepare regenerated autoconf.h (this machine's compilers" \
			"drop options of Debian's configuration)"
	cp "$HEADERS/Module.symvers" "$KDIR/Module.symvers"
	echo "$DISTRO_RELEASE" >"$KDIR/include/config/kernel.release"
	check_exports
	adapt_to_cc
	# What building modules here needs (scripts/common.sh reads it).
	{
		echo "export RUSTC_FORCE_RUSTC_VERSION='$RUSTC_FORCE_RUSTC_VERSION'"
		echo "export PATH='$DISTRO_BINDGEN_ROOT/bin':\$PATH"
		[ -z "$KCFLAGS_ADD" ] || echo "export KCFLAGS=\"\${KCFLAGS:+\$KCFLAGS }$KCFLAGS_ADD\""
	} >"$KDIR/rust_wq.env"
	touch "$KDIR/.rust_wq-prepared"
	step "prepared in $(($(date +%s) - start)) s"
}

# The options this machine's tools decide (compiler, assembler, linker, pahole, openssl
# versions and capabilities, and what depends on BTF or those): they differ from Debian's and
# only choose compiler flags for the modules' C code here; the code sees Debian's autoconf.h.
# arm64 adds two that only concern vmlinux and its vDSOs: the 32-bit compat vDSO (Debian builds
# it with an arm compiler, CROSS_COMPILE_COMPAT, this machine has none) and RELR relocations in
# vmlinux (whether the linker packs them).
TOOL_OPTIONS='^(COMPAT_VDSO|THUMB2_COMPAT_VDSO|RELR|TOOLS_SUPPORT_RELR|AS_VERSION|LD_VERSION|GCC_VERSION|CC_VERSION_TEXT|RUSTC_VERSION_TEXT|CC_HAS_.*|CC_OPT_.*|GCC_ASM_GOTO_OUTPUT_BROKEN|PAHOLE_.*|OPENSSL_SUPPORTS_.*|MODULE_SIG_KEY_TYPE_.*|DEBUG_INFO_BTF.*|DEBUG_INFO_COMPRESSED_.*|MODULE_ALLOW_BTF_MISMATCH|PROBE_EVENTS_BTF_ARGS|FUNCTION_TRACE_ARGS|SCHED_CLASS_EXT|EXT_.*|NET_SCH_BPF|IO_URING_BPF_OPS|SCHED_PROXY_EXEC)$'

# Refuses a configuration that differs from Debian's in anything but TOOL_OPTIONS.
check_config() {
	local norm='s/^# CONFIG_\(.*\) is not set$/\1=n/p; s/^CONFIG_\(.*\)$/\1/p'
	local diff
	diff=$(diff <(sed -n "$norm" "$HEADERS/.config" | sort) <(sed -n "$norm" "$KDIR/.config" | sort) |
		sed -n 's/^[<>] \([A-Za-z0-9_]*\)=.*/\1/p' | sort -u | grep -Ev "$TOOL_OPTIONS" || true)
	[ -z "$diff" ] ||
		die "config mismatch: with this machine's tools, Debian's configuration changes in" \
			"$(echo "$diff" | head -n 5 | tr '\n' ' ')(see $KDIR/.config against $HEADERS/.config)"
}

# Debian's compiler has features this machine's may lack or have broken; the modules' C code
# must not use them. Only code generation choices, no layouts: asm goto with outputs (GCC bug
# 113921, fixed in 12.4/13.3/14), and ftrace's patch sites where they need an alignment this
# machine's gcc cannot promise (below). Sets KCFLAGS_ADD: C flags for the modules' C code.
adapt_to_cc() {
	local opt
	KCFLAGS_ADD=""
	for opt in CC_HAS_ASM_GOTO_OUTPUT CC_HAS_ASM_GOTO_TIED_OUTPUT; do
		if ! grep -qx "CONFIG_$opt=y" "$KDIR/include/config/auto.conf" &&
			grep -q "^#define CONFIG_$opt 1$" "$KDIR/include/generated/autoconf.h"; then
			sed -i "/^#define CONFIG_$opt 1$/d" "$KDIR/include/generated/autoconf.h"
			step "this machine's gcc: CONFIG_$opt off for the modules' C code"
		fi
	done
	# arm64's ftrace with call ops (Debian's arm64 kernel) refuses, with a WARN at the module's
	# load ("Misaligned patch-site"), a function whose patch site is not 8-byte aligned.
	# -fmin-function-alignment (GCC 14, Debian's) aligns every function; this machine's gcc has
	# only -falign-functions, which it ignores for a function it deems cold (seen: a reporting
	# function that ends in kthread_complete_and_exit). So the modules' C code gets no patch
	# sites: it cannot be traced by ftrace, and the rest is as Debian's compiler would build it.
	if grep -qx 'CONFIG_DYNAMIC_FTRACE_WITH_CALL_OPS=y' "$KDIR/include/config/auto.conf" &&
		! grep -qx 'CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT=y' "$KDIR/include/config/auto.conf"; then
		KCFLAGS_ADD=-fpatchable-function-entry=0
		step "this machine's gcc: no -fmin-function-alignment, so no ftrace patch sites in the" \
			"modules' C code"
	fi
}

# Every Rust symbol the kernel's Rust crates export here must be one of Debian's exports, or
# modules built here import symbols Debian's kernel does not have.
check_exports() {
	local ours theirs missing
	ours=$(cat "$KDIR"/rust/exports_*_generated.h 2>/dev/null |
		sed -n 's/^EXPORT_SYMBOL_RUST_GPL(\(.*\));$/\1/p' | sort -u)
	[ -n "$ours" ] || die "no Rust exports generated in $KDIR/rust"
	theirs=$(awk '{print $2}' "$HEADERS/Module.symvers" | sort -u)
	missing=$(comm -23 <(echo "$ours") <(echo "$theirs"))
	[ -z "$missing" ] && return
	explain_mismatch "$(echo "$missing" | wc -l) of $(echo "$ours" | wc -l) exports of the Rust crates" \
		"$(echo "$missing" | head -n 3)"
}

# Names the likely cause of symbols that differ from Debian's.
explain_mismatch() {
	local what=$1 examples=$2
	# The crate hash of `core` in Debian's symbols and in ours: a different compiler text.
	# Crate hashes are base 62: no `_` inside.
	crate() { grep -o 'Cs[0-9A-Za-z]*_4core' | head -n1; }
	local theirs ours
	theirs=$(awk '{print $2}' "$HEADERS/Module.symvers" | grep '^_R' | crate || true)
	ours=$(echo "$examples" | crate || true)
	if [ -n "$ours" ] && [ "$ours" != "$theirs" ]; then
		die "compiler mismatch: $what are not Debian's (core is $ours here, $theirs in Debian's" \
			"kernel): rustc must report '$RUSTC_TEXT' (RUSTC_FORCE_RUSTC_VERSION); e.g. $examples"
	fi
	case "$examples" in
	*bindings*)
		die "bindgen mismatch: $what are not Debian's (the bindings crate differs: Debian used" \
			"'$BINDGEN_TEXT'); e.g. $examples" ;;
	esac
	die "config mismatch: $what are not Debian's (same compiler, other code: the configuration" \
		"or the source differs); e.g. $examples"
}

# Every symbol the modules import must be exported by Debian's vmlinux (or by one of the
# modules themselves): what modpost checks against our copy of Module.symvers, with the cause.
symcheck() {
	local m undefined theirs missing="" call_ops
	# vmlinux's own exports: Debian's modules are not in the initramfs, nor loaded for ours.
	theirs=$(awk '$3 == "vmlinux" {print $2}' "$HEADERS/Module.symvers" | sort -u)
	call_ops=$(grep -cx 'CONFIG_DYNAMIC_FTRACE_WITH_CALL_OPS=y' "$HEADERS/.config" || true)
	for m in "$@"; do
		undefined=$("${CROSS_COMPILE:-}nm" -u "$m" | awk '{print $2}' | grep -v '^__this_module$' | sort -u)
		missing=$(comm -23 <(echo "$undefined") <(echo "$theirs") | grep -v '^$' || true)
		[ -z "$missing" ] ||
			explain_mismatch "$(echo "$missing" | wc -l) symbols imported by $(basename "$m")" \
				"$(echo "$missing" | head -n 3 | tr '\n' ' ')"
		[ "$call_ops" = 0 ] || check_patch_sites "$m"
	done
	step "symbols: every import of $# modules is exported by Debian's $DISTRO_RELEASE"
	[ "$call_ops" = 0 ] || step "ftrace: no misaligned patch site in the $# modules"
}

# Debian's arm64 kernel (ftrace with call ops) refuses a module whose ftrace patch sites are not
# 8-byte aligned, with a WARN at its load: each entry of __patchable_function_entries is a
# section offset, and its last hex digit must be 0 or 8 (see adapt_to_cc).
check_patch_sites() {
	local bad
	bad=$("${CROSS_COMPILE:-}readelf" -rW "$1" | awk '
		/^Relocation section/ { p = ($3 ~ /__patchable_function_entries/); next }
		p && $3 ~ /^R_/ && $NF !~ /[08]$/ { n++ }
		END { print n + 0 }')
	[ "$bad" = 0 ] ||
		die "ftrace mismatch: $bad ftrace patch sites of $(basename "$1") are not 8-byte aligned," \
			"which Debian's kernel refuses ('Misaligned patch-site'): its C code must be built" \
			"without them (KCFLAGS=-fpatchable-function-entry=0, as the prepared build" \
			"directory's rust_wq.env says)"
}

pick_release
set_paths
case "${1:-kdir}" in
kdir)
	# The 7.3 source, libclang and the apt packages, as for the test kernel.
	"$RUST_WQ_ROOT/scripts/setup.sh" tools >/dev/null
	mkdir -p "$RUST_WQ_CACHE"
	exec 8>"$RUST_WQ_CACHE/.distro.lock"
	flock 8
	fetch_packages
	read_versions
	setup_tools
	prepare_kdir
	echo "$KDIR"
	;;
image)
	fetch_packages
	echo "$VMLINUZ"
	;;
symcheck)
	shift
	fetch_packages
	read_versions
	symcheck "$@"
	;;
*) die "usage: scripts/distro.sh kdir|image|symcheck <modules>" ;;
esac
