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
#include <linux/irqflags.h>
#include <linux/ktime.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

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
int rwq_pin_cpu0(void);
void rwq_fifo(bool on);
u64 rwq_calibrate(void);
u64 rwq_c_ping(int queue, int n);
u64 rwq_c_burst(int max_active, int n);
u64 rwq_c_pending(int queue, int n);
u64 rwq_c_queue_cancel(int n);
u64 rwq_c_idle(int flush, int n);
u64 rwq_c_delayed(int queue, int n);
u64 rwq_c_create_destroy(int n);
u64 rwq_c_xping(int cpu, int n);
u64 rwq_c_burst4(int cpus, int n);

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

int rwq_pin_cpu0(void)
{
	return set_cpus_allowed_ptr(current, cpumask_of(0));
}

void rwq_fifo(bool on)
{
	if (on)
		sched_set_fifo(current);
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

/* Queue 0: an owned per-CPU queue (allocated per call, outside the timing); 1: system_percpu. */
static struct workqueue_struct *c_queue(int queue, int max_active)
{
	if (queue)
		return system_percpu_wq;
	return alloc_workqueue("rwq_c", WQ_PERCPU, max_active);
}

static void c_unqueue(int queue, struct workqueue_struct *wq)
{
	if (!queue)
		destroy_workqueue(wq);
}

/* Ping-pong: queue one item on `cpu`'s pool (-1: the local CPU), wait for it, n times. */
static __always_inline u64 c_ping(int queue, int cpu, int n)
{
	struct workqueue_struct *wq = c_queue(queue, 0);
	struct rwq_ctx *c = rwq_ctx_new();
	struct c_item it = { .ctx = c };
	u64 t0, t;
	int i;

	INIT_WORK_ONSTACK(&it.work, c_fn);
	t0 = rwq_now();
	for (i = 0; i < n; i++) {
		rwq_ctx_arm(c, 1);
		if (cpu < 0)
			queue_work(wq, &it.work);
		else
			queue_work_on(cpu, wq, &it.work);
		rwq_ctx_wait(c);
	}
	t = rwq_now() - t0;
	flush_work(&it.work);
	destroy_work_on_stack(&it.work);
	rwq_ctx_free(c);
	c_unqueue(queue, wq);
	return t;
}

u64 rwq_c_ping(int queue, int n)
{
	return c_ping(queue, -1, n);
}

/* A burst of n items on an owned per-CPU queue, over CPUs 0 .. cpus - 1 (0: the local CPU). */
static __always_inline u64 c_burst(int max_active, int cpus, int n)
{
	struct workqueue_struct *wq = c_queue(0, max_active);
	struct rwq_ctx *c = rwq_ctx_new();
	struct c_item *items = kcalloc(n, sizeof(*items), GFP_KERNEL);
	u64 t0, t;
	int i;

	for (i = 0; i < n; i++) {
		INIT_WORK(&items[i].work, c_fn);
		items[i].ctx = c;
	}
	rwq_ctx_arm(c, n);
	t0 = rwq_now();
	rwq_preempt_off();
	for (i = 0; i < n; i++) {
		if (cpus)
			queue_work_on(i % cpus, wq, &items[i].work);
		else
			queue_work(wq, &items[i].work);
	}
	rwq_preempt_on();
	rwq_ctx_wait(c);
	t = rwq_now() - t0;
	destroy_workqueue(wq);
	kfree(items);
	rwq_ctx_free(c);
	return t;
}

u64 rwq_c_burst(int max_active, int n)
{
	return c_burst(max_active, 0, n);
}

u64 rwq_c_pending(int queue, int n)
{
	struct workqueue_struct *wq = c_queue(queue, 0);
	struct rwq_ctx *c = rwq_ctx_new();
	struct c_item it = { .ctx = c };
	u64 t0, t;
	int i;

	INIT_WORK_ONSTACK(&it.work, c_fn);
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

u64 rwq_c_queue_cancel(int n)
{
	struct workqueue_struct *wq = c_queue(0, 0);
	struct c_item it = { .ctx = NULL };
	u64 t0, t;
	int i;

	INIT_WORK_ONSTACK(&it.work, c_fn);
	rwq_preempt_off();
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

u64 rwq_c_idle(int flush, int n)
{
	struct c_item it = { .ctx = NULL };
	u64 t0, t;
	int i;

	INIT_WORK_ONSTACK(&it.work, c_fn);
	t0 = rwq_now();
	for (i = 0; i < n; i++) {
		if (flush)
			flush_work(&it.work);
		else
			cancel_work_sync(&it.work);
	}
	t = rwq_now() - t0;
	destroy_work_on_stack(&it.work);
	return t;
}

u64 rwq_c_delayed(int queue, int n)
{
	struct workqueue_struct *wq = c_queue(queue, 0);
	struct c_ditem it = { .ctx = NULL };
	u64 t0, t;
	int i;

	INIT_DELAYED_WORK_ONSTACK(&it.dwork, c_dfn);
	t0 = rwq_now();
	for (i = 0; i < n; i++) {
		queue_delayed_work(wq, &it.dwork, 1000);
		cancel_delayed_work(&it.dwork);
	}
	t = rwq_now() - t0;
	destroy_delayed_work_on_stack(&it.dwork);
	c_unqueue(queue, wq);
	return t;
}

u64 rwq_c_create_destroy(int n)
{
	u64 t0, t;
	int i;

	t0 = rwq_now();
	for (i = 0; i < n; i++)
		destroy_workqueue(alloc_workqueue("rwq_c_cd", WQ_PERCPU, 0));
	t = rwq_now() - t0;
	return t;
}

/* Ping-pong across CPUs: the driver (on CPU 0) queues on `cpu`'s pool of an owned queue. */
u64 rwq_c_xping(int cpu, int n)
{
	return c_ping(0, cpu, n);
}

/* A burst spread over CPUs 0 .. cpus - 1 of an owned per-CPU queue, then the wait for all. */
u64 rwq_c_burst4(int cpus, int n)
{
	return c_burst(0, cpus, n);
}
