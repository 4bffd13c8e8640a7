/* SPDX-License-Identifier: MIT */
/*
 * The agent's config files: inotify on each PATH (a directory's *.svc
 * files, or one file, watched through its directory so that an editor's
 * write-and-rename and an atomic replace are seen), and one parsed config
 * per file, re-parsed only when an event names it; the --k8s files are
 * watched the same way and imported together, as one part.  What changed
 * is listed (dirty), so that a sync looks at those parts alone.
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

int watch_open(struct agent_watch *w, char **paths, size_t n, size_t nk8s,
	       const struct svcc_import_options *import, int color)
{
	memset(w, 0, sizeof(*w));
	w->color = color;
	w->nk8s = nk8s;
	w->import = import;
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
		w->is_dir[i] = S_ISDIR(sb.st_mode) && i < n - nk8s;
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

/* The part's last good parse replaced by cfg (NULL: none), unless in holds it. */
static void part_set(struct agent_part *p, struct svcc_ctx *ctx, struct svcc_config *cfg)
{
	if (p->cfg != p->in) {
		svcc_config_free(p->cfg);
		svcc_ctx_free(p->ctx);
	}
	p->cfg = cfg;
	p->ctx = ctx;
}

static void part_free(struct agent_part *p)
{
	part_set(p, NULL, NULL);
	svcc_config_free(p->in);
	svcc_ctx_free(p->in_ctx);
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
	for (size_t i = 0; i < w->ndirty; i++)
		free(w->dirty[i]);
	free(w->parts);
	free(w->touched);
	free(w->dirty);
	free(w->wds);
	free(w->is_dir);
}

/*
 * v with room for one more of size bytes (n used, *cap allocated), or
 * NULL with v left as it was.  The command uses only the public API: no
 * library helper for this.
 */
static void *grow(void *v, size_t n, size_t *cap, size_t size)
{
	size_t c = *cap ? 2 * *cap : 16;

	if (n < *cap)
		return v;
	if (!(v = realloc(v, c * size)))
		return NULL;
	*cap = c;
	return v;
}

/* path (taken) onto a list; -1 when out of memory. */
static int list_add(char ***v, size_t *n, size_t *cap, char *path)
{
	char **nv;

	if (!path)
		return -1;
	if (!(nv = grow(*v, *n, cap, sizeof(**v)))) {
		free(path);
		return -1;
	}
	*v = nv;
	(*v)[(*n)++] = path;
	return 0;
}

/* An event's file, once per burst (a burst names few files, over and over). */
static void touch(struct agent_watch *w, char *path)
{
	for (size_t i = 0; path && i < w->ntouched; i++)
		if (!strcmp(w->touched[i], path)) {
			free(path);
			return;
		}
	if (list_add(&w->touched, &w->ntouched, &w->touched_cap, path))
		w->rescan = true;	/* out of memory: look at everything instead */
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

			if (strcmp(slash ? slash + 1 : w->paths[i], ev->name))
				continue;
			if (i >= w->npaths - w->nk8s)
				w->k8s_touched = true;
			else
				touch(w, strdup(w->paths[i]));
			hits++;
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

struct agent_part *watch_part(struct agent_watch *w, const char *path)
{
	bool found;
	size_t i = part_find(w, path, &found);

	return found ? &w->parts[i] : NULL;
}

static void part_remove(struct agent_watch *w, size_t i)
{
	w->nbad -= w->parts[i].bad;
	part_free(&w->parts[i]);
	memmove(&w->parts[i], &w->parts[i + 1], (w->nparts - i - 1) * sizeof(*w->parts));
	w->nparts--;
}

/* The part of path, made (empty) if there is none; NULL when out of memory. */
static struct agent_part *part_get(struct agent_watch *w, const char *path)
{
	bool found;
	size_t i = part_find(w, path, &found);
	struct agent_part *parts;
	char *copy;

	if (found)
		return &w->parts[i];
	if (!(parts = grow(w->parts, w->nparts, &w->parts_cap, sizeof(*w->parts))))
		return NULL;
	w->parts = parts;
	if (!(copy = strdup(path)))
		return NULL;
	memmove(&w->parts[i + 1], &w->parts[i], (w->nparts - i) * sizeof(*w->parts));
	w->nparts++;
	memset(&w->parts[i], 0, sizeof(w->parts[i]));
	w->parts[i].path = copy;
	return &w->parts[i];
}

/* p changed: listed for the next sync's join. */
static void mark_dirty(struct agent_watch *w, struct agent_part *p)
{
	if (p->listed)
		return;
	if (list_add(&w->dirty, &w->ndirty, &w->dirty_cap, strdup(p->path))) {
		fprintf(stderr, "svcc agent: %s: out of memory\n", p->path);
		w->rescan = true;
		return;
	}
	p->listed = true;
}

void watch_joined(struct agent_watch *w, struct agent_part *p)
{
	if (p->in != p->cfg) {
		svcc_config_free(p->in);
		svcc_ctx_free(p->in_ctx);
		p->in = p->cfg;
		p->in_ctx = p->ctx;
	}
	p->listed = false;
	if (p->gone)
		part_remove(w, (size_t)(p - w->parts));
}

void watch_prune(struct agent_watch *w)
{
	size_t k = 0;

	for (size_t i = 0; i < w->ndirty; i++) {
		const struct agent_part *p = watch_part(w, w->dirty[i]);

		if (p && p->listed)
			w->dirty[k++] = w->dirty[i];
		else
			free(w->dirty[i]);
	}
	w->ndirty = k;
}

/* A new good parse of p (cfg NULL: the file went), or a bad one (bad). */
static int update(struct agent_watch *w, struct agent_part *p, struct svcc_ctx *ctx,
		  struct svcc_config *cfg, bool bad)
{
	w->nbad += (size_t)bad - p->bad;
	p->bad = bad;
	if (bad) {
		svcc_ctx_free(ctx);	/* the last good parse stays, unused until it is fixed */
		return 1;
	}
	part_set(p, ctx, cfg);
	p->gone = !cfg;
	mark_dirty(w, p);
	return 1;
}

/* Look at path now: parsed again, added, or gone.  1 when it changed. */
static int look(struct agent_watch *w, const char *path)
{
	struct svcc_config *cfg = NULL;
	struct svcc_ctx *ctx;
	struct agent_part *p;
	struct stat sb;
	int bad;

	if (stat(path, &sb) || !S_ISREG(sb.st_mode)) {
		if (!(p = watch_part(w, path)) || p->gone)
			return 0;
		return update(w, p, NULL, NULL, false);
	}
	if (!(ctx = svcc_ctx_new()) || !(p = part_get(w, path))) {
		svcc_ctx_free(ctx);
		fprintf(stderr, "svcc agent: %s: out of memory\n", path);
		w->rescan = true;
		return 0;
	}
	bad = svcc_parse_file(ctx, path, &cfg);
	svcc_diag_print_color(ctx, stderr, w->color);	/* errors, or warnings */
	return update(w, p, ctx, cfg, bad);
}

/* The --k8s files imported again, as one part. */
static int look_k8s(struct agent_watch *w)
{
	const char *const *files = (const char *const *)w->paths + (w->npaths - w->nk8s);
	struct svcc_config *cfg = NULL;
	struct svcc_ctx *ctx;
	struct agent_part *p;
	char name[4096];
	size_t off = (size_t)snprintf(name, sizeof(name), "k8s:");
	int bad;

	for (size_t i = 0; i < w->nk8s && off < sizeof(name); i++)
		off += (size_t)snprintf(name + off, sizeof(name) - off, "%s%s", i ? "," : "", files[i]);
	if (!(ctx = svcc_ctx_new()) || !(p = part_get(w, name))) {
		svcc_ctx_free(ctx);
		fprintf(stderr, "svcc agent: --k8s: out of memory\n");
		w->k8s_touched = true;
		return 0;
	}
	bad = svcc_import_k8s(ctx, files, w->nk8s, w->import, &cfg);
	svcc_diag_print_color(ctx, stderr, w->color);	/* errors, or what was left out */
	if (bad)
		fprintf(stderr, "svcc agent: --k8s: the files cannot be imported (%s)\n",
			strerror(errno));
	return update(w, p, ctx, cfg, bad);
}

/* Every file the PATHs name now, into touched; the parts no PATH names go. */
static void rescan(struct agent_watch *w)
{
	size_t before = w->ntouched;
	bool *named;

	w->k8s_touched = w->nk8s > 0;
	for (size_t i = 0; i < w->npaths - w->nk8s; i++) {
		struct dirent **names;
		int n;

		if (!w->is_dir[i]) {
			touch(w, strdup(w->paths[i]));
			continue;
		}
		/* names from a directory are distinct: no search among those touched */
		n = scandir(w->paths[i], &names, NULL, alphasort);
		if (n < 0) {
			fprintf(stderr, "svcc agent: %s: %s\n", w->paths[i], strerror(errno));
			continue;
		}
		for (int j = 0; j < n; j++) {
			if (is_svc_name(names[j]->d_name) &&
			    list_add(&w->touched, &w->ntouched, &w->touched_cap,
				     join(w->paths[i], names[j]->d_name)))
				w->rescan = true;
			free(names[j]);
		}
		free(names);
	}
	if (!(named = calloc(w->nparts + 1, sizeof(*named)))) {
		w->rescan = true;
		return;
	}
	for (size_t j = before; j < w->ntouched; j++) {
		bool found;
		size_t i = part_find(w, w->touched[j], &found);

		named[i] |= found;
	}
	for (size_t i = 0, n = w->nparts; i < n; i++)
		if (!named[i] && strncmp(w->parts[i].path, "k8s:", 4))
			touch(w, strdup(w->parts[i].path));	/* look() finds it gone */
	free(named);
}

size_t watch_refresh(struct agent_watch *w, size_t *changed)
{
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
	if (w->k8s_touched) {
		w->k8s_touched = false;
		*changed += (size_t)look_k8s(w);
	}
	return w->nbad;
}
