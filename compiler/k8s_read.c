/* SPDX-License-Identifier: MIT */
/*
 * JSON (jansson) and YAML (libyaml, its event parser) into jansson values.
 *
 * YAML scalars are typed as YAML 1.2's core schema types them: plain
 * null/~/empty, true/false, integers and floats are such; anything quoted
 * or tagged !!str is a string.  Anchors and aliases are followed (an alias
 * shares its anchor's value: no expansion); an alias to an unfinished
 * ancestor is an error, so that no value contains itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "k8s_read.h"
#include "util.h"

/* jansson's own limit for JSON; its recursive free must not run out of stack */
#define MAX_DEPTH 2048

static int set_error(struct k8s_read_error *err, int line, int column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int set_error(struct k8s_read_error *err, int line, int column, const char *fmt, ...)
{
	va_list ap;

	err->line = line;
	err->column = column;
	va_start(ap, fmt);
	vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	errno = EBADMSG;
	return -1;
}

static int nomem(struct k8s_read_error *err)
{
	set_error(err, 0, 0, "out of memory");
	errno = ENOMEM;
	return -1;
}

static int docs_add(struct k8s_docs *docs, json_t *v, struct k8s_read_error *err)
{
	if (VEC_RESERVE(docs->v, docs->n, docs->cap)) {
		json_decref(v);
		return nomem(err);
	}
	docs->v[docs->n++] = v;
	return 0;
}

void k8s_docs_free(struct k8s_docs *docs)
{
	for (size_t i = 0; i < docs->n; i++)
		json_decref(docs->v[i]);
	free(docs->v);
	*docs = (struct k8s_docs){ 0 };
}

/* ---- JSON --------------------------------------------------------------- */

/*
 * jansson reports a failed allocation as a syntax error ("invalid token"),
 * or loses a character and goes on: its allocations come through here, so
 * that read_json() can tell.  Installed once in the process, it calls the
 * allocator that was there before (a program's own), and only notes a
 * failure in the thread that had it.
 */
static _Thread_local bool json_oom;
static json_malloc_t prev_malloc;
static pthread_once_t hook_once = PTHREAD_ONCE_INIT;

static void *json_alloc(size_t n)
{
	void *p = prev_malloc(n);

	if (!p)
		json_oom = true;
	return p;
}

static void hook_jansson(void)
{
	json_free_t prev_free;

	json_get_alloc_funcs(&prev_malloc, &prev_free);
	json_set_alloc_funcs(json_alloc, prev_free);
}

static int read_json(const char *buf, size_t len, struct k8s_docs *docs,
		     struct k8s_read_error *err)
{
	json_error_t e;
	json_t *j;

	pthread_once(&hook_once, hook_jansson);
	json_oom = false;
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
	if (json_oom) {
		/* it may even have lost a character and gone on */
		json_decref(j);
		return nomem(err);	/* errno set after the free */
	}
	if (!j)
		return set_error(err, e.line > 0 ? e.line : 0, e.line > 0 ? e.column : 0, "%s",
				 e.text);
	return docs_add(docs, j, err);
}

/* ---- YAML --------------------------------------------------------------- */

/* An unfinished sequence or mapping, and for a mapping the key it awaits a value for. */
struct frame {
	json_t *v;
	char *key;		/* NULL: the next scalar is a key */
	char *anchor;
	yaml_mark_t key_mark;
};

struct anchor {
	char *name;
	json_t *v;
};

struct ybuild {
	struct frame *stack;
	size_t depth, cap;
	struct anchor *anchors;
	size_t nanchors, anchors_cap;
	json_t *root;
	struct k8s_read_error *err;
};

static int mark_error(struct ybuild *b, yaml_mark_t m, const char *fmt, const char *arg)
{
	return set_error(b->err, (int)m.line + 1, (int)m.column + 1, fmt, arg);
}

static bool is_one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

/* [-+]?[0-9]+, or 0o / 0x and digits of that base */
static bool parse_int(const char *s, json_int_t *out)
{
	int base = 10;
	const char *d = s + (*s == '-' || *s == '+');
	char *end;
	long long v;

	if (d == s && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
		base = s[1] == 'o' ? 8 : 16;
		d = s + 2;
	}
	if (!*d || strspn(d, base == 16 ? "0123456789abcdefABCDEF" : base == 8 ? "01234567" :
			  "0123456789") != strlen(d))
		return false;
	errno = 0;
	v = strtoll(d, &end, base);
	if (errno)
		return false;
	*out = *s == '-' ? -v : v;
	return true;
}

/* [-+]?(.[0-9]+|[0-9]+(.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool parse_float(const char *s, double *out)
{
	const char *p = s + (*s == '-' || *s == '+');
	size_t i = strspn(p, "0123456789"), f = 0;
	char *end;

	if (p[i] == '.')
		f = strspn(p + i + 1, "0123456789") + 1;
	if (!i && f < 2)
		return false;
	p += i + f;
	if (*p == 'e' || *p == 'E') {
		p += 1 + (p[1] == '-' || p[1] == '+');
		if (!strspn(p, "0123456789"))
			return false;
		p += strspn(p, "0123456789");
	}
	if (*p)
		return false;
	*out = strtod(s, &end);
	return true;
}

/* A scalar as the core schema types it. */
static json_t *scalar_value(const yaml_event_t *ev)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "true", "True", "TRUE", NULL };
	static const char *const falses[] = { "false", "False", "FALSE", NULL };
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	json_int_t i;
	double d;

	if (tag && !strcmp(tag, YAML_NULL_TAG))
		return json_null();
	if ((!tag && plain) || (tag && strcmp(tag, YAML_STR_TAG))) {
		if (is_one_of(s, nulls))
			return json_null();
		if (is_one_of(s, trues))
			return json_true();
		if (is_one_of(s, falses))
			return json_false();
		if (parse_int(s, &i))
			return json_integer(i);
		if (parse_float(s, &d))
			return json_real(d);
	}
	return json_stringn_nocheck(s, ev->data.scalar.length);	/* libyaml checked UTF-8 */
}

static json_t *find_anchor(struct ybuild *b, const char *name)
{
	for (size_t i = b->nanchors; i-- > 0;)	/* a later anchor of the name hides an earlier */
		if (!strcmp(b->anchors[i].name, name))
			return b->anchors[i].v;
	return NULL;
}

static int add_anchor(struct ybuild *b, char *name, json_t *v)
{
	if (VEC_RESERVE(b->anchors, b->nanchors, b->anchors_cap)) {
		free(name);
		return nomem(b->err);
	}
	b->anchors[b->nanchors++] = (struct anchor){ name, json_incref(v) };
	return 0;
}

static void drop_anchors(struct ybuild *b)
{
	for (size_t i = 0; i < b->nanchors; i++) {
		free(b->anchors[i].name);
		json_decref(b->anchors[i].v);
	}
	b->nanchors = 0;
}

/* v finished (taken, also on error): into its parent, or the document's root. */
static int put_value(struct ybuild *b, json_t *v, char *anchor, yaml_mark_t m)
{
	struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	int rc = 0;

	if (!v) {
		free(anchor);
		return nomem(b->err);
	}
	if (anchor && add_anchor(b, anchor, v)) {
		json_decref(v);
		return -1;
	}
	if (!f) {
		b->root = v;
	} else if (json_is_array(f->v)) {
		if (json_array_append_new(f->v, v))
			rc = nomem(b->err);
	} else if (!f->key) {
		json_decref(v);
		rc = mark_error(b, m, "a mapping key must be a scalar%s", "");
	} else {
		if (json_object_get(f->v, f->key))
			rc = mark_error(b, f->key_mark, "duplicate mapping key '%s'", f->key);
		else if (json_object_set_new_nocheck(f->v, f->key, v))
			rc = nomem(b->err);
		else
			v = NULL;
		json_decref(v);
		free(f->key);
		f->key = NULL;
	}
	return rc;
}

static int push(struct ybuild *b, json_t *v, const yaml_event_t *ev, const char *anchor)
{
	struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	char *copy = anchor ? strdup(anchor) : NULL;

	if (f && json_is_object(f->v) && !f->key) {
		free(copy);
		json_decref(v);
		return mark_error(b, ev->start_mark, "a mapping key must be a scalar%s", "");
	}
	if (b->depth >= MAX_DEPTH) {
		free(copy);
		json_decref(v);
		return mark_error(b, ev->start_mark, "nested more than %s deep", "2048");
	}
	if (!v || (anchor && !copy) || VEC_RESERVE(b->stack, b->depth, b->cap)) {
		free(copy);
		json_decref(v);
		return nomem(b->err);
	}
	b->stack[b->depth++] = (struct frame){ .v = v, .anchor = copy };
	return 0;
}

static int pop(struct ybuild *b, const yaml_event_t *ev)
{
	struct frame f = b->stack[--b->depth];

	return put_value(b, f.v, f.anchor, ev->start_mark);
}

static char *dup_anchor(const yaml_char_t *a, bool *oom)
{
	char *s = a ? strdup((const char *)a) : NULL;

	*oom = a && !s;
	return s;
}

static int on_scalar(struct ybuild *b, const yaml_event_t *ev)
{
	struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	bool oom;
	char *anchor = dup_anchor(ev->data.scalar.anchor, &oom);

	if (oom)
		return nomem(b->err);
	if (f && json_is_object(f->v) && !f->key) {
		free(anchor);	/* an anchored key is not worth following */
		f->key = strndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		f->key_mark = ev->start_mark;
		return f->key ? 0 : nomem(b->err);
	}
	return put_value(b, scalar_value(ev), anchor, ev->start_mark);
}

static int on_alias(struct ybuild *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	json_t *v = find_anchor(b, name);

	if (!v)
		return mark_error(b, ev->start_mark, "alias *%s: no such anchor before it, or one "
				  "that contains it", name);
	if (f && json_is_object(f->v) && !f->key) {
		if (!json_is_string(v))
			return mark_error(b, ev->start_mark, "alias *%s: a mapping key must be a "
					  "scalar", name);
		f->key = strdup(json_string_value(v));
		f->key_mark = ev->start_mark;
		return f->key ? 0 : nomem(b->err);
	}
	return put_value(b, json_incref(v), NULL, ev->start_mark);
}

static int end_document(struct ybuild *b, struct k8s_docs *docs)
{
	json_t *root = b->root;

	drop_anchors(b);	/* anchors are the document's own */
	b->root = NULL;
	if (!root || json_is_null(root))	/* "---" and nothing */
		return 0;
	return docs_add(docs, root, b->err);
}

/* One event; 1 at the end of the stream. */
static int on_event(struct ybuild *b, const yaml_event_t *ev, struct k8s_docs *docs)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return push(b, json_array(), ev, (const char *)ev->data.sequence_start.anchor);
	case YAML_MAPPING_START_EVENT:
		return push(b, json_object(), ev, (const char *)ev->data.mapping_start.anchor);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		return pop(b, ev);
	case YAML_DOCUMENT_END_EVENT:
		return end_document(b, docs);
	case YAML_STREAM_END_EVENT:
		return 1;
	default:
		return 0;
	}
}

static void ybuild_free(struct ybuild *b)
{
	for (size_t i = 0; i < b->depth; i++) {
		json_decref(b->stack[i].v);
		free(b->stack[i].key);
		free(b->stack[i].anchor);
	}
	free(b->stack);
	drop_anchors(b);
	free(b->anchors);
	json_decref(b->root);
}

static int parser_error(const yaml_parser_t *p, struct k8s_read_error *err)
{
	const yaml_mark_t *m = &p->problem_mark;
	const char *problem = p->problem ? p->problem : "invalid YAML";

	if (p->error == YAML_MEMORY_ERROR)
		return nomem(err);
	if (p->context)
		return set_error(err, (int)m->line + 1, (int)m->column + 1, "%s: %s", p->context,
				 problem);
	return set_error(err, (int)m->line + 1, (int)m->column + 1, "%s", problem);
}

static int read_yaml(const char *buf, size_t len, struct k8s_docs *docs,
		     struct k8s_read_error *err)
{
	struct ybuild b = { .err = err };
	yaml_parser_t p;
	yaml_event_t ev;
	size_t first = docs->n;
	int rc = 0, e;

	if (!yaml_parser_initialize(&p))
		return nomem(err);
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	while (!rc) {
		if (!yaml_parser_parse(&p, &ev)) {
			rc = parser_error(&p, err);
			break;
		}
		rc = on_event(&b, &ev, docs);
		yaml_event_delete(&ev);
	}
	e = errno;
	yaml_parser_delete(&p);
	ybuild_free(&b);
	if (rc < 0) {
		/* nothing of a stream that failed */
		while (docs->n > first)
			json_decref(docs->v[--docs->n]);
		errno = e;
		return -1;
	}
	return 0;
}

/* ---- input -------------------------------------------------------------- */

int k8s_read_buffer(const char *buf, size_t len, struct k8s_docs *docs,
		    struct k8s_read_error *err)
{
	size_t i = 0;

	while (i < len && strchr(" \t\r\n", buf[i]) && buf[i])
		i++;
	if (i < len && (buf[i] == '{' || buf[i] == '['))
		return read_json(buf, len, docs, err);
	return read_yaml(buf, len, docs, err);
}

/* All of f, NUL-terminated. */
static char *slurp(FILE *f, size_t *len)
{
	size_t n = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		size_t got;

		if (cap - n < 4096) {
			char *p = realloc(buf, cap = cap ? 2 * cap : 65536);

			if (!p) {
				free(buf);
				errno = ENOMEM;
				return NULL;
			}
			buf = p;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got)
			continue;
		if (ferror(f)) {
			int e = errno;

			free(buf);
			errno = e ? e : EIO;
			return NULL;
		}
		break;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

int k8s_read_file(const char *path, struct k8s_docs *docs, struct k8s_read_error *err)
{
	bool in = !strcmp(path, "-");
	FILE *f = in ? stdin : fopen(path, "r");
	size_t len;
	char *buf;
	int rc, e;

	if (!f) {
		e = errno;
		set_error(err, 0, 0, "%s", strerror(e));
		errno = e;
		return -1;
	}
	buf = slurp(f, &len);
	if (!buf) {
		e = errno;
		if (!in)
			fclose(f);
		if (e == ENOMEM)
			return nomem(err);
		set_error(err, 0, 0, "%s", strerror(e));
		errno = e;
		return -1;
	}
	if (!in)
		fclose(f);
	rc = k8s_read_buffer(buf, len, docs, err);
	e = errno;	/* kept across free */
	free(buf);
	errno = e;
	return rc;
}
