/*
 * sctp-raw: SCTP packets over raw IPv4 sockets, for kernels without an SCTP
 * stack (no IPPROTO_SCTP stream sockets) whose netfilter still tracks and
 * NATs SCTP.  Only INIT chunks are sent; nothing ever answers them, but each
 * INIT from a fresh source port is a fresh conntrack entry, which is all a
 * DNAT test needs.
 *
 * Usage:
 *   sctp-raw send SRC DST DPORT COUNT [--sport-base N] [--icmp-ms N] [--bad-crc]
 *   sctp-raw listen ADDR SECONDS [--count N]
 *   sctp-raw selftest
 *
 * send: COUNT packets from SRC (bound; the kernel writes the IP header) to
 *   DST, source ports N, N+1, ... (default 40000), each one SCTP common
 *   header (verification tag 0, as RFC 9260 requires for a packet carrying
 *   INIT - conntrack refuses an INIT with a non-zero tag) plus one INIT chunk:
 *   random non-zero initiate tag, a_rwnd 65535, 10 outbound / 65535 inbound
 *   streams, random initial TSN, and a CRC32c checksum over it all
 *   (--bad-crc: deliberately wrong).  Prints one line per packet sent:
 *       sent SPORT ITAG                  ITAG as 0x%08x
 *   With --icmp-ms N a raw ICMP socket (opened before the first send) then
 *   collects, for up to N ms or until COUNT have arrived, ICMP errors that
 *   quote one of our SCTP packets:
 *       icmp TYPE CODE FROM QUOTED-DST QUOTED-DPORT QUOTED-SPORT
 *   then "icmp-done N".
 *
 * listen: receives SCTP packets addressed to ADDR (raw socket bound to it)
 *   for SECONDS (fractions allowed), or until --count N arrived, or until
 *   SIGTERM/SIGINT; prints "ready ADDR" on stderr once listening, then one
 *   stdout line (flushed) per packet:
 *       SRC SPORT DST DPORT CHUNK ITAG VTAG CRC
 *   CHUNK: "init" or "chunk-<type>" (the first chunk), ITAG: the INIT's
 *   initiate tag (0x%08x) or "-", VTAG: the common header's verification tag,
 *   CRC: "crc-ok" or "crc-bad" (checked here, so a NAT that rewrote ports
 *   without fixing the checksum shows).  On the end "done N" goes to stderr.
 *   Having a raw socket for protocol 132 open also keeps the kernel from
 *   answering with ICMP protocol unreachable.
 *
 * selftest: checks the CRC32c against the standard check value.
 *
 * Exit status: 0 ok, 1 a socket error, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

/* ---- CRC32c (Castagnoli, reflected polynomial 0x82f63b78), table-driven */
static uint32_t crc_table[256];

static void crc32c_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	while (n--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

/* The SCTP checksum: CRC32c over the packet with the checksum field zero,
 * stored least significant byte first (RFC 9260 appendix A; Linux stores
 * cpu_to_le32 of it). */
static uint32_t sctp_crc(const uint8_t *pkt, size_t n)
{
	uint8_t tmp[2048];
	if (n > sizeof tmp || n < 12)
		return 0;
	memcpy(tmp, pkt, n);
	memset(tmp + 8, 0, 4);
	return crc32c(tmp, n);
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = (v >> 16) & 0xff; p[2] = (v >> 8) & 0xff; p[3] = v & 0xff;
}
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put_crc(uint8_t *p, uint32_t crc)
{
	p[0] = crc & 0xff; p[1] = (crc >> 8) & 0xff; p[2] = (crc >> 16) & 0xff; p[3] = crc >> 24;
}
static uint32_t get_crc(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t random32(void)
{
	uint32_t v;
	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		v = (uint32_t)ts.tv_nsec * 2654435761u ^ (uint32_t)getpid();
	}
	return v;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: sctp-raw send SRC DST DPORT COUNT [--sport-base N] [--icmp-ms N] [--bad-crc]\n"
		"       sctp-raw listen ADDR SECONDS [--count N]\n"
		"       sctp-raw selftest\n");
	return 2;
}

static int parse_addr(const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1) {
		fprintf(stderr, "sctp-raw: bad IPv4 address '%s'\n", s);
		return -1;
	}
	return 0;
}

static int parse_num(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "sctp-raw: bad number '%s'\n", s);
		return -1;
	}
	*out = v;
	return 0;
}

/* ---- send ---------------------------------------------------------------- */

#define INIT_LEN 32 /* common header 12 + chunk header 4 + INIT header 16 */

static void build_init(uint8_t *pkt, uint16_t sport, uint16_t dport, uint32_t itag, int bad_crc)
{
	memset(pkt, 0, INIT_LEN);
	put16(pkt + 0, sport);
	put16(pkt + 2, dport);
	put32(pkt + 4, 0);           /* verification tag: 0 on an INIT */
	pkt[12] = 1;                 /* chunk type INIT */
	pkt[13] = 0;                 /* flags */
	put16(pkt + 14, 20);         /* chunk length (no parameters) */
	put32(pkt + 16, itag);       /* initiate tag, non-zero */
	put32(pkt + 20, 65535);      /* a_rwnd */
	put16(pkt + 24, 10);         /* outbound streams */
	put16(pkt + 26, 65535);      /* inbound streams */
	put32(pkt + 28, random32()); /* initial TSN */
	uint32_t crc = sctp_crc(pkt, INIT_LEN);
	put_crc(pkt + 8, bad_crc ? crc ^ 0x5a5a5a5au : crc);
}

/* An ICMP error quoting one of our SCTP packets: print it, return 1. */
static int icmp_report(const uint8_t *buf, ssize_t n, struct in_addr from)
{
	if (n < 20)
		return 0;
	size_t ihl = (buf[0] & 0x0f) * 4u;
	if (buf[9] != IPPROTO_ICMP || (size_t)n < ihl + 8 + 20)
		return 0;
	const uint8_t *icmp = buf + ihl;
	if (icmp[0] != 3 && icmp[0] != 11 && icmp[0] != 12)
		return 0; /* not an error (echo etc.) */
	const uint8_t *q = icmp + 8;
	size_t qihl = (q[0] & 0x0f) * 4u;
	if (q[9] != IPPROTO_SCTP || (size_t)n < ihl + 8 + qihl + 4)
		return 0;
	char f[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
	struct in_addr qd;
	memcpy(&qd, q + 16, 4);
	inet_ntop(AF_INET, &from, f, sizeof f);
	inet_ntop(AF_INET, &qd, d, sizeof d);
	printf("icmp %u %u %s %s %u %u\n", icmp[0], icmp[1], f, d, get16(q + qihl + 2), get16(q + qihl));
	fflush(stdout);
	return 1;
}

static int do_send(int argc, char **argv)
{
	struct in_addr src, dst;
	long dport, count, sport_base = 40000, icmp_ms = -1;
	int bad_crc = 0;
	if (argc < 4 || parse_addr(argv[0], &src) || parse_addr(argv[1], &dst) ||
	    parse_num(argv[2], 1, 65535, &dport) || parse_num(argv[3], 1, 65535, &count))
		return usage();
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--sport-base") && i + 1 < argc) {
			if (parse_num(argv[++i], 1, 65535, &sport_base))
				return usage();
		} else if (!strcmp(argv[i], "--icmp-ms") && i + 1 < argc) {
			if (parse_num(argv[++i], 0, 600000, &icmp_ms))
				return usage();
		} else if (!strcmp(argv[i], "--bad-crc")) {
			bad_crc = 1;
		} else {
			return usage();
		}
	}
	if (sport_base + count - 1 > 65535) {
		fprintf(stderr, "sctp-raw: source ports would pass 65535\n");
		return 2;
	}

	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_SCTP);
	if (fd < 0) {
		fprintf(stderr, "sctp-raw: socket(AF_INET, SOCK_RAW, IPPROTO_SCTP): %s\n", strerror(errno));
		return 1;
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = src };
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "sctp-raw: bind %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	int ifd = -1;
	if (icmp_ms >= 0) {
		ifd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
		if (ifd < 0) {
			fprintf(stderr, "sctp-raw: socket(ICMP): %s\n", strerror(errno));
			return 1;
		}
	}

	struct sockaddr_in da = { .sin_family = AF_INET, .sin_addr = dst };
	for (long i = 0; i < count; i++) {
		uint8_t pkt[INIT_LEN];
		uint16_t sport = (uint16_t)(sport_base + i);
		uint32_t itag;
		do
			itag = random32();
		while (!itag);
		build_init(pkt, sport, (uint16_t)dport, itag, bad_crc);
		if (sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&da, sizeof da) != (ssize_t)sizeof pkt) {
			fprintf(stderr, "sctp-raw: sendto: %s\n", strerror(errno));
			return 1;
		}
		printf("sent %u 0x%08x\n", sport, itag);
	}
	fflush(stdout);

	if (ifd >= 0) {
		double end = now_s() + icmp_ms / 1000.0;
		long got = 0;
		while (got < count) {
			int left = (int)((end - now_s()) * 1000);
			if (left <= 0)
				break;
			struct pollfd p = { .fd = ifd, .events = POLLIN };
			if (poll(&p, 1, left) <= 0)
				continue;
			uint8_t buf[2048];
			struct sockaddr_in from;
			socklen_t fl = sizeof from;
			ssize_t n = recvfrom(ifd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
			if (n < 0)
				continue;
			got += icmp_report(buf, n, from.sin_addr);
		}
		printf("icmp-done %ld\n", got);
		fflush(stdout);
		close(ifd);
	}
	close(fd);
	return 0;
}

/* ---- listen -------------------------------------------------------------- */

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int do_listen(int argc, char **argv)
{
	struct in_addr addr;
	long max = -1;
	if (argc < 2 || parse_addr(argv[0], &addr))
		return usage();
	char *end;
	double secs = strtod(argv[1], &end);
	if (end == argv[1] || *end || secs <= 0)
		return usage();
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			if (parse_num(argv[++i], 1, 1000000, &max))
				return usage();
		} else {
			return usage();
		}
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_SCTP);
	if (fd < 0) {
		fprintf(stderr, "sctp-raw: socket(AF_INET, SOCK_RAW, IPPROTO_SCTP): %s\n", strerror(errno));
		return 1;
	}
	struct sockaddr_in la = { .sin_family = AF_INET, .sin_addr = addr };
	if (bind(fd, (struct sockaddr *)&la, sizeof la) < 0) {
		fprintf(stderr, "sctp-raw: bind %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	int rcv = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
	fprintf(stderr, "ready %s\n", argv[0]);
	fflush(stderr);

	double deadline = now_s() + secs;
	long got = 0;
	while (!stop && (max < 0 || got < max)) {
		int left = (int)((deadline - now_s()) * 1000);
		if (left <= 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, left) <= 0)
			continue;
		uint8_t buf[2048];
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 20)
			continue;
		size_t ihl = (buf[0] & 0x0f) * 4u;
		if ((buf[0] >> 4) != 4 || buf[9] != IPPROTO_SCTP || (size_t)n < ihl + 12)
			continue;
		if (memcmp(buf + 16, &addr, 4))
			continue;
		const uint8_t *s = buf + ihl;
		size_t slen = (size_t)n - ihl;
		char sa4[INET_ADDRSTRLEN], da4[INET_ADDRSTRLEN], chunk[16], itag[16];
		inet_ntop(AF_INET, buf + 12, sa4, sizeof sa4);
		inet_ntop(AF_INET, buf + 16, da4, sizeof da4);
		strcpy(itag, "-");
		if (slen >= 16) {
			if (s[12] == 1) {
				strcpy(chunk, "init");
				if (slen >= 20)
					snprintf(itag, sizeof itag, "0x%08x", get32(s + 16));
			} else {
				snprintf(chunk, sizeof chunk, "chunk-%u", s[12]);
			}
		} else {
			strcpy(chunk, "none");
		}
		int crc_ok = get_crc(s + 8) == sctp_crc(s, slen);
		printf("%s %u %s %u %s %s 0x%08x %s\n", sa4, get16(s), da4, get16(s + 2), chunk, itag,
		       get32(s + 4), crc_ok ? "crc-ok" : "crc-bad");
		fflush(stdout);
		got++;
	}
	fprintf(stderr, "done %ld\n", got);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	crc32c_init();
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "send"))
		return do_send(argc - 2, argv + 2);
	if (!strcmp(argv[1], "listen"))
		return do_listen(argc - 2, argv + 2);
	if (!strcmp(argv[1], "selftest")) {
		uint32_t c = crc32c((const uint8_t *)"123456789", 9);
		printf("crc32c(\"123456789\") = 0x%08x (%s)\n", c, c == 0xe3069283u ? "ok" : "WRONG");
		return c == 0xe3069283u ? 0 : 1;
	}
	return usage();
}
