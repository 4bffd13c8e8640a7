/* SPDX-License-Identifier: MIT */
/*
 * conn-rate: the new-connection rate and latency through a node's service rules (bench/datapath.sh).
 *
 *   conn-rate tcp|udp TARGETS SECONDS [--conc N] [--warmup S] [--src A,B,...] [--timeout-ms N] [--seed N]
 *
 * TARGETS holds lines "VIP PORT PROTO"; those of the other protocol are skipped.  N flows (default 16)
 * are kept in flight, each to a target picked at random, so that every service is hit.  A flow:
 *   tcp: socket, bind, non-blocking connect, send "ping\n", read two lines (tests/kernel/echo-server's
 *        greeting and its answer), close with SO_LINGER 0: a RST, no TIME_WAIT on either side;
 *   udp: socket, bind, connect, send "ping\n", read the answer datagram, close.
 * Every flow binds the next (source address, port) pair in turn, ports 10000-64999 on each --src
 * address, from a place the seed picks: no 5-tuple repeats within 55,000 x addresses flows, so every flow is new to conntrack and
 * goes through the NAT rules (never an old entry's cached mapping).
 * Latency: tcp, connect() to established (SYN out, SYN/ACK back through the DNAT); udp, the datagram
 * sent to its answer.  Only flows that end after the warm-up (default 1 s) and within SECONDS count.
 *
 * Prints "key value" lines: proto, seconds, flows (completed and counted), rate (flows per second),
 * errors (refused, reset, closed early: the first one's reason as first_error), timeouts (no answer
 * within --timeout-ms, default 2000), p50_us, p90_us, p99_us, max_us, and answered ADDR COUNT lines:
 * which address greeted (the pod that was chosen).  Exit 0 when it ran, 1 on a setup error, 2 on usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONC   1024
#define MAX_SRC    64
#define PORT_LO    10000u
#define PORT_HI    65000u		/* exclusive */
#define US_BUCKETS 100000u		/* 1 µs resolution up to 100 ms ... */
#define MS_BUCKETS 10000u		/* ... then 1 ms up to 10 s */
#define MAX_ANS    8

struct target {
	struct sockaddr_in sa;
};

struct flow {
	int fd;				/* -1: free */
	int connected;
	uint64_t t0, deadline;
	size_t fill;
	char buf[256];
};

static struct target *targets;
static size_t ntargets;
static struct in_addr srcs[MAX_SRC];
static unsigned nsrc, src_i, port_i;
static int udp;
static uint64_t rng;

static uint32_t hist_us[US_BUCKETS], hist_ms[MS_BUCKETS];
static unsigned long counted, errors, timeouts, max_us, latencies;
static char first_error[128];
static struct {
	char addr[INET6_ADDRSTRLEN];
	unsigned long n;
} answers[MAX_ANS];
static unsigned long other_answers;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t next_rand(void)	/* xorshift64*: cheap and good enough to spread targets */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static int read_targets(const char *path)
{
	FILE *f = fopen(path, "r");
	char addr[64], proto[16];
	unsigned port;
	size_t cap = 0;

	if (!f)
		return -1;
	while (fscanf(f, "%63s %u %15s", addr, &port, proto) == 3) {
		if (strcmp(proto, udp ? "udp" : "tcp"))
			continue;
		if (ntargets == cap) {
			struct target *t = realloc(targets, (cap = cap ? 2 * cap : 1024) * sizeof *t);
			if (!t)
				break;
			targets = t;
		}
		struct target *t = &targets[ntargets];
		memset(t, 0, sizeof *t);
		t->sa.sin_family = AF_INET;
		t->sa.sin_port = htons((uint16_t)port);
		if (port > 65535 || inet_pton(AF_INET, addr, &t->sa.sin_addr) != 1) {
			fprintf(stderr, "conn-rate: %s: bad target '%s %u'\n", path, addr, port);
			fclose(f);
			return -1;
		}
		ntargets++;
	}
	fclose(f);
	return ntargets ? 0 : -1;
}

static void record_latency(uint64_t ns)
{
	uint64_t us = ns / 1000;
	latencies++;
	if (us > max_us)
		max_us = us;
	if (us < US_BUCKETS)
		hist_us[us]++;
	else
		hist_ms[us / 1000 < MS_BUCKETS ? us / 1000 : MS_BUCKETS - 1]++;
}

/* the latency below which a fraction q of the recorded ones fall, in µs */
static unsigned long percentile(double q)
{
	unsigned long want = (unsigned long)(q * (double)latencies + 0.5), seen = 0;
	if (want == 0)
		want = 1;
	for (unsigned i = 0; i < US_BUCKETS; i++)
		if ((seen += hist_us[i]) >= want)
			return i;
	for (unsigned i = 0; i < MS_BUCKETS; i++)
		if ((seen += hist_ms[i]) >= want)
			return i * 1000ul;
	return max_us;
}

static void record_answer(const char *line)
{
	char addr[INET6_ADDRSTRLEN];
	if (sscanf(line, "%45s", addr) != 1)
		return;
	for (unsigned i = 0; i < MAX_ANS; i++) {
		if (!answers[i].addr[0])
			snprintf(answers[i].addr, sizeof answers[i].addr, "%s", addr);
		if (!strcmp(answers[i].addr, addr)) {
			answers[i].n++;
			return;
		}
	}
	other_answers++;
}

static void flow_close(struct flow *fl)
{
	close(fl->fd);			/* SO_LINGER 0: a TCP flow ends with a RST */
	fl->fd = -1;
}

static void flow_error(struct flow *fl, const char *why, int err, int counts)
{
	if (counts) {
		errors++;
		if (!first_error[0])
			snprintf(first_error, sizeof first_error, "%s%s%s", why, err ? ": " : "",
				 err ? strerror(err) : "");
	}
	flow_close(fl);
}

/* flow_start: a socket bound to the next free source pair, connecting to a random target */
static int flow_start(struct flow *fl, int ep, uint64_t t, uint64_t timeout_ns)
{
	const struct target *tg = &targets[next_rand() % ntargets];
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct linger lg = { 1, 0 };
	int fd, tries;

	fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (!udp && setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) < 0)
		goto fail;
	for (tries = 0;; tries++) {	/* a pair still held by a slow flow: take the next one */
		if (nsrc)
			src.sin_addr = srcs[src_i];
		src.sin_port = htons((uint16_t)(PORT_LO + port_i));
		if (++src_i >= (nsrc ? nsrc : 1)) {
			src_i = 0;
			port_i = (port_i + 1) % (PORT_HI - PORT_LO);
		}
		if (bind(fd, (struct sockaddr *)&src, sizeof src) == 0)
			break;
		if (errno != EADDRINUSE || tries > 1000)
			goto fail;
	}
	fl->t0 = t;
	fl->deadline = t + timeout_ns;
	fl->fill = 0;
	fl->connected = 0;
	if (connect(fd, (const struct sockaddr *)&tg->sa, sizeof tg->sa) < 0 && errno != EINPROGRESS)
		goto fail;
	if (udp && send(fd, "ping\n", 5, 0) != 5)
		goto fail;
	fl->fd = fd;
	struct epoll_event ev = { .events = udp ? EPOLLIN : EPOLLOUT, .data.ptr = fl };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "conn-rate: starting a flow: %s\n", strerror(errno));
	close(fd);
	fl->fd = -1;
	return -1;
}

/* flow_event: progress on fl; counts: it happened inside the measured window */
static void flow_event(struct flow *fl, int ep, uint64_t t, int counts)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (!udp && !fl->connected) {
		if (getsockopt(fl->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			flow_error(fl, "connect", err, counts);
			return;
		}
		fl->connected = 1;
		if (counts)
			record_latency(t - fl->t0);
		if (send(fl->fd, "ping\n", 5, MSG_NOSIGNAL) != 5) {
			flow_error(fl, "send", errno, counts);
			return;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = fl };
		if (epoll_ctl(ep, EPOLL_CTL_MOD, fl->fd, &ev) < 0)
			flow_error(fl, "epoll_ctl", errno, counts);
		return;
	}
	ssize_t n = recv(fl->fd, fl->buf + fl->fill, sizeof fl->buf - 1 - fl->fill, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		flow_error(fl, n < 0 ? "recv" : "closed before the answer", n < 0 ? errno : 0, counts);
		return;
	}
	fl->fill += (size_t)n;
	fl->buf[fl->fill] = 0;
	/* udp: the one datagram is the answer; tcp: the greeting, then the answer to "ping" */
	char *nl = strchr(fl->buf, '\n');
	if (!udp && !(nl && strchr(nl + 1, '\n'))) {
		if (fl->fill == sizeof fl->buf - 1)
			flow_error(fl, "answer too long", 0, counts);
		return;
	}
	if (counts) {
		if (udp)
			record_latency(t - fl->t0);
		record_answer(fl->buf);
		counted++;
	}
	flow_close(fl);
}

static int usage(void)
{
	fprintf(stderr, "usage: conn-rate tcp|udp TARGETS SECONDS [--conc N] [--warmup S] [--src A,B,...] "
		"[--timeout-ms N] [--seed N]\n");
	return 2;
}

static int parse_src(char *list)
{
	for (char *a = strtok(list, ","); a; a = strtok(NULL, ","))
		if (nsrc == MAX_SRC || inet_pton(AF_INET, a, &srcs[nsrc++]) != 1)
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct flow flows[MAX_CONC];
	double seconds, warmup = 1;
	unsigned long conc = 16, timeout_ms = 2000;
	char *end;
	int ep;

	if (argc < 4 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "udp")))
		return usage();
	udp = !strcmp(argv[1], "udp");
	seconds = strtod(argv[3], &end);
	if (*end || seconds <= 0)
		return usage();
	rng = 0x9e3779b97f4a7c15ull;
	for (int i = 4; i < argc; i++) {
		const char *o = argv[i];
		if (i + 1 == argc)
			return usage();
		char *v = argv[++i];
		if (!strcmp(o, "--conc"))
			conc = strtoul(v, &end, 10);
		else if (!strcmp(o, "--warmup"))
			warmup = strtod(v, &end);
		else if (!strcmp(o, "--timeout-ms"))
			timeout_ms = strtoul(v, &end, 10);
		else if (!strcmp(o, "--seed"))
			rng ^= strtoull(v, &end, 10) * 0x100000001b3ull;
		else if (!strcmp(o, "--src")) {
			if (parse_src(v) < 0)
				return usage();
			end = v + strlen(v);
		} else
			return usage();
		if (*end || conc == 0 || conc > MAX_CONC || warmup < 0 || timeout_ms == 0)
			return usage();
	}
	port_i = (unsigned)(next_rand() % (PORT_HI - PORT_LO));	/* runs with other seeds: other tuples */
	if (read_targets(argv[2]) < 0) {
		fprintf(stderr, "conn-rate: no %s targets in %s\n", argv[1], argv[2]);
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("conn-rate: epoll_create1");
		return 1;
	}

	uint64_t t = now_ns(), timeout_ns = timeout_ms * 1000000ull;
	uint64_t from = t + (uint64_t)(warmup * 1e9), until = from + (uint64_t)(seconds * 1e9);
	for (unsigned long i = 0; i < conc; i++)
		flows[i].fd = -1;
	while (t < until) {
		struct epoll_event evs[64];
		for (unsigned long i = 0; i < conc; i++) {
			struct flow *fl = &flows[i];
			if (fl->fd >= 0 && t > fl->deadline) {
				if (t >= from)
					timeouts++;
				flow_close(fl);
			}
			if (fl->fd < 0 && flow_start(fl, ep, t, timeout_ns) < 0)
				return 1;
		}
		int n = epoll_wait(ep, evs, 64, 10);
		if (n < 0 && errno != EINTR) {
			perror("conn-rate: epoll_wait");
			return 1;
		}
		t = now_ns();
		for (int i = 0; i < n; i++)
			flow_event(evs[i].data.ptr, ep, t, t >= from && t < until);
	}
	for (unsigned long i = 0; i < conc; i++)
		if (flows[i].fd >= 0)
			flow_close(&flows[i]);
	close(ep);
	free(targets);

	printf("proto %s\nseconds %.2f\nflows %lu\nrate %.1f\nerrors %lu\ntimeouts %lu\n", udp ? "udp" : "tcp",
	       seconds, counted, (double)counted / seconds, errors, timeouts);
	printf("p50_us %lu\np90_us %lu\np99_us %lu\nmax_us %lu\n", percentile(0.5), percentile(0.9),
	       percentile(0.99), max_us);
	if (first_error[0])
		printf("first_error %s\n", first_error);
	for (unsigned i = 0; i < MAX_ANS && answers[i].addr[0]; i++)
		printf("answered %s %lu\n", answers[i].addr, answers[i].n);
	if (other_answers)
		printf("answered other %lu\n", other_answers);
	return 0;
}
