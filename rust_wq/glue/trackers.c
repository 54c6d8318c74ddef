// SPDX-License-Identifier: GPL-2.0
/*
 * The lock of all trackers of this module (tracker.rs): raw, because it nests inside the arm
 * lock (arm_lock.c), and defined statically, so it needs no initialisation before the module's
 * registry opens.
 */

#include <linux/spinlock.h>

#include "glue.h"

static DEFINE_RAW_SPINLOCK(rust_wq_trackers_lock);

unsigned long rust_wq_trackers_lock_irqsave(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&rust_wq_trackers_lock, flags);
	return flags;
}

void rust_wq_trackers_unlock_irqrestore(unsigned long flags)
{
	raw_spin_unlock_irqrestore(&rust_wq_trackers_lock, flags);
}
