// SPDX-License-Identifier: GPL-2.0
/*
 * rust_wq_edu_client: drives /dev/rust_wq_edu (the rust_wq_edu sample driver).
 *
 *   rust_wq_edu_client demo  [N]        N factorial requests plus N/2 raised interrupts; prints a
 *                                       table of the records and latency figures
 *   rust_wq_edu_client check LABEL [N]  the same, checked; prints a KTAP document (to /dev/kmsg
 *                                       when it can, so that it lands in order in the console)
 *   rust_wq_edu_client flood [N]        submits N requests and exits without waiting
 *
 * Exit status: 0 when every check passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEV "/dev/rust_wq_edu"
#define MAX_RECS 8192

struct rec {
	long seq;
	char kind[8];
	unsigned long in, result;
	int irq_cpu, bh_cpu, hardirq, bh_task;
	char worker[24];
	long latency_us;
};

static struct rec recs[MAX_RECS];
static int nrecs;
static long stats_irqs = -1, stats_coalesced, stats_bh_runs, stats_lost;
static char stats_queue[64];
/* Whether the counts of the last stats agreed (else the wait for them ran out). */
static int settled;
static int kmsg = -1;

static void out(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (kmsg >= 0 && write(kmsg, line, n) == n)
		return;
	fputs(line, stdout);
	fflush(stdout);
}

static int submit(int fd, const char *cmd)
{
	if (write(fd, cmd, strlen(cmd)) < 0) {
		fprintf(stderr, "write '%s': %s\n", cmd, strerror(errno));
		return -1;
	}
	return 0;
}

static void parse_line(char *line)
{
	struct rec *r;

	if (!strncmp(line, "stats ", 6)) {
		char *q = strstr(line, "queue=");

		sscanf(line, "stats irqs=%ld coalesced=%ld bh_runs=%ld lost=%ld", &stats_irqs,
		       &stats_coalesced, &stats_bh_runs, &stats_lost);
		if (q)
			snprintf(stats_queue, sizeof(stats_queue), "%s", q + 6);
		return;
	}
	if (nrecs == MAX_RECS)
		return;
	r = &recs[nrecs];
	if (sscanf(line,
		   "rec seq=%ld kind=%7s in=%lu result=%lu irq_cpu=%d bh_cpu=%d worker=%23s "
		   "latency_us=%ld hardirq=%d bh_task=%d",
		   &r->seq, r->kind, &r->in, &r->result, &r->irq_cpu, &r->bh_cpu, r->worker,
		   &r->latency_us, &r->hardirq, &r->bh_task) == 10)
		nrecs++;
}

/* Reads lines until `want` records (or a stats line, with want < 0) have arrived. */
static int read_until(int fd, int want)
{
	static char buf[65536], acc[131072];
	static size_t have;

	while (want >= 0 ? nrecs < want : stats_irqs < 0) {
		ssize_t n = read(fd, buf, sizeof(buf));
		char *start, *nl;

		if (n <= 0) {
			fprintf(stderr, "read: %s\n", n ? strerror(errno) : "end of file");
			return -1;
		}
		if (have + n > sizeof(acc))
			return -1;
		memcpy(acc + have, buf, n);
		have += n;
		start = acc;
		while ((nl = memchr(start, '\n', acc + have - start))) {
			*nl = 0;
			parse_line(start);
			start = nl + 1;
		}
		have = acc + have - start;
		memmove(acc, start, have);
	}
	return 0;
}

static uint32_t factorial(uint32_t n)
{
	uint32_t f = 1;

	for (uint32_t i = 2; i <= n; i++)
		f *= i;
	return f;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static long lat[MAX_RECS];

static void latency(long *min, long *med, long *p99, long *max)
{
	for (int i = 0; i < nrecs; i++)
		lat[i] = recs[i].latency_us;
	qsort(lat, nrecs, sizeof(lat[0]), cmp_long);
	*min = lat[0];
	*med = lat[nrecs / 2];
	*p99 = lat[(nrecs * 99) / 100 < nrecs ? (nrecs * 99) / 100 : nrecs - 1];
	*max = lat[nrecs - 1];
}

/* Submits n factorials and n/2 raises, then reads every record and a stats line. */
static int exchange(int fd, int n, int wait)
{
	char cmd[32];
	int raises = n / 2, tries;

	for (int i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "fact %d", i % 13 + 1);
		if (submit(fd, cmd))
			return -1;
		if (i % 2 == 0 && i / 2 < raises && submit(fd, "raise 1"))
			return -1;
	}
	if (!wait)
		return 0;
	if (read_until(fd, n + raises))
		return -1;
	/*
	 * A bottom half queued by the last interrupt may still be on its way: ask again, every
	 * 20 ms for up to a minute (a patience no machine needs, so the check does not depend on
	 * its speed); `settled` tells a count that never settled from a wrong one.
	 */
	for (tries = 0; tries < 3000; tries++) {
		stats_irqs = -1;
		if (submit(fd, "stats") || read_until(fd, -1))
			return -1;
		if (stats_irqs == stats_bh_runs + stats_coalesced) {
			settled = 1;
			break;
		}
		usleep(20000);
	}
	return 0;
}

struct check {
	const char *name;
	int ok;
	char detail[160];
};

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "demo";
	const char *label = "edu";
	int n = 100, fd, failed = 0, fact = 0, raise = 0;
	struct check c[8];
	int nc = 0;
	long min = 0, med = 0, p99 = 0, max = 0;

	if (!strcmp(mode, "check")) {
		label = argc > 2 ? argv[2] : "edu";
		n = argc > 3 ? atoi(argv[3]) : 100;
		kmsg = open("/dev/kmsg", O_WRONLY);
	} else if (argc > 2) {
		n = atoi(argv[2]);
	}
	if (n < 1 || n > MAX_RECS / 2)
		n = 100;
	fd = open(DEV, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "%s: %s\n", DEV, strerror(errno));
		return 2;
	}
	if (!strcmp(mode, "flood"))
		return exchange(fd, n, 0) ? 1 : 0;
	if (exchange(fd, n, 1)) {
		if (!strcmp(mode, "check"))
			out("KTAP version 1\n1..1\nnot ok 1 rust_wq_edu_%s # no answer from %s\n",
			    label, DEV);
		return 1;
	}

	/* Every request produced exactly one record: sequence numbers are unique. */
	{
		int dup = 0;

		for (int i = 0; i < nrecs; i++) {
			fact += !strcmp(recs[i].kind, "fact");
			raise += !strcmp(recs[i].kind, "raise");
			for (int j = 0; j < i; j++)
				dup += recs[i].seq == recs[j].seq;
		}
		c[nc] = (struct check){ .name = "every_request_produced_exactly_one_record", .ok =
					fact == n && raise == n / 2 && dup == 0 };
		snprintf(c[nc++].detail, 160, "%d factorial and %d raise records for %d and %d requests, %d duplicates",
			 fact, raise, n, n / 2, dup);
	}
	{
		int bad = 0;

		for (int i = 0; i < nrecs; i++)
			if (!strcmp(recs[i].kind, "fact") &&
			    recs[i].result != factorial(recs[i].in))
				bad++;
		c[nc] = (struct check){ .name = "factorial_results_are_correct", .ok = bad == 0 };
		snprintf(c[nc++].detail, 160, "%d wrong results", bad);
	}
	{
		int bad = 0;

		for (int i = 0; i < nrecs; i++)
			bad += !recs[i].hardirq;
		c[nc] = (struct check){ .name = "top_half_ran_in_hard_irq_context", .ok = bad == 0 };
		snprintf(c[nc++].detail, 160, "%d top halves outside hard IRQ", bad);
	}
	{
		int bad = 0;

		for (int i = 0; i < nrecs; i++)
			bad += !recs[i].bh_task || strncmp(recs[i].worker, "kworker/", 8);
		c[nc] = (struct check){ .name = "bottom_half_ran_preemptible_on_a_kworker", .ok = bad == 0 };
		snprintf(c[nc++].detail, 160, "%d bottom halves outside a preemptible kworker", bad);
	}
	c[nc] = (struct check){ .name = "interrupts_are_accounted_not_lost", .ok =
				stats_irqs >= 0 && stats_lost == 0 &&
					stats_irqs == stats_bh_runs + stats_coalesced };
	snprintf(c[nc++].detail, 160, "%sirqs=%ld bottom halves=%ld coalesced=%ld lost=%ld",
		 settled ? "" : "too slow to finish: not settled after 60 s: ", stats_irqs,
		 stats_bh_runs, stats_coalesced, stats_lost);
	latency(&min, &med, &p99, &max);
	c[nc] = (struct check){ .name = "latency_figures_are_measured", .ok = min >= 0 && max >= min };
	snprintf(c[nc++].detail, 160, "irq->bottom half latency us: min %ld median %ld p99 %ld max %ld",
		 min, med, p99, max);

	for (int i = 0; i < nc; i++)
		failed += !c[i].ok;

	if (!strcmp(mode, "check")) {
		out("KTAP version 1\n");
		out("1..1\n");
		out("    KTAP version 1\n");
		out("    # Subtest: rust_wq_edu_%s\n", label);
		out("    1..%d\n", nc);
		for (int i = 0; i < nc; i++) {
			out("    # %s: %s\n", c[i].name, c[i].detail);
			out("    %s %d %s\n", c[i].ok ? "ok" : "not ok", i + 1, c[i].name);
		}
		out("%s 1 rust_wq_edu_%s\n", failed ? "not ok" : "ok", label);
		return failed ? 1 : 0;
	}

	printf("\n%5s %-5s %5s %11s %7s %6s %-16s %10s\n", "seq", "kind", "in", "result",
	       "irq_cpu", "bh_cpu", "worker", "latency_us");
	for (int i = 0; i < nrecs; i++)
		printf("%5ld %-5s %5lu %11lu %7d %6d %-16s %10ld\n", recs[i].seq, recs[i].kind,
		       recs[i].in, recs[i].result, recs[i].irq_cpu, recs[i].bh_cpu, recs[i].worker,
		       recs[i].latency_us);
	printf("\nqueue: %s\n", stats_queue);
	printf("device interrupts: %ld, bottom halves: %ld, coalesced: %ld, lost: %ld\n", stats_irqs,
	       stats_bh_runs, stats_coalesced, stats_lost);
	printf("requests: %d factorials, %d raised interrupts; records: %d\n", n, n / 2, nrecs);
	printf("IRQ -> bottom half latency (us): min %ld, median %ld, p99 %ld, max %ld\n", min, med,
	       p99, max);
	for (int i = 0; i < nc; i++)
		printf("%-44s %s  (%s)\n", c[i].name, c[i].ok ? "ok" : "FAILED", c[i].detail);
	return failed ? 1 : 0;
}
