/* SPDX-License-Identifier: MIT */
/*
 * The agent's HTTP side, on libmicrohttpd (each server a thread of its own):
 * /healthz and /livez as kube-proxy's, /metrics in Prometheus' text format,
 * and one server per health-check NodePort answering cloud load balancers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "agent.h"

struct agent_hc {
	unsigned port;
	char *ns, *name;		/* the service's */
	size_t local;			/* its local ready endpoints */
	struct MHD_Daemon *d;
	struct agent_stats *st;
};

struct agent_http {
	struct agent_stats *st;		/* the servers' argument */
	struct MHD_Daemon *healthz, *metrics;
};

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void hist_add(struct agent_hist *h, double seconds)
{
	double le = 0.0005;

	for (int i = 0; i < AGENT_BUCKETS; i++, le *= 2)
		h->bucket[i] += seconds <= le;
	h->count++;
	h->sum += seconds;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
			     const char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void rfc3339(char *buf, size_t len, double t)
{
	time_t s = (time_t)t;
	struct tm tm;
	size_t n;

	gmtime_r(&s, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%06uZ", (unsigned)((t - (double)s) * 1e6) % 1000000u);
}

/* kube-proxy's: healthy while the last good sync is within twice the sync period. */
static enum MHD_Result healthz(struct agent_stats *st, struct MHD_Connection *c)
{
	char body[256], last[40], now_s[40];
	double now = wall(), ok;
	bool healthy;

	pthread_mutex_lock(&st->lock);
	ok = st->last_ok;
	healthy = ok > 0 && now - ok <= 2 * st->sync_period;
	pthread_mutex_unlock(&st->lock);
	rfc3339(now_s, sizeof(now_s), now);
	if (ok > 0)
		rfc3339(last, sizeof(last), ok);
	snprintf(body, sizeof(body), "{\"lastUpdated\": \"%s\",\"currentTime\": \"%s\"}",
		 ok > 0 ? last : "", now_s);
	return reply(c, healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
		     body, strlen(body));
}

static void put_hist(FILE *f, const char *name, const char *help, const struct agent_hist *h)
{
	double le = 0.0005;

	fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (int i = 0; i < AGENT_BUCKETS; i++, le *= 2)
		fprintf(f, "%s_bucket{le=\"%g\"} %lu\n", name, le, h->bucket[i]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %lu\n%s_sum %.9g\n%s_count %lu\n", name, h->count, name,
		h->sum, name, h->count);
}

static void put_one(FILE *f, const char *name, const char *type, const char *help, double v)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
}

static enum MHD_Result metrics(struct agent_stats *st, struct MHD_Connection *c)
{
	char *buf = NULL;
	size_t len = 0;
	enum MHD_Result ret;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return MHD_NO;
	pthread_mutex_lock(&st->lock);
	put_hist(f, "svcc_sync_duration_seconds", "Time a sync took, from its start to the "
		 "kernel's commit.", &st->sync);
	put_one(f, "svcc_sync_last_timestamp_seconds", "gauge",
		"When the last good sync ended (Unix time).", st->last_ok);
	put_hist(f, "svcc_network_programming_duration_seconds", "Time from a config file's "
		 "change to the kernel's commit of it.", &st->programming);
	put_one(f, "svcc_config_errors_total", "counter",
		"Syncs refused because the config did not parse or check.", (double)st->config_errors);
	put_one(f, "svcc_sync_errors_total", "counter",
		"Syncs the kernel refused or that failed otherwise.", (double)st->sync_errors);
	put_one(f, "svcc_services", "gauge", "Services in the applied config.", (double)st->services);
	put_one(f, "svcc_endpoints", "gauge", "Endpoints in the applied config.", (double)st->endpoints);
	put_one(f, "svcc_netlink_messages_total", "counter", "Netlink messages sent in batches.",
		(double)st->netlink_messages);
	put_one(f, "svcc_conntrack_deleted_total", "counter",
		"Stale UDP conntrack entries deleted.", (double)st->conntrack_deleted);
	put_one(f, "svcc_resyncs_total", "counter", "Full read-backs of the table and repairs.",
		(double)st->resyncs);
	pthread_mutex_unlock(&st->lock);
	if (fclose(f)) {
		free(buf);
		return MHD_NO;
	}
	ret = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", buf, len);
	free(buf);
	return ret;
}

static enum MHD_Result serve(struct agent_stats *st, struct MHD_Connection *c, const char *url,
			     const char *method, bool is_metrics)
{
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
	if (is_metrics && !strcmp(url, "/metrics"))
		return metrics(st, c);
	if (!is_metrics && (!strcmp(url, "/healthz") || !strcmp(url, "/livez")))
		return healthz(st, c);
	return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "404 page not found\n", 19);
}

static enum MHD_Result serve_healthz(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version, const char *upload,
				     size_t *upload_len, void **con_cls)
{
	(void)version, (void)upload, (void)upload_len, (void)con_cls;
	return serve(cls, c, url, method, false);
}

static enum MHD_Result serve_metrics(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version, const char *upload,
				     size_t *upload_len, void **con_cls)
{
	(void)version, (void)upload, (void)upload_len, (void)con_cls;
	return serve(cls, c, url, method, true);
}

/* "ADDR:PORT" or "[ADDR6]:PORT" to a socket address. */
static int parse_addr(const char *text, struct sockaddr_storage *ss)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	char *end;
	long port;
	size_t n;

	if (!colon || (n = (size_t)(colon - text)) >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535 || colon[1] == 0)
		return -1;
	memcpy(host, text, n);
	host[n] = 0;
	memset(ss, 0, sizeof(*ss));
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[n - 1] = 0;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1 ? 0 : -1;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		return inet_pton(AF_INET, n ? host : "0.0.0.0", &s4->sin_addr) == 1 ? 0 : -1;
	}
}

static struct MHD_Daemon *listen_on(const char *what, const char *addr, MHD_AccessHandlerCallback cb,
				    void *arg)
{
	struct sockaddr_storage ss;
	struct MHD_Daemon *d;

	if (parse_addr(addr, &ss)) {
		fprintf(stderr, "svcc agent: %s: '%s' is not ADDR:PORT\n", what, addr);
		return NULL;
	}
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, cb, arg,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!d)
		fprintf(stderr, "svcc agent: %s: cannot listen on %s\n", what, addr);
	return d;
}

int http_start(struct agent_stats *st, const char *healthz_addr, const char *metrics_addr,
	       struct agent_http **out)
{
	struct agent_http *h = calloc(1, sizeof(*h));

	if (!h)
		return -1;
	h->st = st;
	if ((*healthz_addr && !(h->healthz = listen_on("--healthz-address", healthz_addr, serve_healthz, st))) ||
	    (*metrics_addr && !(h->metrics = listen_on("--metrics-address", metrics_addr, serve_metrics, st)))) {
		http_stop(h);
		return -1;
	}
	*out = h;
	return 0;
}

static void hc_free(struct agent_hc *hc)
{
	if (!hc)
		return;
	if (hc->d)
		MHD_stop_daemon(hc->d);
	free(hc->ns);
	free(hc->name);
	free(hc);
}

void http_stop(struct agent_http *h)
{
	if (!h)
		return;
	if (h->healthz)
		MHD_stop_daemon(h->healthz);
	if (h->metrics)
		MHD_stop_daemon(h->metrics);
	for (size_t i = 0; i < h->st->nhcs; i++)
		hc_free(h->st->hcs[i]);
	free(h->st->hcs);
	h->st->hcs = NULL;
	h->st->nhcs = 0;
	free(h);
}

/* kube-proxy's answer: 200 while the service has local endpoints, 503 with 0. */
static enum MHD_Result serve_hc(void *cls, struct MHD_Connection *c, const char *url,
				const char *method, const char *version, const char *upload,
				size_t *upload_len, void **con_cls)
{
	struct agent_hc *hc = cls;
	char body[512];
	size_t local;

	(void)url, (void)method, (void)version, (void)upload, (void)upload_len, (void)con_cls;
	pthread_mutex_lock(&hc->st->lock);
	local = hc->local;
	snprintf(body, sizeof(body), "{\"service\":{\"namespace\":\"%s\",\"name\":\"%s\"},"
		 "\"localEndpoints\":%zu}", hc->ns, hc->name, local);
	pthread_mutex_unlock(&hc->st->lock);
	return reply(c, local ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
		     body, strlen(body));
}

/* Every address of the node, IPv6 and IPv4 alike (IPv4 alone without IPv6). */
static struct MHD_Daemon *listen_hc(struct agent_hc *hc)
{
	struct MHD_Daemon *d;

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_DUAL_STACK,
			     (uint16_t)hc->port, NULL, NULL, serve_hc, hc,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	if (!d)
		d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
				     (uint16_t)hc->port, NULL, NULL, serve_hc, hc,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	return d;
}

/* The health checks a config declares, and the servers being replaced. */
struct hc_list {
	struct agent_stats *st;
	struct agent_hc **v, **gone;
	size_t n, cap, ngone;
	int err;
};

static bool same_service(const struct agent_hc *hc, const char *ns, size_t nslen, const char *name)
{
	return strlen(hc->ns) == nslen && !strncmp(hc->ns, ns, nslen) && !strcmp(hc->name, name);
}

/* Called under st->lock: a server on the same port for the same service
 * stays (its count updated in place); one for another service goes. */
static int want_hc(const char *service, unsigned port, size_t local, void *arg)
{
	struct hc_list *l = arg;
	struct agent_stats *st = l->st;
	const char *slash = strchr(service, '/');
	const char *ns = slash ? service : "default", *name = slash ? slash + 1 : service;
	size_t nslen = slash ? (size_t)(slash - service) : strlen("default");
	struct agent_hc *hc = NULL;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct agent_hc **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return l->err = -1;
		l->v = v;
		l->cap = cap;
	}
	for (size_t i = 0; i < st->nhcs; i++) {
		if (!st->hcs[i] || st->hcs[i]->port != port)
			continue;
		if (same_service(st->hcs[i], ns, nslen, name))
			hc = st->hcs[i];
		else
			l->gone[l->ngone++] = st->hcs[i];
		st->hcs[i] = NULL;
	}
	if (!hc) {
		if (!(hc = calloc(1, sizeof(*hc))))
			return l->err = -1;
		hc->port = port;
		hc->st = st;
		hc->ns = strndup(ns, nslen);
		hc->name = strdup(name);
		if (!hc->ns || !hc->name) {
			hc_free(hc);
			return l->err = -1;
		}
	}
	hc->local = local;
	l->v[l->n++] = hc;
	return 0;
}

void http_health_checks(struct agent_http *h, const struct svcc_config *cfg)
{
	struct agent_stats *st = h->st;
	struct hc_list want = { .st = st };

	pthread_mutex_lock(&st->lock);
	want.gone = calloc(st->nhcs + 1, sizeof(*want.gone));
	if (!want.gone || svcc_config_each_health_check(cfg, want_hc, &want)) {
		/* out of memory: those taken so far go back at the end */
		fputs("svcc agent: health checks: out of memory\n", stderr);
	}
	/* what no health check wants any more goes */
	for (size_t i = 0; want.gone && i < st->nhcs; i++)
		if (st->hcs[i])
			want.gone[want.ngone++] = st->hcs[i];
	free(st->hcs);
	st->hcs = want.v;
	st->nhcs = want.n;
	pthread_mutex_unlock(&st->lock);
	/* stopped outside the lock: a stop waits for the server's answers */
	for (size_t i = 0; i < want.ngone; i++)
		hc_free(want.gone[i]);
	free(want.gone);
	for (size_t i = 0; i < want.n; i++)
		if (!want.v[i]->d && !(want.v[i]->d = listen_hc(want.v[i])))
			fprintf(stderr, "svcc agent: health-check NodePort %u (%s/%s): cannot listen\n",
				want.v[i]->port, want.v[i]->ns, want.v[i]->name);
}
