// SPDX-License-Identifier: GPL-2.0
#include "../../rust_wq/glue/glue.c"

#include <linux/printk.h>

void rust_wq_selftest_dump_stack(void);

void rust_wq_selftest_dump_stack(void)
{
	dump_stack();
}
