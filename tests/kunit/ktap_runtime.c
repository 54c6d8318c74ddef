// SPDX-License-Identifier: GPL-2.0
/*
 * rust_wq's KUnit suites on a kernel without KUnit (a distribution's): the C half of ktap.rs.
 * Each case runs in a kthread of its own, as under KUnit, so that an assertion knows whether it
 * runs on the case's thread (it counts) or elsewhere (a work item's: it does not, as in KUnit).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/string.h>

struct rwq_ktap_case {
	void (*run)(void *arg);
	void *arg;
	struct completion done;
	struct task_struct *task;
	int failures;
};

int rust_wq_ktap_run_case(void (*run)(void *arg), void *arg);
void rust_wq_ktap_fail(const char *file, unsigned int line, const char *what);

/* The case running now (one at a time), and whether one is running. */
static struct rwq_ktap_case rwq_ktap_case;
static bool rwq_ktap_running;

static int rwq_ktap_case_fn(void *data)
{
	struct rwq_ktap_case *c = data;

	c->run(c->arg);
	kthread_complete_and_exit(&c->done, 0);
}

/* Runs `run(arg)` in a kthread of its own and waits for it; the assertions that failed in it. */
int rust_wq_ktap_run_case(void (*run)(void *arg), void *arg)
{
	struct rwq_ktap_case *c = &rwq_ktap_case;
	struct task_struct *task;

	c->run = run;
	c->arg = arg;
	c->failures = 0;
	init_completion(&c->done);
	task = kthread_create(rwq_ktap_case_fn, c, "rwq_ktap");
	if (IS_ERR(task))
		return 1;
	WRITE_ONCE(c->task, task);
	WRITE_ONCE(rwq_ktap_running, true);
	wake_up_process(task);
	wait_for_completion(&c->done);
	WRITE_ONCE(rwq_ktap_running, false);
	WRITE_ONCE(c->task, NULL);
	return c->failures;
}

/*
 * A failed assertion: on the case's thread it fails the case and ends it, as KUnit does (its
 * kthread exits: what the case holds is not dropped); elsewhere it is only reported.
 */
void rust_wq_ktap_fail(const char *file, unsigned int line, const char *what)
{
	struct rwq_ktap_case *c = &rwq_ktap_case;

	/* ktap_suites.py keeps the lines of tests/kunit/<suite>.rs in <out>/ktap_<suite>.rs. */
	const char *base = strrchr(file, '/');

	base = base ? base + 1 : file;
	if (!strncmp(base, "ktap_", 5))
		base += 5;
	pr_info("        # ASSERTION FAILED at tests/kunit/%s:%u\n", base, line);
	pr_info("        Expected %s\n", what);
	if (READ_ONCE(rwq_ktap_running) && READ_ONCE(c->task) == current) {
		c->failures++;
		kthread_complete_and_exit(&c->done, 0);
	}
	pr_info("        Failure not counted: not on the thread of a test case\n");
}
