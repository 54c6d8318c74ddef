# SPDX-License-Identifier: GPL-2.0
#
# rust_wq: out-of-tree build. `make KDIR=<kernel build dir>` builds against your own Rust-enabled
# Linux 7.3 build; without KDIR the pinned test kernel is set up (and cached) by scripts/setup.sh.
# `make help` lists the targets.

SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
SETUP := $(ROOT)/scripts/setup.sh
FLAVOUR ?= debug

# ARCH=arm64: the arm64 test kernel, modules and guest, cross-built with Debian's
# aarch64-linux-gnu GCC (CROSS_COMPILE= for another) and booted on QEMU's virt machine; also for
# a KDIR of your own arm64 build. Without ARCH: x86_64, native.
ifneq ($(filter-out x86_64 x86 arm64,$(ARCH)),)
$(error ARCH=$(ARCH): rust_wq builds for x86_64 (the default) or arm64)
endif
ifeq ($(ARCH),arm64)
ifneq ($(shell uname -m),aarch64)
CROSS_COMPILE ?= aarch64-linux-gnu-
endif
export CROSS_COMPILE
# $(shell) does not see the command line's variables (make 4.3).
SETUP_ENV = ARCH=arm64 CROSS_COMPILE=$(CROSS_COMPILE)
# The compiler of the static userspace client.
USER_CC = $(CROSS_COMPILE)gcc
else
USER_CC = $(CC)
endif

# The kernel build directory, resolved once and only when a target needs it.
ifeq ($(KDIR),)
KDIR_RESOLVED = $(eval KDIR_RESOLVED := $(shell $(SETUP_ENV) $(SETUP) $(FLAVOUR) || echo SETUP-FAILED))$(KDIR_RESOLVED)
else
KDIR_RESOLVED := $(abspath $(KDIR))
endif
# Module objects go out of the source tree, one directory per kernel build.
# Named by the build's directory and a hash of its whole path: two KDIRs ending alike differ.
OUT = $(eval OUT := $(ROOT)/out/$(notdir $(KDIR_RESOLVED))-$(shell printf %s '$(KDIR_RESOLVED)' | \
	sha256sum | cut -c1-8))$(OUT)
KSRC_OF = $(if $(wildcard $(KDIR_RESOLVED)/source),$(KDIR_RESOLVED)/source,$(KDIR_RESOLVED))

# The pinned toolchain (see scripts/common.sh); harmless for a KDIR built by another rustc
# unless you override RUSTUP_TOOLCHAIN.
TOOLENV = export KDIR=$(KDIR_RESOLVED) && source $(ROOT)/scripts/common.sh &&
RS_FILES = $(shell find $(ROOT)/rust_wq $(ROOT)/samples $(ROOT)/tests $(ROOT)/bench $(ROOT)/docs -name '*.rs' | sort)

KMAKE = $(TOOLENV) $(MAKE) -C $(KDIR_RESOLVED) M=$(ROOT) MO=$(OUT)

.PHONY: all modules modules_install clippy fmt fmtcheck shellcheck rust-analyzer ra-check check selftest run \
	bench bench-run bench-table distro-kdir distro-check distro-check-run distro-bench distro-bench-run \
	distro-guard stress stress-readme compile-fail doctests \
	setup clean help kdir userspace tools print-kdir fresh-check doc rust-project ra-env

CLIENT_SRC := $(ROOT)/samples/userspace/rust_wq_edu_client.c

all: modules userspace

# The kernel build, checked up front with our own messages.
kdir:
	@test -d "$(KDIR_RESOLVED)" || { echo "rust_wq: no kernel build (KDIR=$(KDIR_RESOLVED))" >&2; exit 1; }
	@test -f "$(KDIR_RESOLVED)/.config" || { echo "rust_wq: KDIR=$(KDIR_RESOLVED) is not a" \
		"kernel build directory (no .config)" >&2; exit 1; }
	@grep -qx 'CONFIG_RUST=y' "$(KDIR_RESOLVED)/.config" || { echo "rust_wq: the kernel in" \
		"$(KDIR_RESOLVED) has CONFIG_RUST off: rust_wq needs a Rust-enabled kernel" >&2; exit 1; }
	@grep -q '^7\.3\.' "$(KDIR_RESOLVED)/include/config/kernel.release" 2>/dev/null || { \
		echo "rust_wq: $(KDIR_RESOLVED) is not a Linux 7.3 build (rust_wq targets 7.3)" >&2; exit 1; }
	@test -f "$(KDIR_RESOLVED)/rust/libkernel.rmeta" || { echo "rust_wq: $(KDIR_RESOLVED) has no" \
		"Rust metadata (rust/libkernel.rmeta): a distribution's headers package ships none, and a" \
		"kernel build needs 'make modules_prepare' first. For Debian's stock 7.3 kernel," \
		"'make distro-kdir' prepares a build directory that matches it (then make KDIR=<that>)," \
		"and 'make distro-check' runs the checks on that kernel" >&2; exit 1; }
	@if grep -qx 'CONFIG_ARM64=y' "$(KDIR_RESOLVED)/.config"; then k=arm64; else k=x86_64; fi; \
		[ "$$k" = "$(if $(filter arm64,$(ARCH)),arm64,x86_64)" ] || { echo "rust_wq: the kernel" \
		"in $(KDIR_RESOLVED) is an $$k kernel: build for it with ARCH=$$k" >&2; exit 1; }

modules: kdir
	@mkdir -p $(OUT)
	+@$(KMAKE) modules

# Installs every module built here: the sample driver, and also the test, benchmark and
# self-test modules.
modules_install: modules
	@echo "rust_wq: installing samples, tests/kunit, tests/unload, tests/unwrapped, tests/selftest and bench modules"
	+@$(KMAKE) modules_install

# The sample's userspace client, static so that it runs from the initramfs.
userspace: kdir
	+@$(MAKE) --no-print-directory -s $(OUT)/userspace/rust_wq_edu_client

%/userspace/rust_wq_edu_client: $(CLIENT_SRC)
	@mkdir -p $(@D)
	$(USER_CC) -static -O2 -Wall -Wextra -Werror -o $@ $<

clippy: kdir
	@mkdir -p $(OUT)
	+@$(KMAKE) CLIPPY=1 W=e modules

fmt: kdir
	@$(TOOLENV) rustfmt --edition 2021 --config-path $(KSRC_OF)/.rustfmt.toml $(RS_FILES)

# Each crate root mounts rust_wq/, so rustfmt reports a rust_wq file once per crate: each
# difference is printed once, without colour, and the advice follows.
fmtcheck: kdir
	@mkdir -p $(ROOT)/out
	@$(TOOLENV) rustfmt --check --color never --edition 2021 \
		--config-path $(KSRC_OF)/.rustfmt.toml $(RS_FILES) >$(ROOT)/out/.fmtcheck 2>&1 || { \
		python3 -c 'import os,re,sys; t=open(sys.argv[1]).read(); seen=[]; \
		t=re.sub(r"(?m)^Diff in (\S+):", lambda m: "Diff in "+os.path.normpath(m.group(1))+":", t); \
		[seen.append(b) for b in re.split(r"(?m)^(?=Diff in )", t) if b.strip() and b not in seen]; \
		sys.stdout.write("".join(seen))' $(ROOT)/out/.fmtcheck; \
		echo "rustfmt: formatting differs (above): run \`make fmt\`" >&2; exit 1; }
	@echo "rustfmt: $(words $(RS_FILES)) files clean"
	@python3 $(ROOT)/scripts/stress_figures.py check $(ROOT)/docs/reliability.md
	@python3 $(ROOT)/scripts/bench_table.py check $(ROOT)/docs/benchmarks.md
	@$(MAKE) -s --no-print-directory shellcheck
	@python3 $(ROOT)/scripts/suite_names.py $(ROOT)

# rust-project.json for editors. The kernel's generator lists the standard library's crates and
# also names a sysroot, which rust-analyzer loads again: scripts/ra_include.py keeps one, the
# sysroot of the toolchain that builds the modules, and lets each crate include rust_wq/ and
# the glue's declarations that the build generates (hence the modules first).
rust-analyzer: modules
	+@$(KMAKE) rust-analyzer
	@if [ -f $(OUT)/rust-project.json ]; then cp $(OUT)/rust-project.json $(ROOT)/; fi
	@$(TOOLENV) python3 $(ROOT)/scripts/ra_include.py $(ROOT)/rust-project.json $(ROOT) \
		"$$(rustc --print sysroot)" $(OUT)
	@echo "rust-analyzer: $(ROOT)/rust-project.json"

# The same for a driver of another repository: EXT=<the directory of its Kbuild>, built
# against KDIR (the test kernel unless given) into out/ext; writes EXT/rust-project.json.
rust-project: kdir
	@test -n "$(EXT)" && test -d "$(EXT)" || { echo "rust_wq: give EXT=<the directory of your" \
		"driver's Kbuild>" >&2; exit 1; }
	@rm -rf $(ROOT)/out/ext && mkdir -p $(ROOT)/out/ext
	+@$(TOOLENV) $(MAKE) -C $(KDIR_RESOLVED) M=$(abspath $(EXT)) MO=$(ROOT)/out/ext modules
	+@$(TOOLENV) $(MAKE) -C $(KDIR_RESOLVED) M=$(abspath $(EXT)) MO=$(ROOT)/out/ext rust-analyzer
	@cp $(ROOT)/out/ext/rust-project.json $(abspath $(EXT))/rust-project.json
	@$(TOOLENV) python3 $(ROOT)/scripts/ra_include.py $(abspath $(EXT))/rust-project.json \
		$(abspath $(EXT)) "$$(rustc --print sysroot)" $(ROOT)/out/ext
	@echo "rust-analyzer: $(abspath $(EXT))/rust-project.json"

# The environment the kernel's build and rust-analyzer need for a driver of another repository:
# `eval "$$(make -s -C <this repo> ra-env)"`, then `make -C $$KDIR M=$$PWD modules` (the
# kernel's own `rust-analyzer` target needs it too, but writes a rust-project.json with the
# standard library twice: `make rust-project EXT=...` mends it).
ra-env: kdir
	@$(TOOLENV) echo "export KDIR=$(KDIR_RESOLVED)"; echo "export RUSTUP_TOOLCHAIN=$$RUSTUP_TOOLCHAIN"; \
		echo "export PATH=$$BINDGEN_ROOT/bin:\$$PATH"; echo "export LIBCLANG_PATH=$$LIBCLANG_PATH"

# rustdoc HTML for rust_wq in out/doc/rust_wq/, built with the flags kbuild gives rustc for the
# sample's crate (read from the .cmd file of its object, built first); warnings are errors.
doc: kdir
	@mkdir -p $(OUT)
	+@$(KMAKE) samples/demo_main.o
	@$(TOOLENV) python3 $(ROOT)/scripts/rustdoc.py $(OUT)/samples/.demo_main.o.cmd $(ROOT) \
		$(KSRC_OF) $(ROOT)/out/doc

# rust-analyzer's own diagnostics: any error in a file of this repository fails (listed once
# per place, with the crates that include it); the kernel's crates' errors are only counted.
ra-check: rust-analyzer
	@$(TOOLENV) { rustup component list --toolchain "$$RUSTUP_TOOLCHAIN" --installed | \
		grep -q '^rust-analyzer' || rustup component add --toolchain "$$RUSTUP_TOOLCHAIN" rust-analyzer; }
	@cd $(ROOT) && $(TOOLENV) rust-analyzer diagnostics . >$(ROOT)/out/.ra-diagnostics 2>&1 || true
	@python3 $(ROOT)/scripts/ra_check.py $(ROOT)/out/.ra-diagnostics $(ROOT)

# The tools `make check` needs besides the kernel build: installed by the set-up's package step
# (which asks apt only for what is missing), then checked before anything is built.
tools:
	@$(SETUP) apt
ifeq ($(ARCH),arm64)
	@for t in qemu-system-aarch64 python3 gzip shellcheck $(CROSS_COMPILE)gcc; do \
		command -v $$t >/dev/null || { echo "rust_wq: $$t is not on PATH: apt-get install" \
		"qemu-system-arm python3 gzip shellcheck gcc-aarch64-linux-gnu libc6-dev-arm64-cross" >&2; \
		exit 1; }; done
else
	@for t in qemu-system-x86_64 python3 gzip busybox shellcheck; do command -v $$t >/dev/null || \
		{ echo "rust_wq: $$t is not on PATH: apt-get install qemu-system-x86 python3 gzip" \
		"busybox-static shellcheck" >&2; exit 1; }; done
endif

# The shell scripts, the guest's (scripts/guest/, busybox sh) included: no shellcheck warning.
SH_FILES = $(wildcard $(ROOT)/scripts/*.sh) $(ROOT)/.ci/run
GUEST_FILES = $(wildcard $(ROOT)/scripts/guest/*)
shellcheck:
	@command -v shellcheck >/dev/null || { echo "rust_wq: shellcheck is not on PATH:" \
		"make tools (apt-get install shellcheck)" >&2; exit 1; }
	@shellcheck -x -P SCRIPTDIR -S warning $(SH_FILES)
	@shellcheck -s sh -S warning $(GUEST_FILES)
	@echo "shellcheck: $(words $(SH_FILES) $(GUEST_FILES)) scripts clean"

# Misuse that must not compile, each with the message it must give (tests/compile_fail/).
compile-fail: kdir
	@$(TOOLENV) KDIR=$(KDIR_RESOLVED) OUT=$(OUT) $(ROOT)/scripts/compile-fail.sh

# The doc examples that are a driver's crate root (`ignore (...)`), compiled each as a crate of
# its own with the flags kbuild gives the KUnit module; the other examples are the KUnit suite
# rust_wq_doctests, which tests/kunit/Kbuild writes (scripts/doctests.py).
doctests: kdir
	@test -f $(OUT)/tests/kunit/.kunit_main.o.cmd || { mkdir -p $(OUT) && \
		$(KMAKE) tests/kunit/kunit_main.o; }
	@$(TOOLENV) python3 $(ROOT)/scripts/doctests.py roots $(ROOT) \
		$(OUT)/tests/kunit/.kunit_main.o.cmd

setup:
	@$(SETUP) $(FLAVOUR)

# The set-up path as on a fresh Debian 12 with only rustup: `make tools`, `make check` (fast
# settings) and `make run` must find every tool installed (or named) before they look for it
# (scripts/fresh-check.sh; root, for a mount namespace; no new kernel build).
fresh-check:
	@$(ROOT)/scripts/fresh-check.sh

# The README's test command: formatting, warning-free clippy build, then the QEMU KUnit run.
check: tools fmtcheck clippy compile-fail doctests userspace
	@KDIR=$(KDIR_RESOLVED) OUT=$(OUT) $(ROOT)/scripts/qemu-run.sh check

# The torture suite (issue #11): heavy, so not part of `make check`; sizes as parameters.
STRESS_ITEMS ?= 1024
STRESS_OPS ?= 1000000
STRESS_SECS ?= 200
STRESS_HOTPLUG_SECS ?= 60
# The randomized torture (rust_wq_stress_torture, issue #16): its shortest run; its seed comes from the
# time unless QEMU_APPEND=rust_wq_stress.torture_seed=N replays one.
STRESS_TORTURE_SECS ?= 60
STRESS_CYCLES ?= 100
# Loads of the sample driver with their n-th allocation failing, n = 1 to this. Off by default:
# the sweep reaches a WARN of the kernel's own /proc/irq teardown (see docs/reliability.md).
STRESS_EDU_FAILSLAB ?= 0
stress: tools fmtcheck clippy userspace
	@KDIR=$(KDIR_RESOLVED) OUT=$(OUT) QEMU_TIMEOUT=$${QEMU_TIMEOUT:-1800} UNLOAD_CYCLES=$(STRESS_CYCLES) \
		EDU_FAILSLAB=$(STRESS_EDU_FAILSLAB) \
		QEMU_APPEND="rust_wq_stress.items=$(STRESS_ITEMS) rust_wq_stress.ops=$(STRESS_OPS) \
		rust_wq_stress.secs=$(STRESS_SECS) rust_wq_stress.hotplug_secs=$(STRESS_HOTPLUG_SECS) \
		rust_wq_stress.torture_secs=$(STRESS_TORTURE_SECS) $(QEMU_APPEND)" \
		$(ROOT)/scripts/qemu-run.sh stress

# The figures of docs/reliability.md: those of a run (its logs/stress-figures.md; FIGURES=<files>
# for others, several in turn), never typed in by hand; `make fmtcheck` checks that they are as
# rendered.
FIGURES ?= $(if $(LOGDIR),$(LOGDIR),$(OUT)/logs)/stress-figures.md
stress-readme:
	@python3 $(ROOT)/scripts/stress_figures.py readme $(FIGURES) $(ROOT)/docs/reliability.md
	@echo "docs/reliability.md: figures from $(FIGURES)"

# The kernel build directory (the cached test kernel unless KDIR is given), for building a
# driver of another repository against it.
print-kdir: kdir
	@echo $(KDIR_RESOLVED)

# The harness's own test: each kind of failure must fail the run visibly (scripts/selftest.sh).
selftest: modules
	@KDIR=$(KDIR_RESOLVED) OUT=$(OUT) $(ROOT)/scripts/selftest.sh

# The README's main command: boots QEMU and shows the sample driver at work.
run: tools modules userspace
	@KDIR=$(KDIR_RESOLVED) OUT=$(OUT) $(ROOT)/scripts/qemu-run.sh run

# Benchmarks: on the kernel without debug options (FLAVOUR=perf), rust_wq against a C twin and
# the in-tree kernel::workqueue in the same boot. Figures, not a test. The run's tables
# (logs/bench-table.md) go into docs/benchmarks.md, region perf-<arch> (debian-<arch> for
# make distro-bench), and are printed again at the end; `make fmtcheck` fails if a region is not
# as a run wrote it.
BENCH_ARCH = $(if $(filter arm64,$(ARCH)),arm64,x86_64)
BENCH_REGION ?= perf-$(BENCH_ARCH)
BENCH_LOGS = $(if $(LOGDIR),$(LOGDIR),$(OUT)/logs)
bench:
	+@$(MAKE) --no-print-directory FLAVOUR=perf bench-run

bench-run: modules
	@KDIR=$(KDIR_RESOLVED) OUT=$(OUT) $(ROOT)/scripts/qemu-run.sh bench
	@$(MAKE) --no-print-directory -s bench-table BENCH_TABLE=$(BENCH_LOGS)/bench-table.md

# The tables of a run (BENCH_TABLE=<its bench-table.md>), into docs/benchmarks.md's region
# BENCH_REGION, then on the terminal.
bench-table:
	@python3 $(ROOT)/scripts/bench_table.py readme $(BENCH_TABLE) $(ROOT)/docs/benchmarks.md \
		$(BENCH_REGION)
	@echo "rust_wq: the tables of this run ($(BENCH_TABLE)):"
	@sed 1d $(BENCH_TABLE)

# Debian's stock kernel (issue #9): a build directory matching it, the modules built there and
# checked against its exports, then the same checks booted on Debian's own kernel image.
DISTRO := $(ROOT)/scripts/distro.sh

distro-kdir:
	@$(DISTRO) kdir

distro-check:
	+@K=$$($(DISTRO) kdir) && $(MAKE) --no-print-directory KDIR="$$K" distro-check-run

# Only for a build directory that scripts/distro.sh prepared.
distro-guard:
	@test -f "$(KDIR_RESOLVED)/rust_wq.env" || { echo "rust_wq: $(KDIR_RESOLVED) was not" \
		"prepared by 'make distro-kdir': run 'make distro-check' or 'make distro-bench'" >&2; exit 1; }

distro-check-run: distro-guard tools modules userspace
	@$(TOOLENV) $(DISTRO) symcheck $$(sed -n 's,^\(.*\)\.o$$,$(OUT)/\1.ko,p' $(OUT)/modules.order | \
		grep -v /selftest/ | sort)
	@KDIR=$(KDIR_RESOLVED) OUT=$(OUT) BZIMAGE=$$($(DISTRO) image) QEMU_TCG_SINGLE=1 QEMU_NUMA=1 \
		$(ROOT)/scripts/qemu-run.sh check

distro-bench:
	+@K=$$($(DISTRO) kdir) && $(MAKE) --no-print-directory KDIR="$$K" distro-bench-run

distro-bench-run: distro-guard tools modules
	@KDIR=$(KDIR_RESOLVED) OUT=$(OUT) BZIMAGE=$$($(DISTRO) image) \
		$(ROOT)/scripts/qemu-run.sh bench
	@$(MAKE) --no-print-directory -s bench-table BENCH_TABLE=$(BENCH_LOGS)/bench-table.md \
		BENCH_REGION=debian-$(BENCH_ARCH)

clean:
	rm -rf $(ROOT)/out $(ROOT)/rust-project.json

help:
	@echo "rust_wq targets:"
	@echo "  make              build the modules and the sample's client (KDIR=<dir>: your own 7.3 build)"
	@echo "  make run          boot QEMU, load the sample driver, show the deferred bottom halves"
	@echo "  make check        fmtcheck + clippy (W=e) + KUnit under QEMU; ends 'N passed, N failed'"
	@echo "  make selftest     the harness's own test: assertion, WARN, splat, hang, crash, and a run"
	@echo "                    that tests nothing it was asked to (SUITE, EXTRA_MODULES) must fail"
	@echo "  make fresh-check  make tools/check/run as on a fresh Debian 12 with only rustup: every"
	@echo "                    tool installed or named before it is looked for (root)"
	@echo "  make bench        rust_wq against a C twin and kernel::workqueue on a non-debug kernel"
	@echo "                    (figures, each row against its target); writes its tables into"
	@echo "                    docs/benchmarks.md (region perf-<arch>; make distro-bench: debian-<arch>)"
	@echo "  make bench-table BENCH_TABLE=<logs/bench-table.md> BENCH_REGION=<region>  put a run's"
	@echo "                    tables into docs/benchmarks.md again"
	@echo "  make stress       the torture suite (STRESS_ITEMS= STRESS_OPS= STRESS_SECS="
	@echo "                    STRESS_HOTPLUG_SECS= STRESS_TORTURE_SECS= STRESS_CYCLES=); about 7 min;"
	@echo "                    writes logs/stress-figures.md: the figures and the machine they are from;"
	@echo "                    replay the randomized torture: SUITE=rust_wq_stress_torture"
	@echo "                    QEMU_APPEND=rust_wq_stress.torture_seed=<seed it printed>"
	@echo "  make stress-readme  put the last run's figures into docs/reliability.md (FIGURES=<files>)"
	@echo "  make clippy       build with CLIPPY=1 W=e (warnings are errors)"
	@echo "  make compile-fail misuse that must not compile gives its message (tests/compile_fail)"
	@echo "  make doctests     compile the doc examples that are a driver's crate root; the others"
	@echo "                    run in make check as the KUnit suite rust_wq_doctests"
	@echo "  make doc          rustdoc HTML for rust_wq: out/doc/rust_wq/index.html (kernel crate"
	@echo "                    linked to rust.docs.kernel.org); any rustdoc warning fails"
	@echo "  make fmt          rustfmt with the kernel's .rustfmt.toml (fmtcheck: check only)"
	@echo "  make shellcheck   the shell scripts, the guest's included (part of fmtcheck)"
	@echo "  make rust-analyzer  write rust-project.json for editors"
	@echo "  make rust-project EXT=<dir>  the same for a driver of another repository, into <dir>"
	@echo "  make ra-env       print the environment (KDIR, toolchain, bindgen, libclang) for such a"
	@echo "                    driver's build: eval \"\$$(make -s ra-env)\""
	@echo "  make ra-check     rust-analyzer diagnostics: any error in our files fails"
	@echo "  make modules_install  install the modules into the kernel's module tree"
	@echo "  make print-kdir   print the kernel build directory (to build other drivers against)"
	@echo "  make distro-kdir  prepare a build directory matching Debian's stock 7.3 kernel, print it"
	@echo "  make distro-check the checks of 'make check' booted on Debian's own kernel image"
	@echo "  make distro-bench the benchmark on Debian's kernel"
	@echo "  make setup        install the toolchain and build the cached test kernel"
	@echo "  make clean        remove build products (the cache stays)"
	@echo "variables: KDIR=<kernel build dir>  RUST_WQ_CACHE=<dir>  FLAVOUR=debug|perf  KSRC=<7.3 tree>"
	@echo "  ARCH=arm64: build, set up and check for arm64 (cross-built, QEMU virt; make, check, run, setup,"
	@echo "            distro-kdir, distro-check: Debian's arm64 kernel)"
	@echo "            CROSS_COMPILE=<prefix> (aarch64-linux-gnu-)"
	@echo "  set-up: APT_MIRROR=<Debian mirror for linux-source-7.3> (http://deb.debian.org/debian)"
	@echo "  distro-*: DISTRO_RELEASE=<7.3.4+deb13-amd64> (-arm64 with ARCH=arm64); to see a mismatch refused:"
	@echo "            DISTRO_RUSTC_TOOLCHAIN=<rustup toolchain> DISTRO_BINDGEN_VERSION=<v> DISTRO_FORCE_RUSTC_VERSION=0"
	@echo "  make check: SUITE=<glob> (KUnit suites)  UNLOAD_CYCLES=<n> (100; 0 skips)  VERBOSE=1"
	@echo "              QEMU_APPEND=<kernel params>  QEMU_TIMEOUT=<s> (900; stress 1800)  LOGDIR=<dir>"
	@echo "              EXTRA_MODULES=<your KUnit .ko files>  NO_SAMPLE=1 (skip the sample's checks)"
	@echo "              BOOT_TIMEOUT=<s> (90: not at /init, boot again)  STALL_TIMEOUT=<s> (90)"
	@echo "  check, stress, distro-check on a slower machine: SLOW=1 (QEMU on one host core),"
	@echo "              QEMU_TASKSET=<host CPUs>  QEMU_ICOUNT=<shift> (-icount shift=, one TCG thread)"
	@echo "              QEMU_EXTRA=<more QEMU arguments>"
	@echo "  check, stress, distro-check on more CPUs: SMP=<vCPUs> (5, up to 16; the last offline at boot)"
