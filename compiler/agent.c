/* SPDX-License-Identifier: MIT */
/*
 * svcc agent: keep the kernel's table in step with a watched config.
 *
 * One thread runs the loop: inotify and signals (signalfd) wake it; a change
 * is synced at once unless the last sync was less than --min-sync-period
 * ago, so that a burst is applied as one change (kube-proxy's bounded
 * frequency).  The files' configs stay joined in one config: a sync
 * replaces the changed files' services in it (svcc_config_replace_from),
 * finds the services that differ between each changed file's old and new
 * parse, and applies just those through svcc_runtime_update, so that its
 * cost follows the changed files, not the whole config (cluster settings
 * changed: joined anew and applied whole).  Every
 * --sync-period, and after a failed apply (then with back-off), the table
 * is read back and the config applied whole.  The HTTP servers run on
 * threads of their own and read agent_stats under its lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

struct names {
	const char **v;
	char **own;
	size_t n, cap;
};

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
	struct svcc_config *joined;	/* the parts' in joined; NULL: join anew */
	struct names pending;		/* services changed in joined since the last good apply */
	size_t endpoints;		/* joined's */
	bool whole;			/* joined anew since: apply it whole */
	bool hc_dirty;			/* a health-check NodePort may have changed */
	unsigned long nsync, nok;
	double last_sync;		/* monotonic: when the last sync ran */
	double pending_since;		/* wall: the first change not yet synced; 0: none */
	bool dirty;			/* a change waits for a sync */
	bool resync;			/* read the table back, apply whole */
	double next_resync;		/* monotonic */
	double backoff;			/* after a failed apply: seconds to the retry; 0: none */
	long rss_trimmed;		/* kB resident after the last trim */
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

static void names_clear(struct names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->own[i]);
	l->n = 0;
}

static void names_free(struct names *l)
{
	names_clear(l);
	free(l->own);
	free(l->v);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Each name once (a service moved between files is named by both). */
static void names_unique(struct names *l)
{
	size_t k = 0;

	if (!l->n)
		return;	/* own may be NULL: qsort's base must not be */
	qsort(l->own, l->n, sizeof(*l->own), cmp_name);
	for (size_t i = 0; i < l->n; i++) {
		if (k && !strcmp(l->own[k - 1], l->own[i]))
			free(l->own[i]);
		else
			l->own[k++] = l->own[i];
	}
	l->n = k;
	for (size_t i = 0; i < k; i++)
		l->v[i] = l->own[i];
}

static void join_error(const char *path)
{
	if (errno == EEXIST)
		fprintf(stderr, "svcc agent: %s: a service of it is defined in another file too\n", path);
	else if (errno == EINVAL)
		fprintf(stderr, "svcc agent: %s: its cluster or masquerade settings clash with "
			"another file's\n", path);
	else
		fprintf(stderr, "svcc agent: %s: %s\n", path, strerror(errno));
}

/* Every part's config joined anew (at the start, and when cluster settings
 * change); -1 (told on stderr) when they clash. */
static int join_all(struct agent *a)
{
	struct svcc_config *cfg = svcc_config_new();

	if (!cfg) {
		fputs("svcc agent: out of memory\n", stderr);
		return -1;
	}
	for (size_t i = 0; i < a->w.nparts; i++) {
		const struct agent_part *p = &a->w.parts[i];

		if (p->cfg && svcc_config_add_from(cfg, p->cfg)) {
			join_error(p->path);
			svcc_config_free(cfg);
			return -1;
		}
	}
	svcc_config_free(a->joined);	/* before the parts' in: its locations point there */
	a->joined = cfg;
	for (size_t i = a->w.nparts; i-- > 0;)
		watch_joined(&a->w, &a->w.parts[i]);
	watch_prune(&a->w);
	names_clear(&a->pending);
	a->endpoints = svcc_config_endpoint_count(cfg);
	a->whole = true;
	a->hc_dirty = true;
	return 0;
}

static int any_hc(const char *service, unsigned port, size_t local, void *arg)
{
	(void)service, (void)port, (void)local, (void)arg;
	return 1;
}

/* What replacing old by new_cfg in joined changes: the services to update,
 * the endpoint count, the health checks. */
static void note_changes(struct agent *a, const struct svcc_config *old,
			 const struct svcc_config *new_cfg)
{
	int err = 0;

	if (new_cfg)
		err = svcc_config_each_changed_service(old, new_cfg, add_name, &a->pending);
	for (size_t i = 0; !new_cfg && old && !err && i < svcc_config_service_count(old); i++)
		err = add_name(svcc_service_name(svcc_config_service_at(old, i)), &a->pending);
	if (err)
		a->whole = true;	/* out of memory naming them: whole is right too */
	a->endpoints += (new_cfg ? svcc_config_endpoint_count(new_cfg) : 0) -
			(old ? svcc_config_endpoint_count(old) : 0);
	if ((old && svcc_config_each_health_check(old, any_hc, NULL)) ||
	    (new_cfg && svcc_config_each_health_check(new_cfg, any_hc, NULL)))
		a->hc_dirty = true;
}

/* The changed parts' services replaced in joined.  A part whose service
 * another still has is tried again after the others (a service moved from
 * one file to another); *rejoin when a part's cluster settings changed.
 * -1 (told on stderr) when parts clash; joined then holds those that went
 * in, their services pending. */
static int join_dirty(struct agent *a, bool *rejoin)
{
	const char *clash = NULL;
	bool progress = true;

	*rejoin = false;
	while (progress) {
		progress = false;
		clash = NULL;
		for (size_t i = 0; i < a->w.ndirty; i++) {
			struct agent_part *p = watch_part(&a->w, a->w.dirty[i]);

			if (!p || !p->listed)
				continue;
			if (svcc_config_replace_from(a->joined, p->in, p->cfg)) {
				if (errno == EINVAL) {
					*rejoin = true;
					watch_prune(&a->w);
					return 0;
				}
				if (errno != EEXIST) {
					join_error(p->path);
					watch_prune(&a->w);
					return -1;
				}
				clash = a->w.dirty[i];
				continue;
			}
			note_changes(a, p->in, p->cfg);
			watch_joined(&a->w, p);
			progress = true;
		}
	}
	if (clash) {
		errno = EEXIST;
		join_error(clash);
	}
	watch_prune(&a->w);
	return clash ? -1 : 0;
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

/* A failed apply: read back and apply whole at once, then after 1, 2, 4 ... 60 s. */
static void failed(struct agent *a)
{
	a->resync = true;
	a->dirty = true;
	a->backoff = a->backoff ? (a->backoff * 2 > 60 ? 60 : a->backoff * 2) : 0.000001;
}

/* The config's files are bad, or do not join: nothing applied. */
static void config_error(struct agent *a, const char *why)
{
	fprintf(stderr, "svcc agent: sync %lu: %s; nothing applied, the last good ruleset stays\n",
		a->nsync, why);
	pthread_mutex_lock(&a->st.lock);
	a->st.config_errors++;
	pthread_mutex_unlock(&a->st.lock);
	a->pending_since = 0;
}

static void sync_now(struct agent *a)
{
	const struct svcc_apply_stats *s;
	struct names *changed = &a->pending;
	double t0 = mono(), secs;
	char what[256];
	size_t bad, nfiles;
	bool whole, resync = a->resync, rejoin = !a->joined;
	int rc = 0;

	a->nsync++;
	a->last_sync = t0;
	a->dirty = false;
	bad = watch_refresh(&a->w, &nfiles);
	pthread_mutex_lock(&a->st.lock);
	a->st.last_sync = wall();
	pthread_mutex_unlock(&a->st.lock);
	if (bad) {
		config_error(a, "the config has errors");
		return;
	}
	if ((!rejoin && join_dirty(a, &rejoin)) || (rejoin && join_all(a))) {
		if (rejoin) {	/* joined anew at the next sync */
			svcc_config_free(a->joined);
			a->joined = NULL;
		}
		config_error(a, "the files do not join");
		return;
	}
	if (resync) {
		pthread_mutex_lock(&a->st.lock);
		a->st.resyncs++;
		pthread_mutex_unlock(&a->st.lock);
		if (svcc_runtime_resync(a->rt))
			rc = -1;
	}
	whole = resync || a->whole;
	if (!rc && !whole && !changed->n) {
		fprintf(stderr, "svcc agent: sync %lu: no change (files looked at: %zu)\n", a->nsync,
			nfiles);
		a->pending_since = 0;
		return;
	}
	names_unique(changed);
	if (!rc)
		rc = whole ? svcc_runtime_apply_config(a->rt, a->joined)
			   : svcc_runtime_update(a->rt, a->joined, changed->v, changed->n);
	secs = mono() - t0;
	s = svcc_runtime_stats(a->rt);
	svcc_diag_print_color(a->ctx, stderr, a->color);
	if (rc && config_fault(a->ctx)) {
		/* joined keeps the change, and pending its services, for the fix */
		config_error(a, "the config has errors");
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
		else if (!a->nok)
			snprintf(what, sizeof(what), "first, applied whole");
		else if (whole)
			snprintf(what, sizeof(what), "cluster settings changed, applied whole");
		else
			what_changed(changed, what, sizeof(what));
		fprintf(stderr, "svcc agent: sync %lu: %s: %lu added, %lu changed, %lu deleted, "
			"%lu messages", a->nsync, what, s->added, s->changed, s->deleted, s->messages);
		/* what it had to read back: the table was not as it left it */
		if (s->sets_read || s->chains_read)
			fprintf(stderr, ", %lu sets and %lu chains read back", s->sets_read,
				s->chains_read);
		/* the library found the update unsafe alone and compiled everything:
		 * the cost of the sync is the whole config's then */
		if (!whole && s->services_compiled > changed->n)
			fprintf(stderr, ", compiled whole (%lu services)", s->services_compiled);
		fprintf(stderr, ", %.1f ms\n", secs * 1e3);
		pthread_mutex_lock(&a->st.lock);
		hist_add(&a->st.sync, secs);
		if (a->pending_since)
			hist_add(&a->st.programming, wall() - a->pending_since);
		a->st.last_ok = wall();
		a->st.netlink_messages += s->messages;
		a->st.conntrack_deleted += s->conntrack_deleted;
		a->st.services = svcc_config_service_count(a->joined);
		a->st.endpoints = a->endpoints;
		pthread_mutex_unlock(&a->st.lock);
		a->nok++;
		names_clear(changed);
		a->whole = false;
		a->resync = false;
		a->backoff = 0;
		a->pending_since = 0;
		if (a->http && (a->hc_dirty || whole))
			http_health_checks(a->http, a->joined);
		a->hc_dirty = false;
	}
	svcc_ctx_clear(a->ctx);
}

/* This process's resident kB (/proc/self/statm), or 0. */
static long rss_kb(void)
{
	char buf[128];
	long size, res;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	if (sscanf(buf, "%ld %ld", &size, &res) != 2)
		return 0;
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * glibc keeps what is freed in its heap, and the holes that updates leave
 * between what stays are seldom given back: at 10k services the agent's RSS
 * grew 15% in 17,000 updates (96 to 111 MB), 12 MB of it free heap that
 * malloc_trim returned.  Every TRIM_EVERY syncs, if the RSS has grown by
 * TRIM_SLACK since the last trim, the free pages go back to the kernel
 * (1-2 ms there; the syncs after it fault some of them in again).
 */
#define TRIM_EVERY 64
#define TRIM_SLACK 2048	/* kB */

static void give_back(struct agent *a)
{
#ifdef __GLIBC__
	if (a->nsync % TRIM_EVERY || rss_kb() < a->rss_trimmed + TRIM_SLACK)
		return;
	malloc_trim(0);
	a->rss_trimmed = rss_kb();
#else
	(void)a;
#endif
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
			give_back(a);
		}
	}
}

/* An argument after --k8s that is one of its files: not an option, nor
 * what a PATH names (a .svc file, a directory). */
static bool k8s_file(const char *arg)
{
	size_t n = strlen(arg);
	struct stat sb;

	if (arg[0] == '-' && arg[1])
		return false;
	if (n > 4 && !strcmp(arg + n - 4, ".svc"))
		return false;
	return stat(arg, &sb) || !S_ISDIR(sb.st_mode);
}

static void usage(FILE *out)
{
	fputs("usage: svcc agent [--table NAME] [--min-sync-period D] [--sync-period D]\n"
	      "                  [--healthz-address ADDR:PORT] [--metrics-address ADDR:PORT]\n"
	      "                  [--cleanup] [--no-owner] [--k8s FILE... [--node NAME]] PATH...\n"
	      "  PATH: a .svc file, or a directory whose *.svc files together are the config\n"
	      "  --k8s: Services and EndpointSlices (JSON or YAML, as svcc import-k8s reads\n"
	      "         them), the arguments up to an option, a .svc file or a directory\n"
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
		{ "k8s", required_argument, NULL, 'k' },
		{ "node", required_argument, NULL, 'n' },
		{ 0 }
	};
	struct agent a = { .table = table, .min_sync = 0.1, .sync_period = 3600, .color = color,
			   .rt_flags = SVCC_RT_OWNER, .w = { .fd = -1 } };
	const char *healthz = "127.0.0.1:10256", *metrics_addr = "127.0.0.1:10249";
	struct svcc_import_options import = { 0 };
	char **k8s = calloc((size_t)argc + 1, sizeof(*k8s)), **paths = NULL;
	size_t nk8s = 0, npaths = 0;
	sigset_t mask;
	int c, sfd = -1, rc = 1;

	if (!k8s) {
		fputs("svcc agent: out of memory\n", stderr);
		return 1;
	}

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
		case 'k':
			k8s[nk8s++] = optarg;
			while (optind < argc && k8s_file(argv[optind]))
				k8s[nk8s++] = argv[optind++];
			break;
		case 'n':
			import.node_name = optarg;
			break;
		default:
			usage(stderr);
			free(k8s);
			return 2;
		}
	}
	if (optind >= argc && !nk8s) {
		usage(stderr);
		free(k8s);
		return 2;
	}
	/* the watch's paths: the PATHs, then the --k8s files */
	npaths = (size_t)(argc - optind);
	if (!(paths = calloc(npaths + nk8s + 1, sizeof(*paths)))) {
		fputs("svcc agent: out of memory\n", stderr);
		free(k8s);
		return 1;
	}
	memcpy(paths, argv + optind, npaths * sizeof(*paths));
	memcpy(paths + npaths, k8s, nk8s * sizeof(*paths));
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
	if (watch_open(&a.w, paths, npaths + nk8s, nk8s, &import, color))
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
	fprintf(stderr, "svcc agent: table inet %s, %zu paths, %zu --k8s files, min sync period "
		"%g s, sync period %g s%s\n", table, npaths, nk8s, a.min_sync, a.sync_period,
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
	svcc_config_free(a.joined);
	names_free(&a.pending);
	watch_close(&a.w);
	free(paths);
	free(k8s);
	svcc_ctx_free(a.ctx);
	pthread_mutex_destroy(&a.st.lock);
	if (sfd >= 0)
		close(sfd);
	return rc;
}
