#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Installs everything rust_wq needs and builds a Rust-enabled Linux test kernel, all cached under
# $RUST_WQ_CACHE (default ~/.cache/rust_wq). Every step is skipped when its result is already
# there, so a second run costs seconds.
#
# Usage: scripts/setup.sh [debug|perf]     (prints the kernel build directory on stdout)
#        scripts/setup.sh tools            (toolchain and kernel source only)
#        scripts/setup.sh apt              (the Debian packages only: QEMU, busybox, compilers)
set -euo pipefail
. "$(dirname "$0")/common.sh"

FLAVOUR=${1:-debug}
APT_PACKAGES="build-essential flex bison bc libelf-dev libssl-dev cpio kmod busybox-static
qemu-system-x86 python3 python3-pip xz-utils curl ca-certificates shellcheck"
# arm64: the cross compiler with its C library (the static client and insmod) and QEMU's
# aarch64 system emulator; the guest's busybox is Debian's arm64 one (setup_busybox_arm64).
[ "$RUST_WQ_ARCH" = arm64 ] &&
	APT_PACKAGES="$APT_PACKAGES gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-system-arm"

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

setup_apt() {
	local missing=()
	for p in $APT_PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	step "apt: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	as_root apt-get -q update >/dev/null ||
		die "apt-get update failed: install ${missing[*]} by your package manager"
	as_root apt-get -q install -y --no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get install failed: install ${missing[*]} by your package manager"
}

# Debian 12's static busybox for arm64, unpacked into the cache (never installed).
setup_busybox_arm64() {
	[ -x "$BUSYBOX_ARM64" ] && return
	arch_apt_opts arm64
	step "apt (bookworm, arm64): fetching busybox-static for the arm64 guest"
	apt-get "${ARCH_APT_OPTS[@]}" update >/dev/null ||
		die "cannot reach $APT_MIRROR bookworm for arm64 packages"
	rm -f "$ARCH_APT_DIR/deb"/busybox-static_*.deb
	(cd "$ARCH_APT_DIR/deb" && apt-get "${ARCH_APT_OPTS[@]}" download busybox-static:arm64 >/dev/null) ||
		die "could not fetch busybox-static:arm64"
	local deb dir
	deb=$(ls "$ARCH_APT_DIR/deb"/busybox-static_*_arm64.deb)
	dir=$(dirname "$(dirname "$BUSYBOX_ARM64")")
	rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./bin/busybox >"$dir.tmp/bin/busybox"
	chmod 755 "$dir.tmp/bin/busybox"
	dpkg-deb -f "$deb" Version >"$dir.tmp/version"
	rm -f "$deb"
	rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

setup_rust() {
	command -v rustup >/dev/null ||
		die "rustup is missing: install it from https://rustup.rs, then rerun"
	if ! rustup run "$RUSTC_VERSION" rustc --version >/dev/null 2>&1 ||
		! rustup component list --toolchain "$RUSTC_VERSION" --installed 2>/dev/null |
		grep -q '^rust-src'; then
		step "rustup: installing rustc $RUSTC_VERSION with rust-src, clippy, rustfmt"
		rustup toolchain install "$RUSTC_VERSION" --profile minimal \
			--component rust-src --component clippy --component rustfmt >&2
	fi
	local c
	for c in clippy rustfmt; do
		rustup component list --toolchain "$RUSTC_VERSION" --installed | grep -q "^$c" ||
			rustup component add --toolchain "$RUSTC_VERSION" "$c" >&2
	done
}

setup_bindgen() {
	[ -x "$BINDGEN_ROOT/bin/bindgen" ] && return
	step "cargo: building bindgen-cli $BINDGEN_VERSION (about 90 s)"
	cargo install --locked --quiet bindgen-cli --version "$BINDGEN_VERSION" \
		--root "$BINDGEN_ROOT" >&2 || die "cargo install bindgen-cli $BINDGEN_VERSION failed"
}

setup_libclang() {
	[ -e "$LIBCLANG_PATH/libclang.so" ] && return
	step "pip: fetching libclang $LIBCLANG_VERSION"
	python3 -m pip install --quiet --disable-pip-version-check --no-deps \
		--target "$LIBCLANG_ROOT" "libclang==$LIBCLANG_VERSION" >&2 ||
		die "pip install libclang==$LIBCLANG_VERSION failed"
	[ -e "$LIBCLANG_PATH/libclang.so" ] || die "libclang wheel has no $LIBCLANG_PATH/libclang.so"
}

# Fetches linux-source-$KERNEL_SERIES through an apt configuration of our own: the machine's apt
# sources are never touched.
setup_ksrc() {
	if [ "$KSRC" != "$KSRC_DEFAULT" ]; then
		[ -f "$KSRC/Makefile" ] || die "KSRC=$KSRC is not a kernel tree"
		return
	fi
	[ -f "$KSRC/.rust_wq-unpacked" ] && return
	apt_config
	step "apt ($APT_SUITE): fetching linux-source-$KERNEL_SERIES (167 MB)"
	apt-get "${APT_OPTS[@]}" update >/dev/null ||
		die "cannot reach $APT_MIRROR $APT_SUITE: point KSRC= at a Linux $KERNEL_SERIES tree"
	(cd "$APT_DIR/deb" && apt-get "${APT_OPTS[@]}" download "linux-source-$KERNEL_SERIES" >/dev/null) ||
		die "linux-source-$KERNEL_SERIES is no longer in $APT_SUITE: point KSRC= at a $KERNEL_SERIES tree"
	local deb
	deb=$(ls -t "$APT_DIR/deb/linux-source-$KERNEL_SERIES"_*.deb | head -n1)
	step "unpacking $(basename "$deb") (about 20 s)"
	rm -rf "$KSRC.tmp" && mkdir -p "$KSRC.tmp"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/linux-source-$KERNEL_SERIES.tar.xz" |
		tar -xJ -C "$KSRC.tmp" --strip-components=1
	rm -rf "$KSRC" && mv "$KSRC.tmp" "$KSRC"
	rm -f "$deb"
	touch "$KSRC/.rust_wq-unpacked"
}

kmake() {
	make -C "$KSRC" O="$KBUILD" "${KMAKE_ARCH[@]}" LLVM= "$@"
}

# Merges the fragments onto tinyconfig and fails naming every option that did not survive.
configure_kernel() {
	local frags=("$RUST_WQ_ROOT/kconfig/base.config")
	case "$FLAVOUR" in
	debug) frags+=("$RUST_WQ_ROOT/kconfig/debug.config") ;;
	perf) frags+=("$RUST_WQ_ROOT/kconfig/perf.config") ;;
	esac
	# What the architecture needs besides (it may turn off an option of base.config too).
	[ "$RUST_WQ_ARCH" = x86_64 ] || frags+=("$RUST_WQ_ROOT/kconfig/$RUST_WQ_ARCH.config")
	step "configuring $FLAVOUR $RUST_WQ_ARCH kernel in $KBUILD"
	kmake -s tinyconfig >/dev/null
	"$KSRC/scripts/kconfig/merge_config.sh" -m -O "$KBUILD" "$KBUILD/.config" "${frags[@]}" \
		>/dev/null
	kmake -s olddefconfig >/dev/null
	local dropped=() line
	# Each option as the last fragment that names it sets it, as merge_config.sh does.
	while IFS= read -r line; do
		case "$line" in
		# Off: also when its dependencies hide it (then .config does not name it).
		CONFIG_*=n) ! grep -qE "^${line%=n}=[ym]\$" "$KBUILD/.config" || dropped+=("$line") ;;
		CONFIG_*) grep -qx "$line" "$KBUILD/.config" || dropped+=("$line") ;;
		esac
	done < <(cat "${frags[@]}" | sed 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1=n/' |
		awk -F= '/^CONFIG_/ { if (!($1 in v)) o[n++] = $1; v[$1] = $0 } END { for (i = 0; i < n; i++) print v[o[i]] }')
	[ ${#dropped[@]} -eq 0 ] ||
		die "kernel config dropped: ${dropped[*]} (check their dependencies in Kconfig)"
}

build_kernel() {
	KBUILD=$(kbuild_dir "$FLAVOUR")
	[ -f "$KBUILD/.rust_wq-built" ] && return
	mkdir -p "$KBUILD"
	configure_kernel
	step "building the $FLAVOUR $RUST_WQ_ARCH kernel (about 6 min on 2 cores)"
	local log=$KBUILD/build.log start targets=()
	start=$(date +%s)
	# arm64: the image QEMU boots and the modules' build products (no device trees: QEMU's
	# virt machine makes its own).
	[ "$RUST_WQ_ARCH" = arm64 ] && targets=(Image modules)
	kmake -j"$(nproc)" "${targets[@]}" >"$log" 2>&1 &
	local pid=$!
	while kill -0 $pid 2>/dev/null; do
		sleep 30
		kill -0 $pid 2>/dev/null &&
			step "  ... building ($(($(date +%s) - start)) s, $(grep -c '^  [A-Z]' "$log") of about" \
				"2000 build steps)"
	done
	wait $pid || { tail -n 30 "$log" >&2; die "kernel build failed, log in $log"; }
	[ -f "$KBUILD/rust/kernel.rmeta" ] || [ -f "$KBUILD/rust/libkernel.rmeta" ] ||
		die "the kernel was built without Rust: see $log"
	touch "$KBUILD/.rust_wq-built"
	step "kernel built in $(($(date +%s) - start)) s"
}

mkdir -p "$RUST_WQ_CACHE"
exec 9>"$RUST_WQ_CACHE/.setup.lock"
if ! flock -n 9; then
	step "another set-up holds $RUST_WQ_CACHE/.setup.lock (a kernel build takes about 6 min): waiting"
	flock 9
	step "the other set-up finished"
fi
setup_apt
[ "$RUST_WQ_ARCH" = arm64 ] && setup_busybox_arm64
[ "$FLAVOUR" = apt ] && exit 0
setup_rust
setup_bindgen
setup_libclang
setup_ksrc
case "$FLAVOUR" in
tools) echo "$KSRC" ;;
debug | perf)
	build_kernel
	echo "$KBUILD"
	;;
*) die "unknown flavour '$FLAVOUR' (debug, perf or tools)" ;;
esac
