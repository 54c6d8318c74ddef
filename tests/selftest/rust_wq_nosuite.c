// SPDX-License-Identifier: GPL-2.0
/*
 * The harness's own test: a module that loads and unloads cleanly and holds no KUnit suite, as
 * a driver whose suite is missing would (scripts/selftest.sh). Named in EXTRA_MODULES, it must
 * fail the run. Never loaded by `make check` itself.
 */
#include <linux/module.h>

static int __init rust_wq_nosuite_init(void)
{
	pr_info("rust_wq_nosuite: loaded, no suite to run\n");
	return 0;
}

static void __exit rust_wq_nosuite_exit(void)
{
}

module_init(rust_wq_nosuite_init);
module_exit(rust_wq_nosuite_exit);
MODULE_DESCRIPTION("A module with no KUnit suite, to test the test harness");
MODULE_LICENSE("GPL");
