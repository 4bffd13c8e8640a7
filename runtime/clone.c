// SPDX-License-Identifier: MIT
/* rs_clone: the runtime keeps its own copy of what the kernel holds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clone.h"
#include "nameidx.h"

/* The copy's string for name, found through the copy's index. */
static const char *own(const struct nameidx *ni, char *const *names, const char *name, int *err)
{
	size_t i;

	if (!name)
		return NULL;
	i = nameidx_get(ni, name);
	if (i == (size_t)-1) {
		*err = EINVAL;
		return NULL;
	}
	return names[i];
}

struct rs_ruleset *rs_clone(const struct rs_ruleset *rs)
{
	struct rs_ruleset *c = rs_new(rs->table);
	struct nameidx sets = { 0 }, chains = { 0 };
	char **snames = NULL, **cnames = NULL;
	int err = ENOMEM;

	if (!c || nameidx_init(&sets, rs->nsets) || nameidx_init(&chains, rs->nchains))
		goto fail;
	for (size_t i = 0; i < rs->nchains; i++) {
		const struct rs_chain *src = &rs->chains[i];
		struct rs_chain *dst = rs_add_chain(c, src->name);

		if (!dst)
			goto fail;
		dst->hook = src->hook;
		dst->nat = src->nat;
		dst->priority = src->priority;
		dst->fingerprint = src->fingerprint;
	}
	for (size_t i = 0; i < c->nchains; i++)
		nameidx_put(&chains, c->chains[i].name, i);
	for (size_t i = 0; i < rs->nsets; i++) {
		const struct rs_set *src = &rs->sets[i];
		struct rs_set *dst = rs_add_set(c, src->name, src->family);
		char *name;

		if (!dst)
			goto fail;
		name = dst->name;
		*dst = *src;
		dst->name = name;
		dst->elems = NULL;
		dst->nelems = dst->cap = 0;
		if (src->nelems) {
			dst->elems = malloc(src->nelems * src->stride);
			if (!dst->elems)
				goto fail;
			memcpy(dst->elems, src->elems, src->nelems * src->stride);
			dst->nelems = dst->cap = src->nelems;
		}
	}
	for (size_t i = 0; i < c->nsets; i++)
		nameidx_put(&sets, c->sets[i].name, i);

	/* names into the copy: index arrays of its strings */
	snames = malloc((c->nsets + 1) * sizeof(*snames));
	cnames = malloc((c->nchains + 1) * sizeof(*cnames));
	if (!snames || !cnames)
		goto fail;
	for (size_t i = 0; i < c->nsets; i++)
		snames[i] = c->sets[i].name;
	for (size_t i = 0; i < c->nchains; i++)
		cnames[i] = c->chains[i].name;
	err = 0;
	for (size_t i = 0; i < c->nsets; i++) {
		struct rs_set *s = &c->sets[i];

		for (size_t k = 0; s->verdict && k < s->nelems; k++) {
			struct rs_elem *e = rs_elem_at(s, k);

			e->chain = own(&chains, cnames, e->chain, &err);
		}
	}
	for (size_t i = 0; i < rs->nchains; i++) {
		const struct rs_chain *src = &rs->chains[i];
		struct rs_chain *dst = &c->chains[i];

		if (src->nrules) {
			dst->rules = malloc(src->nrules * sizeof(*dst->rules));
			if (!dst->rules) {
				err = ENOMEM;
				goto fail;
			}
			memcpy(dst->rules, src->rules, src->nrules * sizeof(*dst->rules));
			dst->nrules = dst->cap = src->nrules;
		}
		for (size_t k = 0; k < dst->nrules; k++) {
			struct rs_rule *r = &dst->rules[k];

			r->set = own(&sets, snames, r->set, &err);
			r->set2 = own(&sets, snames, r->set2, &err);
			r->target = own(&chains, cnames, r->target, &err);
		}
	}
	if (err)
		goto fail;
	free(snames);
	free(cnames);
	nameidx_fini(&sets);
	nameidx_fini(&chains);
	return c;
fail:
	free(snames);
	free(cnames);
	nameidx_fini(&sets);
	nameidx_fini(&chains);
	rs_free(c);
	errno = err ? err : ENOMEM;
	return NULL;
}
