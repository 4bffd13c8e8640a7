/*
 * echo-server: tiny identity server for svcc's kernel tests.
 *
 * Usage: echo-server ADDR PORT
 *
 * Listens on ADDR:PORT for TCP and UDP (and SCTP when the kernel supports
 * it; silently skipped otherwise).  ADDR may be IPv4 or IPv6.
 *
 * Every answer is one line:
 *
 *     <own address> <peer address as seen> <proto> <own port> <peer port>\n
 *
 * e.g. "10.244.1.11 10.244.1.1 tcp 8080 40123".  Tests mostly look at the
 * first two fields: which endpoint answered, and which source address the
 * endpoint saw (masquerade or not).
 *
 * Protocol:
 *   TCP/SCTP: the server sends one answer line as soon as the connection is
 *             accepted, then one answer line for every line ('\n'-terminated)
 *             the client sends, until the client closes.  A plain probe
 *             connects, reads one line and closes; a "hold" client reads the
 *             greeting, sends "hold\n", "ping\n", ... and gets one answer line
 *             per line sent, all through the same connection.
 *   UDP:      every datagram is answered with one answer-line datagram sent
 *             to the datagram's source.
 *
 * After all sockets are bound the server prints "ready ADDR PORT tcp udp[ sctp]"
 * on stdout (flushed), so a test can wait for it.  Runs in the foreground
 * until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

#define MAX_CONNS 1024
#define LINE_MAX_LEN 512

enum kind { K_TCP_LISTEN, K_SCTP_LISTEN, K_UDP, K_CONN };

struct slot {
	enum kind kind;
	const char *proto; /* "tcp" / "sctp" for connections */
	size_t fill;       /* bytes buffered in buf (connections) */
	char buf[LINE_MAX_LEN];
	char peer[INET6_ADDRSTRLEN];
	unsigned peer_port;
};

static struct pollfd pfds[MAX_CONNS + 3];
static struct slot slots[MAX_CONNS + 3];
static nfds_t nslots;

static char own_addr[INET6_ADDRSTRLEN];
static unsigned own_port;

static void die(const char *what)
{
	fprintf(stderr, "echo-server: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void format_peer(const struct sockaddr_storage *ss, char *out, size_t outlen, unsigned *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, out, outlen);
		*port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], out, outlen);
		else
			inet_ntop(AF_INET6, &sin6->sin6_addr, out, outlen);
		*port = ntohs(sin6->sin6_port);
	} else {
		snprintf(out, outlen, "?");
		*port = 0;
	}
}

static int answer(char *out, size_t outlen, const char *peer, const char *proto, unsigned peer_port)
{
	return snprintf(out, outlen, "%s %s %s %u %u\n", own_addr, peer, proto, own_port, peer_port);
}

static void add_slot(int fd, enum kind kind, const char *proto)
{
	if (nslots >= sizeof(pfds) / sizeof(pfds[0])) {
		close(fd);
		return;
	}
	pfds[nslots].fd = fd;
	pfds[nslots].events = POLLIN;
	pfds[nslots].revents = 0;
	memset(&slots[nslots], 0, sizeof(slots[nslots]));
	slots[nslots].kind = kind;
	slots[nslots].proto = proto;
	nslots++;
}

static void drop_slot(nfds_t i)
{
	close(pfds[i].fd);
	nslots--;
	if (i != nslots) {
		pfds[i] = pfds[nslots];
		slots[i] = slots[nslots];
	}
}

static int make_socket(int family, int type, int proto, const struct sockaddr_storage *ss, socklen_t sl, int quiet)
{
	int fd = socket(family, type, proto);
	int one = 1;

	if (fd < 0) {
		if (quiet)
			return -1;
		die("socket");
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	} else {
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	}
	if (bind(fd, (const struct sockaddr *)ss, sl) < 0) {
		if (quiet) {
			close(fd);
			return -1;
		}
		die("bind");
	}
	if (type == SOCK_STREAM && listen(fd, 512) < 0) {
		if (quiet) {
			close(fd);
			return -1;
		}
		die("listen");
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

static void handle_accept(int lfd, const char *proto)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		char line[LINE_MAX_LEN];
		int n;

		if (fd < 0)
			return;
		add_slot(fd, K_CONN, proto);
		if (pfds[nslots - 1].fd != fd)
			continue; /* table full, closed */
		struct slot *s = &slots[nslots - 1];
		format_peer(&ss, s->peer, sizeof(s->peer), &s->peer_port);
		n = answer(line, sizeof(line), s->peer, proto, s->peer_port);
		if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)
			drop_slot(nslots - 1);
	}
}

static void handle_udp(int fd)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char in[LINE_MAX_LEN], peer[INET6_ADDRSTRLEN], line[LINE_MAX_LEN];
		unsigned port;
		int n;

		if (recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&ss, &sl) < 0)
			return;
		format_peer(&ss, peer, sizeof(peer), &port);
		n = answer(line, sizeof(line), peer, "udp", port);
		sendto(fd, line, (size_t)n, 0, (struct sockaddr *)&ss, sl);
	}
}

/* returns 0 to keep the connection, -1 to drop it */
static int handle_conn(nfds_t i)
{
	struct slot *s = &slots[i];
	int fd = pfds[i].fd;
	ssize_t r = recv(fd, s->buf + s->fill, sizeof(s->buf) - s->fill, 0);

	if (r <= 0)
		return (r < 0 && (errno == EAGAIN || errno == EINTR)) ? 0 : -1;
	s->fill += (size_t)r;
	for (;;) {
		char *nl = memchr(s->buf, '\n', s->fill);
		char line[LINE_MAX_LEN];
		int n;
		size_t used;

		if (!nl) {
			if (s->fill == sizeof(s->buf))
				s->fill = 0; /* overlong line: discard */
			return 0;
		}
		used = (size_t)(nl - s->buf) + 1;
		memmove(s->buf, s->buf + used, s->fill - used);
		s->fill -= used;
		n = answer(line, sizeof(line), s->peer, s->proto, s->peer_port);
		if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)
			return -1;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int family, fd;
	char *end;
	long port;
	int have_sctp = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: echo-server ADDR PORT\n");
		return 2;
	}
	port = strtol(argv[2], &end, 10);
	if (*end || port <= 0 || port > 65535) {
		fprintf(stderr, "echo-server: bad port '%s'\n", argv[2]);
		return 2;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[1], &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		family = AF_INET;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		sl = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, own_addr, sizeof(own_addr));
	} else if (inet_pton(AF_INET6, argv[1], &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		family = AF_INET6;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		sl = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, own_addr, sizeof(own_addr));
	} else {
		fprintf(stderr, "echo-server: bad address '%s'\n", argv[1]);
		return 2;
	}
	own_port = (unsigned)port;
	signal(SIGPIPE, SIG_IGN);

	fd = make_socket(family, SOCK_STREAM, IPPROTO_TCP, &ss, sl, 0);
	add_slot(fd, K_TCP_LISTEN, "tcp");
	fd = make_socket(family, SOCK_DGRAM, IPPROTO_UDP, &ss, sl, 0);
	add_slot(fd, K_UDP, "udp");
	fd = make_socket(family, SOCK_STREAM, IPPROTO_SCTP, &ss, sl, 1);
	if (fd >= 0) {
		add_slot(fd, K_SCTP_LISTEN, "sctp");
		have_sctp = 1;
	}
	printf("ready %s %u tcp udp%s\n", own_addr, own_port, have_sctp ? " sctp" : "");
	fflush(stdout);

	for (;;) {
		if (poll(pfds, nslots, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		/* iterate backwards: drop_slot moves the last slot into i */
		for (nfds_t i = nslots; i-- > 0;) {
			if (!pfds[i].revents)
				continue;
			pfds[i].revents = 0;
			switch (slots[i].kind) {
			case K_TCP_LISTEN:
				handle_accept(pfds[i].fd, "tcp");
				break;
			case K_SCTP_LISTEN:
				handle_accept(pfds[i].fd, "sctp");
				break;
			case K_UDP:
				handle_udp(pfds[i].fd);
				break;
			case K_CONN:
				if (handle_conn(i) < 0)
					drop_slot(i);
				break;
			}
		}
	}
}
