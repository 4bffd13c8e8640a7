/* SPDX-License-Identifier: MIT */
/*
 * svcc agent: keep the kernel's table in step with a watched config.
 *
 * One thread runs the loop: inotify and signals (signalfd) wake it; a change
 * is synced at once unless the last sync was less than --min-sync-period
 * ago, so that a burst is applied as one change (kube-proxy's bounded
 * frequency).  A sync joins the files' configs, finds the services that
 * differ from the last applied config and applies just those through
 * svcc_runtime_update (cluster settings changed: whole).  Every
 * --sync-period, and after a failed apply (then with back-off), the table
 * is read back and the config applied whole.  The HTTP servers run on
 * threads of their own and read agent_stats under its lock.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

struct agent {
	const char *table;
	double min_sync, sync_period;
	bool cleanup;
	unsigned rt_flags;
	int color;
	struct svcc_ctx *ctx;		/* the runtime's */
	struct svcc_runtime *rt;
	struct agent_watch w;
	struct agent_stats st;
	struct agent_http *http;
	struct svcc_config *applied;	/* the last config the kernel took; NULL: none */
	unsigned long nsync;
	double last_sync;		/* monotonic: when the last sync ran */
	double pending_since;		/* wall: the first change not yet synced; 0: none */
	bool dirty;			/* a change waits for a sync */
	bool resync;			/* read the table back, apply whole */
	double next_resync;		/* monotonic */
	double backoff;			/* after a failed apply: seconds to the retry; 0: none */
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "100ms", "1.5s", "2m", "1h"; a bare number is seconds.  -1 when malformed. */
static double parse_duration(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0 || !isfinite(v))
		return -1;
	if (!*end || !strcmp(end, "s"))
		return v;
	if (!strcmp(end, "ms"))
		return v / 1e3;
	if (!strcmp(end, "m"))
		return v * 60;
	if (!strcmp(end, "h"))
		return v * 3600;
	return -1;
}

/* ---- one sync ----------------------------------------------------------- */

struct names {
	const char **v;
	char **own;
	size_t n, cap;
};

static int add_name(const char *name, void *arg)
{
	struct names *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		const char **v = realloc(l->v, cap * sizeof(*v));
		char **own = realloc(l->own, cap * sizeof(*own));

		if (v)
			l->v = v;
		if (own)
			l->own = own;
		if (!v || !own)
			return -1;
		l->cap = cap;
	}
	if (!(l->own[l->n] = strdup(name)))
		return -1;
	l->v[l->n] = l->own[l->n];
	l->n++;
	return 0;
}

static void names_free(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->own[i]);
	free(l->own);
	free(l->v);
}

/* The files' configs joined; NULL (told on stderr) when they clash. */
static struct svcc_config *join_parts(struct agent *a)
{
	struct svcc_config *cfg = svcc_config_new();

	if (!cfg)
		return NULL;
	for (size_t i = 0; i < a->w.nparts; i++) {
		const struct agent_part *p = &a->w.parts[i];

		if (!p->cfg || !svcc_config_add_from(cfg, p->cfg))
			continue;
		if (errno == EEXIST)
			fprintf(stderr, "svcc agent: %s: a service of it is defined in another file too\n",
				p->path);
		else if (errno == EINVAL)
			fprintf(stderr, "svcc agent: %s: its cluster or masquerade settings clash with "
				"another file's\n", p->path);
		else
			fprintf(stderr, "svcc agent: %s: %s\n", p->path, strerror(errno));
		svcc_config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* A diagnostic with a location is the config's; without, the kernel's. */
static bool config_fault(const struct svcc_ctx *ctx)
{
	for (size_t i = 0; i < svcc_diag_count(ctx); i++) {
		const struct svcc_diag *d = svcc_diag_get(ctx, i);

		if (d->severity == SVCC_ERROR && d->file)
			return true;
	}
	return false;
}

static void what_changed(const struct names *l, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
	for (size_t i = 0; i < l->n && i < 3 && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", l->v[i]);
	if (l->n > 3 && off < len)
		snprintf(buf + off, len - off, " and %zu more", l->n - 3);
}

static void count_endpoints(struct agent *a, const struct svcc_config *cfg)
{
	a->st.services = svcc_config_service_count(cfg);
	a->st.endpoints = svcc_config_endpoint_count(cfg);
}

/* A failed apply: read back and apply whole at once, then after 1, 2, 4 ... 60 s. */
static void failed(struct agent *a)
{
	a->resync = true;
	a->dirty = true;
	a->backoff = a->backoff ? (a->backoff * 2 > 60 ? 60 : a->backoff * 2) : 0.000001;
}

static void sync_now(struct agent *a)
{
	const struct svcc_apply_stats *s;
	struct svcc_config *cfg = NULL;
	struct names changed = { 0 };
	double t0 = mono(), secs;
	char what[256];
	size_t bad, nfiles;
	bool whole, resync = a->resync;
	int rc = 0;

	a->nsync++;
	a->last_sync = t0;
	a->dirty = false;
	bad = watch_refresh(&a->w, &nfiles);
	pthread_mutex_lock(&a->st.lock);
	a->st.last_sync = wall();
	pthread_mutex_unlock(&a->st.lock);
	if (bad || !(cfg = join_parts(a))) {
		fprintf(stderr, "svcc agent: sync %lu: %s; nothing applied, the last good ruleset stays\n",
			a->nsync, bad ? "the config has errors" : "the files do not join");
		pthread_mutex_lock(&a->st.lock);
		a->st.config_errors++;
		pthread_mutex_unlock(&a->st.lock);
		a->pending_since = 0;
		return;
	}
	if (resync) {
		pthread_mutex_lock(&a->st.lock);
		a->st.resyncs++;
		pthread_mutex_unlock(&a->st.lock);
		if (svcc_runtime_resync(a->rt))
			rc = -1;
	}
	whole = resync || !a->applied || !svcc_config_same_cluster(a->applied, cfg);
	if (!rc && !whole && svcc_config_each_changed_service(a->applied, cfg, add_name, &changed))
		whole = true;	/* out of memory naming them: whole is right too */
	if (!rc && !whole && !changed.n) {
		fprintf(stderr, "svcc agent: sync %lu: no change (files looked at: %zu)\n", a->nsync,
			nfiles);
		svcc_config_free(cfg);
		names_free(&changed);
		a->pending_since = 0;
		return;
	}
	if (!rc)
		rc = whole ? svcc_runtime_apply_config(a->rt, cfg)
			   : svcc_runtime_update(a->rt, cfg, changed.v, changed.n);
	secs = mono() - t0;
	s = svcc_runtime_stats(a->rt);
	svcc_diag_print_color(a->ctx, stderr, a->color);
	if (rc && config_fault(a->ctx)) {
		fprintf(stderr, "svcc agent: sync %lu: the config has errors; nothing applied, "
			"the last good ruleset stays\n", a->nsync);
		pthread_mutex_lock(&a->st.lock);
		a->st.config_errors++;
		pthread_mutex_unlock(&a->st.lock);
		a->pending_since = 0;
	} else if (rc) {
		fprintf(stderr, "svcc agent: sync %lu: failed (%.1f ms); reading the table back and "
			"applying whole %s\n", a->nsync, secs * 1e3,
			a->backoff ? "again after a back-off" : "at once");
		pthread_mutex_lock(&a->st.lock);
		a->st.sync_errors++;
		pthread_mutex_unlock(&a->st.lock);
		failed(a);
	} else {
		if (resync)
			snprintf(what, sizeof(what), "resync, applied whole");
		else if (!a->applied)
			snprintf(what, sizeof(what), "first, applied whole");
		else if (whole)
			snprintf(what, sizeof(what), "cluster settings changed, applied whole");
		else
			what_changed(&changed, what, sizeof(what));
		fprintf(stderr, "svcc agent: sync %lu: %s: %lu added, %lu changed, %lu deleted, "
			"%lu messages, %.1f ms\n", a->nsync, what, s->added, s->changed, s->deleted,
			s->messages, secs * 1e3);
		pthread_mutex_lock(&a->st.lock);
		hist_add(&a->st.sync, secs);
		if (a->pending_since)
			hist_add(&a->st.programming, wall() - a->pending_since);
		a->st.last_ok = wall();
		a->st.netlink_messages += s->messages;
		a->st.conntrack_deleted += s->conntrack_deleted;
		count_endpoints(a, cfg);
		pthread_mutex_unlock(&a->st.lock);
		svcc_config_free(a->applied);
		a->applied = cfg;
		cfg = NULL;
		a->resync = false;
		a->backoff = 0;
		a->pending_since = 0;
		if (a->http)
			http_health_checks(a->http, a->applied);
	}
	svcc_ctx_clear(a->ctx);
	svcc_config_free(cfg);
	names_free(&changed);
}

/* ---- the loop ------------------------------------------------------------ */

/* When the loop must wake next (monotonic), or -1: when something happens. */
static double wake_at(const struct agent *a)
{
	double t = a->next_resync;

	if (a->dirty) {
		double due = a->last_sync + (a->backoff ? a->backoff : a->min_sync);

		if (due < t)
			t = due;
	}
	return t;
}

static int loop(struct agent *a, int sfd)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = a->w.fd, .events = POLLIN }, { .fd = sfd, .events = POLLIN } };
		double now = mono(), t = wake_at(a);
		int ms = t <= now ? 0 : (t - now > 3600 ? 3600000 : (int)ceil((t - now) * 1e3));

		if (poll(p, 2, ms) < 0 && errno != EINTR) {
			fprintf(stderr, "svcc agent: poll: %s\n", strerror(errno));
			return 1;
		}
		if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					fputs("svcc agent: SIGHUP: reloading\n", stderr);
					a->w.rescan = true;
					a->dirty = true;
					a->last_sync = 0;	/* at once */
				} else {
					fprintf(stderr, "svcc agent: %s: exiting%s\n",
						si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT",
						a->cleanup ? ", removing the table" : ", the table stays");
					return 0;
				}
			}
		}
		if ((p[0].revents & POLLIN) && watch_read(&a->w) > 0 && !a->dirty) {
			a->dirty = true;
			a->pending_since = wall();
		}
		now = mono();
		if (now >= a->next_resync) {
			a->resync = true;
			a->dirty = true;
			a->next_resync = now + a->sync_period;
		}
		if (a->dirty && now >= a->last_sync + (a->backoff ? a->backoff : a->min_sync)) {
			watch_read(&a->w);	/* what came meanwhile goes in this sync too */
			sync_now(a);
		}
	}
}

static void usage(FILE *out)
{
	fputs("usage: svcc agent [--table NAME] [--min-sync-period D] [--sync-period D]\n"
	      "                  [--healthz-address ADDR:PORT] [--metrics-address ADDR:PORT]\n"
	      "                  [--cleanup] [--no-owner] PATH...\n"
	      "  PATH: a .svc file, or a directory whose *.svc files together are the config\n"
	      "  D: a duration (100ms, 30s, 1h; a number is seconds)\n", out);
}

int agent_main(int argc, char **argv, const char *table, int color)
{
	static const struct option opts[] = {
		{ "min-sync-period", required_argument, NULL, 'm' },
		{ "sync-period", required_argument, NULL, 's' },
		{ "healthz-address", required_argument, NULL, 'z' },
		{ "metrics-address", required_argument, NULL, 'M' },
		{ "cleanup", no_argument, NULL, 'c' },
		{ "no-owner", no_argument, NULL, 'o' },
		{ 0 }
	};
	struct agent a = { .table = table, .min_sync = 0.1, .sync_period = 3600, .color = color,
			   .rt_flags = SVCC_RT_OWNER, .w = { .fd = -1 } };
	const char *healthz = "127.0.0.1:10256", *metrics_addr = "127.0.0.1:10249";
	sigset_t mask;
	int c, sfd = -1, rc = 1;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		double d = optarg ? parse_duration(optarg) : 0;

		switch (c) {
		case 'm':
		case 's':
			if (d < 0 || (c == 's' && d <= 0)) {
				fprintf(stderr, "svcc agent: '%s' is not a duration\n", optarg);
				return 2;
			}
			*(c == 'm' ? &a.min_sync : &a.sync_period) = d;
			break;
		case 'z':
			healthz = optarg;
			break;
		case 'M':
			metrics_addr = optarg;
			break;
		case 'c':
			a.cleanup = true;
			break;
		case 'o':
			a.rt_flags &= ~SVCC_RT_OWNER;
			break;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	/* signals come through signalfd; the HTTP threads, started after, block them too */
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) ||
	    (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "svcc agent: signals: %s\n", strerror(errno));
		return 1;
	}
	pthread_mutex_init(&a.st.lock, NULL);
	a.st.sync_period = a.sync_period;
	if (!(a.ctx = svcc_ctx_new())) {
		fputs("svcc agent: out of memory\n", stderr);
		goto out;
	}
	if (watch_open(&a.w, argv + optind, (size_t)(argc - optind), color))
		goto out;
	if (svcc_runtime_new(a.ctx, table, a.rt_flags, &a.rt)) {
		svcc_diag_print_color(a.ctx, stderr, color);
		rc = 3;
		goto out;
	}
	svcc_diag_print_color(a.ctx, stderr, color);
	svcc_ctx_clear(a.ctx);
	if (http_start(&a.st, healthz, metrics_addr, &a.http))
		goto out;
	fprintf(stderr, "svcc agent: table inet %s, %zu paths, min sync period %g s, sync period "
		"%g s%s\n", table, a.w.npaths, a.min_sync, a.sync_period,
		a.rt_flags & SVCC_RT_OWNER ? ", owning the table" : "");
	a.dirty = true;
	a.pending_since = wall();
	a.next_resync = mono() + a.sync_period;
	rc = loop(&a, sfd);
	if (!rc && a.cleanup && svcc_runtime_delete_table(a.rt)) {
		svcc_diag_print_color(a.ctx, stderr, color);
		rc = 3;
	}
out:
	http_stop(a.http);
	svcc_runtime_free(a.rt);
	svcc_config_free(a.applied);
	watch_close(&a.w);
	svcc_ctx_free(a.ctx);
	pthread_mutex_destroy(&a.st.lock);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
