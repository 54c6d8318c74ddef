# shellcheck shell=bash
# SPDX-License-Identifier: GPL-2.0
# Shared settings of the rust_wq scripts: versions, cache layout, progress output.
# Sourced, never run.

RUST_WQ_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Pinned versions. The kernel's Rust metadata and every module must come from the same rustc.
KERNEL_SERIES=7.3
RUSTC_VERSION=1.95.0
BINDGEN_VERSION=0.72.1
LIBCLANG_VERSION=18.1.1
APT_SUITE=trixie-backports
APT_MIRROR=${APT_MIRROR:-http://deb.debian.org/debian}

RUST_WQ_CACHE=${RUST_WQ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rust_wq}
TOOLS_DIR=$RUST_WQ_CACHE/tools
BINDGEN_ROOT=$TOOLS_DIR/bindgen-$BINDGEN_VERSION
LIBCLANG_ROOT=$TOOLS_DIR/libclang-$LIBCLANG_VERSION
export LIBCLANG_PATH=$LIBCLANG_ROOT/clang/native
export PATH=$BINDGEN_ROOT/bin:$PATH
# Modules must be built by the rustc that built the kernel: with a KDIR of your own, use the
# version its .config records (if rustup has it), unless RUSTUP_TOOLCHAIN says otherwise.
if [ -z "${RUSTUP_TOOLCHAIN:-}" ] && [ -n "${KDIR:-}" ] && [ -f "$KDIR/.config" ]; then
	kdir_rustc=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="rustc \([0-9.]*\).*/\1/p' "$KDIR/.config")
	if [ -n "$kdir_rustc" ] && rustup run "$kdir_rustc" rustc --version >/dev/null 2>&1; then
		RUSTUP_TOOLCHAIN=$kdir_rustc
	fi
fi
export RUSTUP_TOOLCHAIN=${RUSTUP_TOOLCHAIN:-$RUSTC_VERSION}
# A build directory prepared for a distribution's kernel (scripts/distro.sh) says what else its
# compiler needs, e.g. the distribution's rustc version text.
if [ -n "${KDIR:-}" ] && [ -f "$KDIR/rust_wq.env" ]; then
	. "$KDIR/rust_wq.env"
fi

# Kernel source: KSRC= overrides the tree unpacked from linux-source-$KERNEL_SERIES.
KSRC_DEFAULT=$RUST_WQ_CACHE/src/linux-source-$KERNEL_SERIES
KSRC=${KSRC:-$KSRC_DEFAULT}

# A kernel build directory is keyed by everything that goes into it.
# $1: the config flavour (debug or perf).
build_key() {
	local flavour=$1
	{
		echo "kernel=$KERNEL_SERIES ksrc=$KSRC rustc=$RUSTC_VERSION"
		echo "bindgen=$BINDGEN_VERSION libclang=$LIBCLANG_VERSION"
		cat "$RUST_WQ_ROOT/kconfig/base.config"
		[ "$flavour" = debug ] && cat "$RUST_WQ_ROOT/kconfig/debug.config"
		[ "$flavour" = perf ] && cat "$RUST_WQ_ROOT/kconfig/perf.config"
		true
	} | sha256sum | cut -c1-12
}

# Our own apt configuration (the machine's apt sources are never touched), for the Debian
# packages the set-up and scripts/distro.sh fetch: `apt-get "${APT_OPTS[@]}" ...`.
APT_DIR=$RUST_WQ_CACHE/apt
# shellcheck disable=SC2034 # used by the scripts that source this file
APT_OPTS=(-o "Dir::Etc::sourcelist=$APT_DIR/sources.list" -o "Dir::Etc::sourceparts=-"
	-o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache"
	-o "APT::Sandbox::User=root" -o "Debug::NoLocking=1" -q)

# Writes that configuration.
apt_config() {
	mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/deb"
	echo "deb $APT_MIRROR $APT_SUITE main" >"$APT_DIR/sources.list"
}

kbuild_dir() {
	echo "$RUST_WQ_CACHE/build/$KERNEL_SERIES-$1-$(build_key "$1")"
}

T0=${T0:-$(date +%s)}
step() {
	printf '[rust_wq %4ss] %s\n' "$(($(date +%s) - T0))" "$*" >&2
}
die() {
	printf 'rust_wq: error: %s\n' "$*" >&2
	exit 1
}
