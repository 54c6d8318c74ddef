// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's insmod (scripts/qemu-run.sh builds it static): one finit_module() call per load,
 * as kmod's insmod makes. Busybox's insmod loads the module a second time through init_module()
 * when finit_module() fails, whatever the error, so a module whose init fails would run it
 * twice and print its messages twice.
 *
 * usage: insmod FILE [PARAM=VALUE...]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t len = 1;
	char *params;
	int fd, i;

	if (argc < 2) {
		fprintf(stderr, "usage: insmod FILE [PARAM=VALUE...]\n");
		return 1;
	}
	for (i = 2; i < argc; i++)
		len += strlen(argv[i]) + 1;
	params = calloc(1, len);
	if (!params) {
		perror("insmod");
		return 1;
	}
	for (i = 2; i < argc; i++) {
		if (i > 2)
			strcat(params, " ");
		strcat(params, argv[i]);
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || syscall(SYS_finit_module, fd, params, 0) != 0) {
		fprintf(stderr, "insmod: can't insert '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	return 0;
}
