/* SPDX-License-Identifier: MIT */
/*
 * svcc agent: the long-running node agent, a client of the public API only.
 * agent.c runs the loop (watch, sync, resync, signals), agent_watch.c keeps
 * the parsed files, agent_http.c serves health, metrics and the
 * health-check NodePorts.
 */
#ifndef SVCC_AGENT_H
#define SVCC_AGENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "svcc.h"

/* svcc agent ARGS (argv[0] is "agent"); the exit status. */
int agent_main(int argc, char **argv, const char *table, int color);

/* ---- agent_watch.c: the config's files, parsed one by one --------------- */

/*
 * One file's config, or the --k8s files' import.  cfg is its last good
 * parse; in is the one whose services the joined config holds (the same
 * once synced), kept with the context its locations point into until the
 * joined config has it replaced.
 */
struct agent_part {
	char *path;			/* the file; for the import, "k8s:" and its files */
	struct svcc_ctx *ctx, *in_ctx;
	struct svcc_config *cfg, *in;	/* NULL: none (a new part, or gone) */
	bool bad;			/* the file as it is now does not parse */
	bool gone;			/* the file went: the part goes once in is out */
	bool listed;			/* in dirty */
};

struct agent_watch {
	int fd;				/* inotify */
	char **paths;			/* the PATH arguments, then the --k8s files */
	int *wds;			/* the watch on each (its directory for a file) */
	bool *is_dir;
	size_t npaths, nk8s;		/* the last nk8s paths are --k8s files */
	const struct svcc_import_options *import; /* for the --k8s files */
	struct agent_part *parts;	/* by path */
	size_t nparts, parts_cap;
	char **touched;			/* files an event named since the last refresh */
	size_t ntouched, touched_cap;
	char **dirty;			/* parts whose cfg is not in: what a sync joins */
	size_t ndirty, dirty_cap;
	size_t nbad;			/* parts that do not parse now */
	bool k8s_touched;		/* import the --k8s files again */
	bool rescan;			/* look at everything (start, SIGHUP, overflow) */
	int color;
};

/* paths: n of them, the last nk8s --k8s files, imported with import. */
int watch_open(struct agent_watch *w, char **paths, size_t n, size_t nk8s,
	       const struct svcc_import_options *import, int color);
void watch_close(struct agent_watch *w);
/* Read the queued events; the number that concern the config's files. */
int watch_read(struct agent_watch *w);
/* Parse what changed (diagnostics to stderr).  *changed: files changed,
 * added or removed; returns the number of files that do not parse now. */
size_t watch_refresh(struct agent_watch *w, size_t *changed);
/* The part of that path, or NULL. */
struct agent_part *watch_part(struct agent_watch *w, const char *path);
/* p's cfg is in the joined config now: in takes it, and a gone part goes
 * (p with it: parts move). */
void watch_joined(struct agent_watch *w, struct agent_part *p);
/* dirty without the parts that are joined now. */
void watch_prune(struct agent_watch *w);

/* ---- agent_http.c: /healthz, /livez, /metrics, health-check NodePorts ---- */

#define AGENT_BUCKETS 16	/* 0.5 ms doubling up to 16 s */

struct agent_hist {
	unsigned long bucket[AGENT_BUCKETS];
	unsigned long count;
	double sum;
};

struct agent_hc;

/* What the HTTP threads read; the loop writes it under lock. */
struct agent_stats {
	pthread_mutex_t lock;
	double sync_period;		/* seconds */
	double last_ok;			/* wall time of the last good sync; 0: none yet */
	double last_sync;		/* wall time of the last sync, good or not */
	struct agent_hist sync, programming;
	unsigned long config_errors, sync_errors, resyncs, netlink_messages, conntrack_deleted;
	size_t services, endpoints;
	struct agent_hc **hcs;		/* health-check NodePorts being served */
	size_t nhcs;
};

struct agent_http;

void hist_add(struct agent_hist *h, double seconds);
/* Serve healthz_addr and metrics_addr ("ADDR:PORT", "[ADDR]:PORT"; "" none).
 * Errors to stderr; -1 when an address is bad or taken. */
int http_start(struct agent_stats *st, const char *healthz_addr, const char *metrics_addr,
	       struct agent_http **out);
void http_stop(struct agent_http *h);
/* The health-check NodePorts cfg declares, served from now on (the others stopped). */
void http_health_checks(struct agent_http *h, const struct svcc_config *cfg);

#endif
