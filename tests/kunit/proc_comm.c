// SPDX-License-Identifier: GPL-2.0
/*
 * A test helper: the current task's name as /proc shows it (for a kworker, with the
 * description of the item it runs).
 */
#include <linux/err.h>
#include <linux/fs.h>

ssize_t rust_wq_test_proc_comm(char *buf, size_t len);

ssize_t rust_wq_test_proc_comm(char *buf, size_t len)
{
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	if (len == 0)
		return -EINVAL;
	f = filp_open("/proc/self/comm", O_RDONLY, 0);
	if (IS_ERR(f))
		return PTR_ERR(f);
	n = kernel_read(f, buf, len - 1, &pos);
	filp_close(f, NULL);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}
