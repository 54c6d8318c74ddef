// SPDX-License-Identifier: GPL-2.0
/*
 * rust_wq's C glue, one file per concern, declared in glue.h. Each module that uses rust_wq
 * compiles this file once, through a one-line wrapper in its own directory
 * (`#include "<path>/rust_wq/glue/glue.c"`), and generates the Rust declarations from glue.h
 * (glue.mk).
 *
 * Sorted alphabetically.
 */

#include "arm_lock.c"
#include "context.c"
#include "counters.c"
#include "enqueue.c"
#include "numa.c"
#include "onstack.c"
#include "pci.c"
#include "queue.c"
#include "sysfs.c"
#include "trackers.c"
#include "wait.c"
