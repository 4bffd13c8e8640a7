/*
 * probe: client for svcc's kernel tests (pairs with echo-server).
 *
 * Usage:
 *   probe tcp|udp|sctp ADDR PORT COUNT [--timeout-ms N]
 *   probe hold ADDR PORT SECONDS INTERVAL_MS [--timeout-ms N] [--stop-file PATH]
 *
 * tcp/udp/sctp: COUNT separate attempts, one after the other, each with a
 *   fresh socket (so a fresh source port and a fresh conntrack entry).  One
 *   output line per attempt:
 *       <the server's answer line>   e.g. "10.244.1.11 10.244.1.1 tcp 8080 40123"
 *       refused                      ECONNREFUSED (TCP RST / ICMP port unreachable)
 *       timeout                      nothing within --timeout-ms (default 1000)
 *       reset                        ECONNRESET after connecting
 *       unreachable                  EHOSTUNREACH / ENETUNREACH / EACCES (ICMP unreachable/prohibited)
 *       closed                       TCP connected but closed without an answer
 *       unsupported                  protocol not supported by the kernel (SCTP)
 *       denied                       EPERM: a local netfilter hook dropped our own
 *                                    packet (e.g. UDP sent from the node itself to a
 *                                    VIP hit by "reject" in the output hook: send()
 *                                    fails with EPERM; the ICMP error arrives too)
 *       error <message>              anything else
 *   TCP/SCTP: connect, read the greeting line, close.
 *   UDP: connect() the socket, send "ping\n", wait for one answer datagram
 *   (a connected UDP socket reports ICMP port unreachable as ECONNREFUSED).
 *   UDP sockets are kept open until the run ends, so no source port repeats
 *   within one run (a repeated 5-tuple would hit the old conntrack entry
 *   instead of the DNAT rule).  Across runs within the UDP conntrack timeout
 *   a repeat is possible (ephemeral ports are random): tests that count exact
 *   round-robin shares should do it within one run.
 *   Exit status 0 when all attempts ran (whatever their outcome), 2 on usage
 *   errors.
 *
 * hold: one TCP connection kept open.  Prints
 *       connected <greeting answer line>
 *   then sends "hold\n" and after that "ping\n" every INTERVAL_MS for SECONDS
 *   seconds (or until PATH given by --stop-file exists), printing per ping
 *       ok <seq> <answer line>
 *   or, on the first failure (after which it stops),
 *       fail <seq> <reason>          reason: timeout/reset/closed/refused/...
 *   and finally
 *       done ok=<N> fail=<0|1>
 *   stdout is line-buffered, so a test can watch the lines appear.  Exit
 *   status 0 when no ping failed, 1 otherwise (also when the connection could
 *   not be made: then the only lines are "fail 0 <reason>" and "done ...").
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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif

struct target {
	struct sockaddr_storage ss;
	socklen_t sl;
	int family;
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static const char *reason(int err)
{
	static char buf[128];

	switch (err) {
	case ECONNREFUSED:
		return "refused";
	case ETIMEDOUT:
		return "timeout";
	case ECONNRESET:
	case EPIPE:
		return "reset";
	case EPROTONOSUPPORT:
		return "unsupported";
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EACCES:
		return "unreachable";
	case EPERM:
		return "denied";
	default:
		snprintf(buf, sizeof(buf), "error %s", strerror(err));
		return buf;
	}
}

static int parse_target(const char *addr, const char *portstr, struct target *t)
{
	char *end;
	long port = strtol(portstr, &end, 10);

	if (*end || port <= 0 || port > 65535)
		return -1;
	memset(t, 0, sizeof(*t));
	struct sockaddr_in *sin = (struct sockaddr_in *)&t->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t->ss;
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		t->sl = sizeof(*sin);
		t->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		t->sl = sizeof(*sin6);
		t->family = AF_INET6;
		return 0;
	}
	return -1;
}

/* wait for events on fd until deadline; returns revents, 0 on timeout */
static int wait_fd(int fd, short events, long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		long left = deadline - now_ms();
		int r;

		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		return p.revents;
	}
}

/* returns fd (connected) or -errno; -ETIMEDOUT on timeout */
static int connect_stream(const struct target *t, int proto, long deadline)
{
	int fd = socket(t->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	int err = 0;
	socklen_t el = sizeof(err);

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&t->ss, t->sl) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		err = errno;
		close(fd);
		return -err;
	}
	if (!wait_fd(fd, POLLOUT, deadline)) {
		close(fd);
		return -ETIMEDOUT;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
		err = errno;
	if (err) {
		close(fd);
		return -err;
	}
	return fd;
}

struct linebuf {
	char buf[1024];
	size_t fill;
};

/*
 * Read one '\n'-terminated line from a stream fd into out (without '\n').
 * Returns 0 on success, or an errno value; ENODATA for orderly close.
 */
static int read_line(int fd, struct linebuf *lb, char *out, size_t outlen, long deadline)
{
	for (;;) {
		char *nl = memchr(lb->buf, '\n', lb->fill);
		if (nl) {
			size_t len = (size_t)(nl - lb->buf);
			size_t used = len + 1;
			if (len >= outlen)
				len = outlen - 1;
			memcpy(out, lb->buf, len);
			out[len] = '\0';
			memmove(lb->buf, lb->buf + used, lb->fill - used);
			lb->fill -= used;
			return 0;
		}
		if (lb->fill == sizeof(lb->buf))
			lb->fill = 0;
		if (!wait_fd(fd, POLLIN, deadline))
			return ETIMEDOUT;
		ssize_t r = recv(fd, lb->buf + lb->fill, sizeof(lb->buf) - lb->fill, 0);
		if (r == 0)
			return ENODATA;
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return errno;
		}
		lb->fill += (size_t)r;
	}
}

static void attempt_stream(const struct target *t, int proto, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	struct linebuf lb = { .fill = 0 };
	char line[1024];
	int fd = connect_stream(t, proto, deadline);
	int err;

	if (fd < 0) {
		printf("%s\n", reason(-fd));
		return;
	}
	err = read_line(fd, &lb, line, sizeof(line), deadline);
	if (err == 0)
		printf("%s\n", line);
	else if (err == ENODATA)
		printf("closed\n");
	else
		printf("%s\n", reason(err));
	close(fd);
}

/* returns the socket, still open (see main), or -1 */
static int attempt_udp(const struct target *t, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	char buf[1024];
	int fd = socket(t->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		printf("%s\n", reason(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&t->ss, t->sl) < 0 || send(fd, "ping\n", 5, 0) < 0) {
		printf("%s\n", reason(errno));
		return fd;
	}
	for (;;) {
		if (!wait_fd(fd, POLLIN, deadline)) {
			printf("timeout\n");
			break;
		}
		ssize_t r = recv(fd, buf, sizeof(buf) - 1, 0);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			printf("%s\n", reason(errno));
			break;
		}
		buf[r] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		printf("%s\n", buf);
		break;
	}
	return fd;
}

static int send_all(int fd, const char *s)
{
	size_t len = strlen(s);
	ssize_t r = send(fd, s, len, MSG_NOSIGNAL);
	if (r < 0)
		return errno;
	return (size_t)r == len ? 0 : EIO;
}

static int run_hold(const struct target *t, long seconds, long interval_ms, int timeout_ms, const char *stop_file)
{
	struct linebuf lb = { .fill = 0 };
	char line[1024];
	long end = now_ms() + seconds * 1000L;
	long ok = 0, seq = 0;
	int fd, err;

	fd = connect_stream(t, IPPROTO_TCP, now_ms() + timeout_ms);
	if (fd < 0) {
		printf("fail 0 %s\ndone ok=0 fail=1\n", reason(-fd));
		return 1;
	}
	err = read_line(fd, &lb, line, sizeof(line), now_ms() + timeout_ms);
	if (!err)
		err = send_all(fd, "hold\n");
	if (!err)
		err = read_line(fd, &lb, line, sizeof(line), now_ms() + timeout_ms);
	if (err) {
		printf("fail 0 %s\ndone ok=0 fail=1\n", err == ENODATA ? "closed" : reason(err));
		close(fd);
		return 1;
	}
	printf("connected %s\n", line);

	for (;;) {
		struct stat st;
		long next = now_ms() + interval_ms;

		if (now_ms() >= end || (stop_file && stat(stop_file, &st) == 0))
			break;
		seq++;
		err = send_all(fd, "ping\n");
		if (!err)
			err = read_line(fd, &lb, line, sizeof(line), now_ms() + timeout_ms);
		if (err) {
			printf("fail %ld %s\ndone ok=%ld fail=1\n", seq, err == ENODATA ? "closed" : reason(err), ok);
			close(fd);
			return 1;
		}
		ok++;
		printf("ok %ld %s\n", seq, line);
		while (now_ms() < next) {
			long left = next - now_ms();
			struct timespec ts = { .tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	printf("done ok=%ld fail=0\n", ok);
	close(fd);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: probe tcp|udp|sctp ADDR PORT COUNT [--timeout-ms N]\n"
		"       probe hold ADDR PORT SECONDS INTERVAL_MS [--timeout-ms N] [--stop-file PATH]\n");
	exit(2);
}

static long num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || v < 0)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	const char *pos[8];
	int npos = 0;
	int timeout_ms = 1000;
	const char *stop_file = NULL;
	struct target t;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
			timeout_ms = (int)num(argv[++i]);
		else if (!strcmp(argv[i], "--stop-file") && i + 1 < argc)
			stop_file = argv[++i];
		else if (npos < 8)
			pos[npos++] = argv[i];
		else
			usage();
	}
	if (npos < 1)
		usage();
	if (!strcmp(pos[0], "hold")) {
		if (npos != 5 || parse_target(pos[1], pos[2], &t) < 0)
			usage();
		return run_hold(&t, num(pos[3]), num(pos[4]), timeout_ms, stop_file);
	}
	if (npos != 4 || parse_target(pos[1], pos[2], &t) < 0)
		usage();
	long count = num(pos[3]);
	/*
	 * UDP sockets stay open until the run ends (up to UDP_KEEP of them), so
	 * the kernel cannot hand out the same source port twice in one run: a
	 * reused 5-tuple would match the earlier attempt's conntrack entry and
	 * skip the DNAT rule (same endpoint again, round robin not advanced).
	 */
	enum { UDP_KEEP = 512 };
	int udp_fds[UDP_KEEP];
	long nudp = 0;
	for (long i = 0; i < count; i++) {
		if (!strcmp(pos[0], "tcp"))
			attempt_stream(&t, IPPROTO_TCP, timeout_ms);
		else if (!strcmp(pos[0], "sctp"))
			attempt_stream(&t, IPPROTO_SCTP, timeout_ms);
		else if (!strcmp(pos[0], "udp")) {
			int fd = attempt_udp(&t, timeout_ms);
			if (fd >= 0) {
				if (nudp >= UDP_KEEP)
					close(udp_fds[nudp % UDP_KEEP]);
				udp_fds[nudp % UDP_KEEP] = fd;
				nudp++;
			}
		}
		else
			usage();
	}
	for (long i = 0; i < nudp && i < UDP_KEEP; i++)
		close(udp_fds[i]);
	return 0;
}
