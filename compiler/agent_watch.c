/* SPDX-License-Identifier: MIT */
/*
 * The agent's config files: inotify on each PATH (a directory's *.svc
 * files, or one file, watched through its directory so that an editor's
 * write-and-rename and an atomic replace are seen), and one parsed config
 * per file, re-parsed only when an event names it.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"

#define WATCH_MASK (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | \
		    IN_DELETE_SELF | IN_MOVE_SELF)

static bool is_svc_name(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && name[0] != '.' && !strcmp(name + n - 4, ".svc");
}

static char *join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

int watch_open(struct agent_watch *w, char **paths, size_t n, int color)
{
	memset(w, 0, sizeof(*w));
	w->color = color;
	w->rescan = true;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		fprintf(stderr, "svcc agent: inotify: %s\n", strerror(errno));
		return -1;
	}
	w->paths = paths;
	w->npaths = n;
	w->wds = calloc(n, sizeof(*w->wds));
	w->is_dir = calloc(n, sizeof(*w->is_dir));
	if (!w->wds || !w->is_dir)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct stat sb;
		char *dir;

		if (stat(paths[i], &sb)) {
			fprintf(stderr, "svcc agent: %s: %s\n", paths[i], strerror(errno));
			return -1;
		}
		w->is_dir[i] = S_ISDIR(sb.st_mode);
		if (w->is_dir[i]) {
			dir = strdup(paths[i]);
		} else {
			const char *slash = strrchr(paths[i], '/');

			dir = slash ? strndup(paths[i], (size_t)(slash - paths[i]) + (slash == paths[i]))
				    : strdup(".");
		}
		if (!dir)
			return -1;
		w->wds[i] = inotify_add_watch(w->fd, dir, WATCH_MASK);
		if (w->wds[i] < 0)
			fprintf(stderr, "svcc agent: %s: cannot watch: %s\n", dir, strerror(errno));
		free(dir);
		if (w->wds[i] < 0)
			return -1;
	}
	return 0;
}

static void part_free(struct agent_part *p)
{
	svcc_config_free(p->cfg);
	svcc_ctx_free(p->ctx);
	free(p->path);
}

void watch_close(struct agent_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	for (size_t i = 0; i < w->nparts; i++)
		part_free(&w->parts[i]);
	for (size_t i = 0; i < w->ntouched; i++)
		free(w->touched[i]);
	free(w->parts);
	free(w->touched);
	free(w->wds);
	free(w->is_dir);
}

static void touch(struct agent_watch *w, char *path)
{
	if (!path) {
		w->rescan = true;	/* out of memory: look at everything instead */
		return;
	}
	for (size_t i = 0; i < w->ntouched; i++)
		if (!strcmp(w->touched[i], path)) {
			free(path);
			return;
		}
	if (w->ntouched == w->touched_cap) {
		size_t cap = w->touched_cap ? 2 * w->touched_cap : 16;
		char **v = realloc(w->touched, cap * sizeof(*v));

		if (!v) {
			free(path);
			w->rescan = true;
			return;
		}
		w->touched = v;
		w->touched_cap = cap;
	}
	w->touched[w->ntouched++] = path;
}

/* An event of watch wd on name: which of the config's files it names. */
static int event(struct agent_watch *w, const struct inotify_event *ev)
{
	int hits = 0;

	if (ev->mask & IN_Q_OVERFLOW) {
		w->rescan = true;
		return 1;
	}
	for (size_t i = 0; i < w->npaths; i++) {
		if (w->wds[i] != ev->wd)
			continue;
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
			w->rescan = true;
			hits++;
		} else if (!ev->len) {
			continue;
		} else if (w->is_dir[i] && is_svc_name(ev->name)) {
			touch(w, join(w->paths[i], ev->name));
			hits++;
		} else if (!w->is_dir[i]) {
			const char *slash = strrchr(w->paths[i], '/');

			if (!strcmp(slash ? slash + 1 : w->paths[i], ev->name)) {
				touch(w, strdup(w->paths[i]));
				hits++;
			}
		}
	}
	return hits;
}

int watch_read(struct agent_watch *w)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	int hits = 0;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			hits += event(w, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
	return hits;
}

static size_t part_find(const struct agent_watch *w, const char *path, bool *found)
{
	size_t lo = 0, hi = w->nparts;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(w->parts[mid].path, path);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void part_remove(struct agent_watch *w, size_t i)
{
	part_free(&w->parts[i]);
	memmove(&w->parts[i], &w->parts[i + 1], (w->nparts - i - 1) * sizeof(*w->parts));
	w->nparts--;
}

/* Look at path now: parsed again, added, or gone.  1 when it changed. */
static int look(struct agent_watch *w, const char *path)
{
	struct svcc_config *cfg = NULL;
	struct svcc_ctx *ctx;
	struct agent_part *p;
	struct stat sb;
	bool found;
	size_t i = part_find(w, path, &found);

	if (stat(path, &sb) || !S_ISREG(sb.st_mode)) {
		if (!found)
			return 0;
		part_remove(w, i);
		return 1;
	}
	if (!(ctx = svcc_ctx_new()))
		goto nomem;
	if (!found) {
		struct agent_part *v = w->parts;
		char *copy = strdup(path);

		if (w->nparts == w->parts_cap) {
			size_t cap = w->parts_cap ? 2 * w->parts_cap : 16;

			v = copy ? realloc(w->parts, cap * sizeof(*v)) : NULL;
			if (v) {
				w->parts = v;
				w->parts_cap = cap;
			}
		}
		if (!v || !copy) {
			free(copy);
			svcc_ctx_free(ctx);
			goto nomem;
		}
		memmove(&w->parts[i + 1], &w->parts[i], (w->nparts - i) * sizeof(*w->parts));
		w->nparts++;
		memset(&w->parts[i], 0, sizeof(w->parts[i]));
		w->parts[i].path = copy;
	}
	p = &w->parts[i];
	if (svcc_parse_file(ctx, path, &cfg)) {
		svcc_diag_print_color(ctx, stderr, w->color);
		svcc_ctx_free(ctx);
		p->bad = true;	/* the last good parse stays, unused until it is fixed */
		return 1;
	}
	svcc_diag_print_color(ctx, stderr, w->color);	/* warnings */
	svcc_config_free(p->cfg);
	svcc_ctx_free(p->ctx);
	p->cfg = cfg;
	p->ctx = ctx;
	p->bad = false;
	return 1;
nomem:
	fprintf(stderr, "svcc agent: %s: out of memory\n", path);
	w->rescan = true;
	return 0;
}

/* Every file the PATHs name now, into touched; the parts no PATH names go. */
static void rescan(struct agent_watch *w)
{
	size_t before = w->ntouched;

	for (size_t i = 0; i < w->npaths; i++) {
		struct dirent **names;
		int n;

		if (!w->is_dir[i]) {
			touch(w, strdup(w->paths[i]));
			continue;
		}
		n = scandir(w->paths[i], &names, NULL, alphasort);
		if (n < 0) {
			fprintf(stderr, "svcc agent: %s: %s\n", w->paths[i], strerror(errno));
			continue;
		}
		for (int j = 0; j < n; j++) {
			if (is_svc_name(names[j]->d_name))
				touch(w, join(w->paths[i], names[j]->d_name));
			free(names[j]);
		}
		free(names);
	}
	for (size_t i = w->nparts; i-- > 0;) {
		bool named = false;

		for (size_t j = before; j < w->ntouched && !named; j++)
			named = !strcmp(w->touched[j], w->parts[i].path);
		if (!named)
			touch(w, strdup(w->parts[i].path));	/* look() finds it gone */
	}
}

size_t watch_refresh(struct agent_watch *w, size_t *changed)
{
	size_t bad = 0;

	*changed = 0;
	if (w->rescan) {
		w->rescan = false;
		rescan(w);
	}
	for (size_t i = 0; i < w->ntouched; i++) {
		*changed += (size_t)look(w, w->touched[i]);
		free(w->touched[i]);
	}
	w->ntouched = 0;
	for (size_t i = 0; i < w->nparts; i++)
		bad += w->parts[i].bad;
	return bad;
}
