/* SPDX-License-Identifier: MIT */
/*
 * rusage: run a command and report its wall time and the user and system CPU time of it and its
 * children (wait4's rusage; the system time is the kernel's work on its behalf).
 *
 *   rusage -o OUT CMD [ARG...]     writes "WALL USER SYS MAXRSS\n" to OUT (seconds, and the
 *                                  peak resident set of CMD or any child it waited for, in KiB)
 *
 * CMD's stdin/stdout/stderr are left alone.  Exit status: CMD's (128+N if killed by signal N),
 * 127 if it could not be run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double tv(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	int status;
	pid_t pid;
	FILE *out;

	if (argc < 4 || strcmp(argv[1], "-o")) {
		fprintf(stderr, "usage: rusage -o OUT CMD [ARG...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "rusage: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("rusage: wait4");
			return 127;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (!(out = fopen(argv[2], "w"))) {
		fprintf(stderr, "rusage: %s: %s\n", argv[2], strerror(errno));
		return 127;
	}
	fprintf(out, "%.4f %.3f %.3f %ld\n",
		(double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9,
		tv(ru.ru_utime), tv(ru.ru_stime), ru.ru_maxrss);
	if (fclose(out))
		return 127;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
