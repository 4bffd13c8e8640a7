// SPDX-License-Identifier: MIT
/*
 * udp-fixed: a UDP client that always sends from the same source port, as
 * a DNS resolver does (pairs with echo-server).
 *
 *   udp-fixed ADDR PORT SPORT COUNT [--timeout-ms N]
 *
 * Binds SPORT (on the wildcard address of ADDR's family), connects to
 * ADDR:PORT and sends "ping\n" COUNT times, one after the other, printing
 * per attempt the answer line ("<server addr> <peer addr> udp <port>
 * <peer port>"), or timeout / refused / error <message>.  Every attempt of
 * every run has the same 5-tuple, so conntrack keeps one entry for them:
 * where its first packet was DNATed, all later ones go.
 * Exit status 0 when all attempts ran, 1 when the socket could not be set
 * up, 2 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static long number(const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= min && v <= max ? v : -1;
}

static void attempt(int fd, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	char buf[512];

	if (send(fd, "ping\n", 5, 0) < 0) {
		printf("%s\n", errno == ECONNREFUSED ? "refused" : strerror(errno));
		return;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;

		if (left < 0 || poll(&p, 1, (int)left) == 0) {
			printf("timeout\n");
			return;
		}
		n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			if (errno == ECONNREFUSED)
				printf("refused\n");
			else
				printf("error %s\n", strerror(errno));
			return;
		}
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		printf("%s\n", buf);
		return;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_storage dst = { 0 }, src = { 0 };
	struct sockaddr_in *d4 = (struct sockaddr_in *)&dst, *s4 = (struct sockaddr_in *)&src;
	struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&dst, *s6 = (struct sockaddr_in6 *)&src;
	long port, sport, count, timeout = 1000;
	socklen_t sl;
	int fd, one = 1;

	if (argc == 7 && !strcmp(argv[5], "--timeout-ms"))
		timeout = number(argv[6], 1, 60000);
	else if (argc != 5)
		timeout = -1;
	port = argc >= 5 ? number(argv[2], 1, 65535) : -1;
	sport = argc >= 5 ? number(argv[3], 1, 65535) : -1;
	count = argc >= 5 ? number(argv[4], 1, 100000) : -1;
	if (timeout < 0 || port < 0 || sport < 0 || count < 0) {
		fprintf(stderr, "usage: udp-fixed ADDR PORT SPORT COUNT [--timeout-ms N]\n");
		return 2;
	}
	if (inet_pton(AF_INET, argv[1], &d4->sin_addr) == 1) {
		d4->sin_family = s4->sin_family = AF_INET;
		d4->sin_port = htons((uint16_t)port);
		s4->sin_port = htons((uint16_t)sport);
		sl = sizeof(*d4);
	} else if (inet_pton(AF_INET6, argv[1], &d6->sin6_addr) == 1) {
		d6->sin6_family = s6->sin6_family = AF_INET6;
		d6->sin6_port = htons((uint16_t)port);
		s6->sin6_port = htons((uint16_t)sport);
		sl = sizeof(*d6);
	} else {
		fprintf(stderr, "udp-fixed: bad address %s\n", argv[1]);
		return 2;
	}
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&src, sl) || connect(fd, (struct sockaddr *)&dst, sl)) {
		perror("udp-fixed");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (long i = 0; i < count; i++)
		attempt(fd, (int)timeout);
	close(fd);
	return 0;
}
