#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Misuse that must not compile (tests/compile_fail/*.rs), and the message it must give. Each case
# is built twice as a module of its own against $KDIR: with `--cfg compile_fail` it must fail
# with exactly one error whose text holds the case's `//! expect:` line; without, it must build
# (so the failure comes from the misuse, not from something else in the case).
#
# Usage: KDIR=<kernel build> OUT=<build dir> scripts/compile-fail.sh [case...]
set -euo pipefail
. "$(dirname "$0")/common.sh"
: "${KDIR:?}" "${OUT:?}"
cases=("$@")
[ ${#cases[@]} -gt 0 ] || mapfile -t cases < <(ls "$RUST_WQ_ROOT"/tests/compile_fail/*.rs)
pass=0 fail=0
for c in "${cases[@]}"; do
	name=$(basename "$c" .rs)
	expect=$(sed -n 's,^//! expect: ,,p' "$c")
	[ -n "$expect" ] || die "$c has no '//! expect:' line"
	for variant in fail ok; do
		dir=$OUT/compile_fail/$name-$variant
		rm -rf "$dir" && mkdir -p "$dir"
		{
			echo "// Generated from tests/compile_fail/$name.rs by scripts/compile-fail.sh."
			echo "#[path = \"$RUST_WQ_ROOT/rust_wq/lib.rs\"]"
			echo "pub mod rust_wq;"
			echo "use kernel::prelude::*;"
			echo "module! { type: rust_wq::Drained<Cf>, name: \"rust_wq_cf\","
			echo "    authors: [\"rust_wq developers\"], description: \"compile-fail case\","
			echo "    license: \"GPL\", }"
			echo "struct Cf;"
			echo "impl kernel::Module for Cf {"
			echo "    fn init(_m: &'static ThisModule) -> Result<Self> { Ok(Cf) }"
			echo "}"
			sed "s,^//!,//," "$c"
		} >"$dir/cf_main.rs"
		echo "#include \"$RUST_WQ_ROOT/rust_wq/glue/glue.c\"" >"$dir/cf_shim.c"
		{
			echo "include $RUST_WQ_ROOT/rust_wq/glue/glue.mk"
			echo "obj-m += rust_wq_cf.o"
			echo "rust_wq_cf-y := cf_main.o cf_shim.o"
			echo "\$(obj)/cf_main.o: \$(obj)/rust_wq_glue.rs"
			[ $variant = fail ] && echo "rustflags-y += --cfg compile_fail"
			true
		} >"$dir/Kbuild"
		log=$dir/build.log
		if make -C "$KDIR" M="$dir" modules >"$log" 2>&1; then built=1; else built=0; fi
		errors=$(grep -c '^error' "$log" || true)
		if [ $variant = ok ]; then
			if [ $built = 1 ]; then continue; fi
			echo "compile-fail: $name: the case without its misuse does not build ($log):" >&2
			grep -A8 '^error' "$log" | head -n 20 >&2
			fail=$((fail + 1)); continue 2
		fi
		# One error (and rustc's "aborting due to 1 previous error"), with the expected text.
		if [ $built = 0 ] && grep -qF -- "$expect" "$log" &&
			[ "$(grep -c '^error\[\|^error: [^a]' "$log" || true)" -le 1 ]; then
			continue
		fi
		echo "compile-fail: $name: expected one error saying '$expect' (built=$built, $errors error lines, $log):" >&2
		grep -A12 '^error' "$log" | head -n 30 >&2
		fail=$((fail + 1)); continue 2
	done
	echo "compile-fail: $name: refused with '$expect'"
	grep -A14 -m1 '^error' "$OUT/compile_fail/$name-fail/build.log" | sed 's/^/    /'
	pass=$((pass + 1))
done
echo "compile-fail: $pass passed, $fail failed"
[ $fail = 0 ]
