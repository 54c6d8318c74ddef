// SPDX-License-Identifier: GPL-2.0
/* NUMA nodes as queue_work_node() sees them (macros without NUMA). */

#include <linux/cpumask.h>
#include <linux/nodemask.h>
#include <linux/topology.h>

#include "glue.h"

bool rust_wq_node_online(int node)
{
	return node_online(node);
}

unsigned int rust_wq_nr_node_ids(void)
{
	return nr_node_ids;
}

/* The node of a possible CPU, -1 for any other id (no per-CPU data of its own). */
int rust_wq_cpu_to_node(int cpu)
{
	if (cpu < 0 || cpu >= nr_cpu_ids || !cpu_possible(cpu))
		return -1;
	return cpu_to_node(cpu);
}
