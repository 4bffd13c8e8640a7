/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

struct gosvcc_buf *gosvcc_buf_open(void)
{
	struct gosvcc_buf *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->f = open_memstream(&b->data, &b->len);
	if (!b->f) {
		free(b);
		return NULL;
	}
	return b;
}

int gosvcc_buf_close(struct gosvcc_buf *b)
{
	FILE *f = b->f;

	b->f = NULL;
	return f ? fclose(f) : 0;
}

void gosvcc_buf_free(struct gosvcc_buf *b)
{
	if (!b)
		return;
	gosvcc_buf_close(b);
	free(b->data);
	free(b);
}

static int collect(const char *name, void *arg)
{
	struct gosvcc_names *names = arg;
	char *copy;

	if (names->n == names->cap) {
		size_t cap = names->cap ? 2 * names->cap : 16;
		char **v = realloc(names->v, cap * sizeof(*v));

		if (!v)
			return ENOMEM;
		names->v = v;
		names->cap = cap;
	}
	if (!(copy = strdup(name)))
		return ENOMEM;
	names->v[names->n++] = copy;
	return 0;
}

/* 0, or ENOMEM with out emptied */
int gosvcc_changed_services(const struct svcc_config *old, const struct svcc_config *new_cfg,
			    struct gosvcc_names *out)
{
	int rc = svcc_config_each_changed_service(old, new_cfg, collect, out);

	if (rc)
		gosvcc_names_free(out);
	return rc;
}

void gosvcc_names_free(struct gosvcc_names *names)
{
	for (size_t i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	names->v = NULL;
	names->n = names->cap = 0;
}
