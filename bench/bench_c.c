// SPDX-License-Identifier: GPL-2.0
/*
 * rust_wq_bench: the C twin and the helpers shared by every implementation.
 *
 * Every work function, C or Rust, calls rwq_body(); every measurement waits and reads the clock
 * through the same helpers. Under `-icount shift=0` a guest nanosecond is one instruction, so
 * the figures are instruction counts (see scripts/qemu-run.sh bench).
 */

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/irqflags.h>
#include <linux/ktime.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <uapi/linux/sched/types.h>

struct rwq_ctx {
	atomic_t left;
	struct completion done;
};

struct rwq_ctx *rwq_ctx_new(void);
void rwq_ctx_free(struct rwq_ctx *c);
void rwq_ctx_arm(struct rwq_ctx *c, int n);
void rwq_ctx_wait(struct rwq_ctx *c);
void rwq_body(struct rwq_ctx *c);
u64 rwq_now(void);
void rwq_preempt_off(void);
void rwq_preempt_on(void);
void rwq_settle(void);
int rwq_pin_cpu0(void);
void rwq_sched(int policy);
u64 rwq_calibrate(void);
struct workqueue_struct *rwq_c_queue_new(int max_active);
void rwq_c_queue_free(struct workqueue_struct *wq);
u64 rwq_c_ping(int queue, int cpu, int n);
u64 rwq_c_burst(int max_active, int cpus, int mode, int n);
u64 rwq_c_pending(int queue, int n);
u64 rwq_c_queue_cancel(int n);
u64 rwq_c_idle(int flush, int ran, int n);
u64 rwq_c_delayed(int queue, int sync, int n);
u64 rwq_c_create_destroy(int unbound, int n);

struct rwq_ctx *rwq_ctx_new(void)
{
	struct rwq_ctx *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (c)
		init_completion(&c->done);
	return c;
}

void rwq_ctx_free(struct rwq_ctx *c)
{
	kfree(c);
}

void rwq_ctx_arm(struct rwq_ctx *c, int n)
{
	atomic_set(&c->left, n);
	reinit_completion(&c->done);
}

void rwq_ctx_wait(struct rwq_ctx *c)
{
	wait_for_completion(&c->done);
}

void rwq_body(struct rwq_ctx *c)
{
	if (atomic_dec_and_test(&c->left))
		complete(&c->done);
}

u64 rwq_now(void)
{
	return ktime_get_ns();
}

void rwq_preempt_off(void)
{
	preempt_disable();
}

void rwq_preempt_on(void)
{
	preempt_enable();
}

/*
 * Between the untimed first pass of a scenario and its timed one: the workers finish what they
 * were doing and go idle, and RCU callbacks queued by the first pass run, so that the timed
 * pass pays for none of it.
 */
void rwq_settle(void)
{
	msleep(2);
	rcu_barrier();
}

int rwq_pin_cpu0(void)
{
	return set_cpus_allowed_ptr(current, cpumask_of(0));
}

/*
 * The driver's scheduling policy: 0 SCHED_NORMAL, 1 SCHED_FIFO (it preempts a worker that wakes
 * it), 2 SCHED_IDLE (a worker it wakes preempts it, and the driver never preempts the worker).
 */
void rwq_sched(int policy)
{
	struct sched_attr attr = { .size = sizeof(attr), .sched_policy = SCHED_IDLE };

	if (policy == 1)
		sched_set_fifo(current);
	else if (policy == 2)
		sched_setattr_nocheck(current, &attr);
	else
		sched_set_normal(current, 0);
}

/* Guest nanoseconds for 2 * 10^7 instructions, interrupts off: 2 * 10^7 under icount. */
u64 rwq_calibrate(void)
{
	unsigned long flags, n = 10000000;
	u64 t0, t1;

	local_irq_save(flags);
	t0 = ktime_get_ns();
	/* Two instructions a round on either architecture. */
#ifdef CONFIG_ARM64
	asm volatile("1: subs %0, %0, #1\n\tb.ne 1b" : "+r"(n) : : "cc");
#else
	asm volatile("1: dec %0\n\tjnz 1b" : "+r"(n));
#endif
	t1 = ktime_get_ns();
	local_irq_restore(flags);
	return t1 - t0;
}

struct c_item {
	struct work_struct work;
	struct rwq_ctx *ctx;
};

struct c_ditem {
	struct delayed_work dwork;
	struct rwq_ctx *ctx;
};

static void c_fn(struct work_struct *w)
{
	rwq_body(container_of(w, struct c_item, work)->ctx);
}

static void c_dfn(struct work_struct *w)
{
	rwq_body(container_of(to_delayed_work(w), struct c_ditem, dwork)->ctx);
}

/*
 * An owned per-CPU queue, as the Rust rows build theirs: also the queue the in-tree
 * `kernel::workqueue` rows use (through `Queue::from_raw`), which cannot allocate one.
 */
struct workqueue_struct *rwq_c_queue_new(int max_active)
{
	return alloc_workqueue("rwq_c", WQ_PERCPU, max_active);
}

void rwq_c_queue_free(struct workqueue_struct *wq)
{
	destroy_workqueue(wq);
}

/* Queue 0: an owned per-CPU queue (allocated per call, outside the timing); 1: system_percpu. */
static struct workqueue_struct *c_queue(int queue, int max_active)
{
	if (queue)
		return system_percpu_wq;
	return rwq_c_queue_new(max_active);
}

static void c_unqueue(int queue, struct workqueue_struct *wq)
{
	if (!queue)
		rwq_c_queue_free(wq);
}

/* Queues one item on `cpu`'s pool (-1: queue_work, the local CPU) and waits for it to run. */
#define C_PING(wq, cpu, it, c)						\
	do {								\
		rwq_ctx_arm(c, 1);					\
		if ((cpu) < 0)						\
			queue_work(wq, &(it)->work);			\
		else							\
			queue_work_on(cpu, wq, &(it)->work);		\
		rwq_ctx_wait(c);					\
	} while (0)

/*
 * Ping-pong: queue one item on `cpu`'s pool (-1: the local CPU), wait for it to run, n times; an
 * untimed first time before (steady state: the item has run before).
 */
u64 rwq_c_ping(int queue, int cpu, int n)
{
	struct workqueue_struct *wq = c_queue(queue, 0);
	struct rwq_ctx *c = rwq_ctx_new();
	struct c_item it = { .ctx = c };
	u64 t0, t;
	int i;

	INIT_WORK_ONSTACK(&it.work, c_fn);
	C_PING(wq, cpu, &it, c);
	rwq_settle();
	t0 = rwq_now();
	if (cpu < 0) {
		for (i = 0; i < n; i++)
			C_PING(wq, -1, &it, c);
	} else {
		for (i = 0; i < n; i++)
			C_PING(wq, cpu, &it, c);
	}
	t = rwq_now() - t0;
	flush_work(&it.work);
	destroy_work_on_stack(&it.work);
	rwq_ctx_free(c);
	c_unqueue(queue, wq);
	return t;
}

/*
 * A burst of n items on an owned per-CPU queue, queued with preemption off over CPUs
 * 0 .. cpus - 1 (0: queue_work, the local CPU), then the wait for all of them. Mode 0: the
 * items' first queueing, timed; 1: an untimed first pass, then the same items again, timed
 * (steady state); 2: as 1, timing only the queueing.
 */
u64 rwq_c_burst(int max_active, int cpus, int mode, int n)
{
	struct workqueue_struct *wq = c_queue(0, max_active);
	struct rwq_ctx *c = rwq_ctx_new();
	struct c_item *items = kcalloc(n, sizeof(*items), GFP_KERNEL);
	u64 t0, tq, t1;
	int i, pass;

	for (i = 0; i < n; i++) {
		INIT_WORK(&items[i].work, c_fn);
		items[i].ctx = c;
	}
	for (pass = mode ? 0 : 1; pass < 2; pass++) {
		rwq_settle();
		rwq_ctx_arm(c, n);
		t0 = rwq_now();
		rwq_preempt_off();
		if (cpus) {
			for (i = 0; i < n; i++)
				queue_work_on(i % cpus, wq, &items[i].work);
		} else {
			for (i = 0; i < n; i++)
				queue_work(wq, &items[i].work);
		}
		tq = rwq_now();
		rwq_preempt_on();
		rwq_ctx_wait(c);
		t1 = rwq_now();
	}
	rwq_c_queue_free(wq);
	kfree(items);
	rwq_ctx_free(c);
	return mode == 2 ? tq - t0 : t1 - t0;
}

/* Queueing an item that is pending already (a no-op), n times; the item has run before. */
u64 rwq_c_pending(int queue, int n)
{
	struct workqueue_struct *wq = c_queue(queue, 0);
	struct rwq_ctx *c = rwq_ctx_new();
	struct c_item it = { .ctx = c };
	u64 t0, t;
	int i;

	INIT_WORK_ONSTACK(&it.work, c_fn);
	C_PING(wq, -1, &it, c);
	rwq_settle();
	rwq_ctx_arm(c, 1);
	rwq_preempt_off();
	queue_work(wq, &it.work);
	t0 = rwq_now();
	for (i = 0; i < n; i++)
		queue_work(wq, &it.work);
	t = rwq_now() - t0;
	rwq_preempt_on();
	rwq_ctx_wait(c);
	flush_work(&it.work);
	destroy_work_on_stack(&it.work);
	rwq_ctx_free(c);
	c_unqueue(queue, wq);
	return t;
}

/* Queue and cancel before it runs (preemption off), n times, after an untimed first time. */
u64 rwq_c_queue_cancel(int n)
{
	struct workqueue_struct *wq = c_queue(0, 0);
	struct c_item it = { .ctx = NULL };
	u64 t0, t;
	int i;

	INIT_WORK_ONSTACK(&it.work, c_fn);
	rwq_preempt_off();
	queue_work(wq, &it.work);
	cancel_work(&it.work);
	t0 = rwq_now();
	for (i = 0; i < n; i++) {
		queue_work(wq, &it.work);
		cancel_work(&it.work);
	}
	t = rwq_now() - t0;
	rwq_preempt_on();
	destroy_work_on_stack(&it.work);
	c_unqueue(0, wq);
	return t;
}

/*
 * cancel_work_sync or flush_work of an idle item, n times: one that ran on system_percpu before
 * (`ran`: its pool is looked up) or one never queued (the fast path of both).
 */
u64 rwq_c_idle(int flush, int ran, int n)
{
	struct rwq_ctx *c = rwq_ctx_new();
	struct c_item it = { .ctx = c };
	u64 t0, t;
	int i;

	INIT_WORK_ONSTACK(&it.work, c_fn);
	if (ran) {
		C_PING(system_percpu_wq, -1, &it, c);
		flush_work(&it.work);
		rwq_settle();
	}
	t0 = rwq_now();
	if (flush) {
		for (i = 0; i < n; i++)
			flush_work(&it.work);
	} else {
		for (i = 0; i < n; i++)
			cancel_work_sync(&it.work);
	}
	t = rwq_now() - t0;
	destroy_work_on_stack(&it.work);
	rwq_ctx_free(c);
	return t;
}

/* Arm a delayed item (1000 jiffies) and cancel it (`sync`: cancel_delayed_work_sync), n times. */
u64 rwq_c_delayed(int queue, int sync, int n)
{
	struct workqueue_struct *wq = c_queue(queue, 0);
	struct c_ditem it = { .ctx = NULL };
	u64 t0, t;
	int i;

	INIT_DELAYED_WORK_ONSTACK(&it.dwork, c_dfn);
	queue_delayed_work(wq, &it.dwork, 1000);
	cancel_delayed_work(&it.dwork);
	t0 = rwq_now();
	if (sync) {
		for (i = 0; i < n; i++) {
			queue_delayed_work(wq, &it.dwork, 1000);
			cancel_delayed_work_sync(&it.dwork);
		}
	} else {
		for (i = 0; i < n; i++) {
			queue_delayed_work(wq, &it.dwork, 1000);
			cancel_delayed_work(&it.dwork);
		}
	}
	t = rwq_now() - t0;
	destroy_delayed_work_on_stack(&it.dwork);
	c_unqueue(queue, wq);
	return t;
}

/* Create and destroy a queue, per-CPU or unbound, n times. */
u64 rwq_c_create_destroy(int unbound, int n)
{
	unsigned int flags = unbound ? WQ_UNBOUND : WQ_PERCPU;
	u64 t0, t;
	int i;

	t0 = rwq_now();
	for (i = 0; i < n; i++)
		destroy_workqueue(alloc_workqueue("rwq_c_cd", flags, 0));
	t = rwq_now() - t0;
	return t;
}
