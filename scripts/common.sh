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

# The architecture of the test kernel and the modules: x86_64 (the default, native) or arm64
# (cross-built with Debian's aarch64-linux-gnu GCC, booted on QEMU's `virt` machine). ARCH=
# comes from the make command line (`make check ARCH=arm64`).
case "${ARCH:-x86_64}" in
x86_64 | x86) RUST_WQ_ARCH=x86_64 ;;
arm64 | aarch64) RUST_WQ_ARCH=arm64 ;;
*)
	printf 'rust_wq: error: ARCH=%s: rust_wq builds for x86_64 (the default) or arm64\n' "$ARCH" >&2
	exit 1
	;;
esac
CROSS_COMPILE_ARM64=aarch64-linux-gnu-
# What the kernel's make is given for the architecture (a kernel build or a prepared build
# directory), and Debian's name of the architecture (its kernel packages and apt).
# shellcheck disable=SC2034 # used by the scripts that source this file
if [ "$RUST_WQ_ARCH" = arm64 ]; then
	[ "$(uname -m)" = aarch64 ] || export CROSS_COMPILE=${CROSS_COMPILE:-$CROSS_COMPILE_ARM64}
	export ARCH=arm64
	KMAKE_ARCH=(ARCH=arm64 "CROSS_COMPILE=${CROSS_COMPILE:-}")
	DEB_ARCH=arm64
else
	KMAKE_ARCH=(ARCH=x86_64)
	DEB_ARCH=amd64
fi

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
		# x86_64 keeps the key it always had.
		[ "$RUST_WQ_ARCH" = x86_64 ] ||
			{ echo "arch=$RUST_WQ_ARCH" && cat "$RUST_WQ_ROOT/kconfig/$RUST_WQ_ARCH.config"; }
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
	local arch=""
	[ "$RUST_WQ_ARCH" = x86_64 ] || arch=$RUST_WQ_ARCH-
	echo "$RUST_WQ_CACHE/build/$KERNEL_SERIES-$arch$1-$(build_key "$1")"
}

# Debian packages of a named architecture, fetched (never installed) through an apt
# configuration of their own, one per architecture and suite: Debian 12's `main` unless $2 names
# another suite (scripts/distro.sh: $APT_SUITE, for Debian's kernel of that architecture).
# $1: the Debian architecture (amd64, arm64).
arch_apt_opts() {
	local suite=${2:-bookworm} dir=$RUST_WQ_CACHE/apt-$1
	[ "$suite" = bookworm ] || dir=$dir-$suite
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/deb"
	echo "deb [arch=$1] $APT_MIRROR $suite main" >"$dir/sources.list"
	# shellcheck disable=SC2034 # used by the scripts that source this file
	ARCH_APT_DIR=$dir
	# shellcheck disable=SC2034 # as above
	ARCH_APT_OPTS=(-o "Dir::Etc::sourcelist=$dir/sources.list" -o "Dir::Etc::sourceparts=-"
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache"
		-o "APT::Architectures=$1" -o "APT::Architecture=$1" -o "Acquire::Languages=none"
		-o "APT::Sandbox::User=root" -o "Debug::NoLocking=1" -q)
}

# The static busybox of the guest: the host's for x86_64, Debian's arm64 one (unpacked into the
# cache by the set-up) for arm64.
# shellcheck disable=SC2034 # used by the scripts that source this file
BUSYBOX_ARM64=$RUST_WQ_CACHE/busybox-arm64/bin/busybox

T0=${T0:-$(date +%s)}
step() {
	printf '[rust_wq %4ss] %s\n' "$(($(date +%s) - T0))" "$*" >&2
}
die() {
	printf 'rust_wq: error: %s\n' "$*" >&2
	exit 1
}
