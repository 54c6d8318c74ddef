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

/* The case running now: one at a time. */
static struct rwq_ktap_case *rwq_ktap_current;

int rust_wq_ktap_run_case(void (*run)(void *arg), void *arg);
void rust_wq_ktap_fail(const char *file, unsigned int line, const char *what);

static int rwq_ktap_case_fn(void *data)
{
	struct rwq_ktap_case *c = data;

	c->run(c->arg);
	kthread_complete_and_exit(&c->done, 0);
}

/* Runs `run(arg)` in a kthread of its own and waits for it; the assertions that failed in it. */
int rust_wq_ktap_run_case(void (*run)(void *arg), void *arg)
{
	struct rwq_ktap_case c = { .run = run, .arg = arg };

	init_completion(&c.done);
	c.task = kthread_create(rwq_ktap_case_fn, &c, "rwq_ktap");
	if (IS_ERR(c.task))
		return 1;
	WRITE_ONCE(rwq_ktap_current, &c);
	wake_up_process(c.task);
	wait_for_completion(&c.done);
	WRITE_ONCE(rwq_ktap_current, NULL);
	return c.failures;
}

/* A failed assertion: counted for the case if it runs on the case's thread. */
void rust_wq_ktap_fail(const char *file, unsigned int line, const char *what)
{
	struct rwq_ktap_case *c = READ_ONCE(rwq_ktap_current);

	/* ktap_suites.py keeps the lines of tests/kunit/<suite>.rs in <out>/ktap_<suite>.rs. */
	const char *base = strrchr(file, '/');

	base = base ? base + 1 : file;
	if (!strncmp(base, "ktap_", 5))
		base += 5;
	pr_info("        # ASSERTION FAILED at tests/kunit/%s:%u\n", base, line);
	pr_info("        Expected %s\n", what);
	if (c && c->task == current)
		c->failures++;
	else
		pr_info("        Failure not counted: not on the thread of a test case\n");
}
