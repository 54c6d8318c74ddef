/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An owned queue's per-CPU enqueue counts (counters.c), also counted by the plain enqueue
 * (enqueue.c).
 */
#ifndef RUST_WQ_GLUE_COUNTERS_H
#define RUST_WQ_GLUE_COUNTERS_H

struct rust_wq_counts {
	unsigned long started;
	unsigned long finished;
};

#endif /* RUST_WQ_GLUE_COUNTERS_H */
