// SPDX-License-Identifier: MIT
/*
 * libFuzzer: the runtime's diff.  The input is two .svc configs (split at a
 * "%%" line); when both compile, the transaction tx_diff(A, B) is applied
 * to A's table held in memory the way the kernel applies a batch, and the
 * result must be B's table exactly.  The in-memory kernel is below
 * (struct model): sets with their declarations and elements, chains with
 * their declarations and rules as text, and the kernel's refusals an
 * operation can meet (adding what exists with other properties, deleting
 * what does not exist or is still referred to, a rule or verdict naming a
 * set or chain that does not exist).  Also: diff(A, A) and diff(B, B) are
 * empty, diff(A, B) is empty exactly when A and B render the same, and
 * diff(NULL, B) applied to no table gives B.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svcc.h"
#include "internal.h"
#include "tx.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- an nftables table in memory ------------------------------------------ */

#define KEYB (RS_KEY_MAX + 1)	/* key bytes, then the prefix length */

struct melem {
	uint8_t b[KEYB + RS_DATA_MAX];	/* key, prefix, data */
	const char *chain;		/* verdict: the chain it goes to */
};

struct mset {
	const char *name;
	char *decl;			/* "add set ..." as rendered */
	size_t klen, dlen;
	bool verdict;
	struct melem *e;
	size_t n, cap;
};

struct mrule {
	char *text;
	const char *set, *set2, *target;	/* what it refers to */
};

struct mchain {
	const char *name;
	char *decl;			/* "add chain ..." with its comment */
	struct mrule *r;
	size_t n, cap;
};

struct model {
	bool table;
	struct mset *sets;
	size_t nsets, setcap;
	struct mchain *chains;
	size_t nchains, chaincap;
};

#define GROW(v, n, cap) do { if ((n) == (cap)) { \
	(cap) = (cap) ? 2 * (cap) : 8; \
	(v) = realloc((v), (cap) * sizeof(*(v))); FUZZ_ASSERT(v); } } while (0)

/* What a render function writes, as a string. */
#define TEXT(call) ({ char *t_ = NULL; size_t l_ = 0; FILE *out = open_memstream(&t_, &l_); \
	FUZZ_ASSERT(out); FUZZ_ASSERT((call) == 0); fclose(out); t_; })

static struct mset *find_set(struct model *m, const char *name)
{
	for (size_t i = 0; i < m->nsets; i++)
		if (!strcmp(m->sets[i].name, name))
			return &m->sets[i];
	return NULL;
}

static struct mchain *find_chain(struct model *m, const char *name)
{
	for (size_t i = 0; i < m->nchains; i++)
		if (!strcmp(m->chains[i].name, name))
			return &m->chains[i];
	return NULL;
}

static void set_free(struct mset *s)
{
	free(s->decl);
	free(s->e);
}

static void chain_free(struct mchain *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->r[i].text);
	free(c->r);
	free(c->decl);
}

static void model_clear(struct model *m)
{
	for (size_t i = 0; i < m->nsets; i++)
		set_free(&m->sets[i]);
	for (size_t i = 0; i < m->nchains; i++)
		chain_free(&m->chains[i]);
	free(m->sets);
	free(m->chains);
	memset(m, 0, sizeof(*m));
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Is name used by a rule (as a set, or as a jump/goto target) or a verdict? */
static bool set_in_use(struct model *m, const char *name)
{
	for (size_t i = 0; i < m->nchains; i++)
		for (size_t k = 0; k < m->chains[i].n; k++)
			if (str_eq(m->chains[i].r[k].set, name) || str_eq(m->chains[i].r[k].set2, name))
				return true;
	return false;
}

static bool chain_in_use(struct model *m, const struct mchain *c)
{
	for (size_t i = 0; i < m->nchains; i++)
		for (size_t k = 0; k < m->chains[i].n; k++)
			if (&m->chains[i] != c && str_eq(m->chains[i].r[k].target, c->name))
				return true;
	for (size_t i = 0; i < m->nsets; i++)
		for (size_t k = 0; k < m->sets[i].n; k++)
			if (str_eq(m->sets[i].e[k].chain, c->name))
				return true;
	return false;
}

static void elem_of(const struct rs_set *s, const struct rs_elem *e, struct melem *me)
{
	memset(me, 0, sizeof(*me));
	memcpy(me->b, e->key, s->key_len);
	me->b[RS_KEY_MAX] = e->prefix;
	memcpy(me->b + KEYB, rs_elem_data(s, e), s->data_len);
	me->chain = s->verdict ? e->chain : NULL;
}

static struct melem *find_elem(struct mset *s, const struct melem *e)
{
	for (size_t i = 0; i < s->n; i++)
		if (!memcmp(s->e[i].b, e->b, KEYB))
			return &s->e[i];
	return NULL;
}

static bool elem_same(const struct melem *a, const struct melem *b)
{
	return !memcmp(a->b, b->b, sizeof(a->b)) && str_eq(a->chain, b->chain);
}

/* The kernel's answer to one operation: NULL, or why it refuses it. */
static const char *add_set(struct model *m, const struct rs_ruleset *rs, const struct rs_set *s)
{
	char *decl = TEXT(rs_render_set_decl(rs, s, out));
	struct mset *old = find_set(m, s->name), *n;

	if (old) {
		bool same = !strcmp(old->decl, decl);

		free(decl);
		return same ? NULL : "add set: exists with other properties";
	}
	GROW(m->sets, m->nsets, m->setcap);
	n = &m->sets[m->nsets++];
	*n = (struct mset){ .name = s->name, .decl = decl, .klen = s->key_len,
			    .dlen = s->data_len, .verdict = s->verdict };
	return NULL;
}

static const char *add_elem(struct model *m, struct mset *ms, const struct rs_set *s,
			    const struct rs_elem *e)
{
	struct melem me, *old;

	if (ms->klen != s->key_len || ms->dlen != s->data_len)
		return "add element: of another type";
	elem_of(s, e, &me);
	if (me.chain && !find_chain(m, me.chain))
		return "add element: verdict to a chain that does not exist";
	if ((old = find_elem(ms, &me)))
		return elem_same(old, &me) ? NULL : "add element: the key exists with other data";
	GROW(ms->e, ms->n, ms->cap);
	ms->e[ms->n++] = me;
	return NULL;
}

static const char *del_elem(struct mset *ms, const struct rs_set *s, const struct rs_elem *e)
{
	struct melem me, *old;

	if (ms->klen != s->key_len)
		return "delete element: of another type";
	elem_of(s, e, &me);
	if (!(old = find_elem(ms, &me)))
		return "delete element: no such element";
	*old = ms->e[--ms->n];
	return NULL;
}

static const char *add_chain(struct model *m, const struct rs_ruleset *rs, const struct rs_chain *c)
{
	char *decl = TEXT(rs_render_chain_decl(rs, c, out));
	struct mchain *old = find_chain(m, c->name);

	if (old) {
		bool same = !strcmp(old->decl, decl);

		free(decl);
		return same ? NULL : "add chain: exists with another declaration";
	}
	GROW(m->chains, m->nchains, m->chaincap);
	m->chains[m->nchains++] = (struct mchain){ .name = c->name, .decl = decl };
	return NULL;
}

static const char *add_rule(struct model *m, const struct rs_chain *c, const struct rs_rule *r)
{
	struct mchain *mc = find_chain(m, c->name);

	if (!mc)
		return "add rule: no such chain";
	if ((r->set && !find_set(m, r->set)) || (r->set2 && !find_set(m, r->set2)))
		return "add rule: no such set";
	if (r->target && !find_chain(m, r->target))
		return "add rule: no such target chain";
	GROW(mc->r, mc->n, mc->cap);
	mc->r[mc->n++] = (struct mrule){ .text = TEXT(rs_render_rule(r, out)),
					 .set = r->set, .set2 = r->set2, .target = r->target };
	return NULL;
}

static const char *apply_op(struct model *m, const struct tx *tx, const struct tx_op *op)
{
	struct mset *ms;
	struct mchain *mc;
	const char *err;

	if (op->kind == TX_ADD_TABLE) {
		m->table = true;
		return NULL;
	}
	if (!m->table)
		return "no such table";
	switch (op->kind) {
	case TX_ADD_TABLE:
		break;
	case TX_DEL_TABLE:
		model_clear(m);
		break;
	case TX_ADD_SET:
		return add_set(m, op->rs, op->set);
	case TX_DEL_SET:
		if (!(ms = find_set(m, op->set->name)))
			return "delete set: no such set";
		if (set_in_use(m, ms->name))
			return "delete set: in use by a rule";
		set_free(ms);
		*ms = m->sets[--m->nsets];
		break;
	case TX_ADD_CHAIN:
		return add_chain(m, op->rs, op->chain);
	case TX_DEL_CHAIN:
		if (!(mc = find_chain(m, op->chain->name)))
			return "delete chain: no such chain";
		if (chain_in_use(m, mc))
			return "delete chain: in use by a rule or a verdict";
		chain_free(mc);
		*mc = m->chains[--m->nchains];
		break;
	case TX_FLUSH_CHAIN:
		if (!(mc = find_chain(m, op->chain->name)))
			return "flush chain: no such chain";
		for (size_t i = 0; i < mc->n; i++)
			free(mc->r[i].text);
		mc->n = 0;
		break;
	case TX_ADD_RULE:
		return add_rule(m, op->chain, op->rule);
	case TX_ADD_ELEMS:
	case TX_DEL_ELEMS:
		if (!(ms = find_set(m, op->set->name)))
			return "element: no such set";
		for (size_t i = 0; i < op->nelems; i++) {
			const struct rs_elem *e = tx->elems[op->elem_first + i];

			err = op->kind == TX_ADD_ELEMS ? add_elem(m, ms, op->set, e) :
							 del_elem(ms, op->set, e);
			if (err)
				return err;
		}
		break;
	}
	return NULL;
}

/* The table rs describes, loaded whole. */
static void model_load(struct model *m, const struct rs_ruleset *rs)
{
	m->table = true;
	for (size_t i = 0; i < rs->nsets; i++) {
		const struct rs_set *s = &rs->sets[i];

		FUZZ_ASSERT(!add_set(m, rs, s));
	}
	for (size_t i = 0; i < rs->nchains; i++)
		FUZZ_ASSERT(!add_chain(m, rs, &rs->chains[i]));
	for (size_t i = 0; i < rs->nchains; i++)
		for (size_t k = 0; k < rs->chains[i].nrules; k++)
			FUZZ_ASSERT(!add_rule(m, &rs->chains[i], &rs->chains[i].rules[k]));
	for (size_t i = 0; i < rs->nsets; i++) {
		const struct rs_set *s = &rs->sets[i];

		for (size_t k = 0; k < s->nelems; k++)
			FUZZ_ASSERT(!add_elem(m, find_set(m, s->name), s, rs_elem_at(s, k)));
	}
}

/* Where the two tables differ, or NULL. */
static const char *model_cmp(struct model *got, struct model *want)
{
	static char why[512];

	if (got->table != want->table)
		return "table: there / not there";
	if (got->nsets != want->nsets || got->nchains != want->nchains) {
		snprintf(why, sizeof(why), "%zu sets, %zu chains; want %zu, %zu",
			 got->nsets, got->nchains, want->nsets, want->nchains);
		return why;
	}
	for (size_t i = 0; i < want->nsets; i++) {
		struct mset *w = &want->sets[i], *g = find_set(got, w->name);

		if (!g || strcmp(g->decl, w->decl) || g->n != w->n) {
			snprintf(why, sizeof(why), "set %s: %s", w->name, !g ? "missing" :
				 g->n != w->n ? "element count" : "declaration");
			return why;
		}
		for (size_t k = 0; k < w->n; k++) {
			struct melem *e = find_elem(g, &w->e[k]);

			if (!e || !elem_same(e, &w->e[k])) {
				snprintf(why, sizeof(why), "set %s: element %zu %s", w->name, k,
					 e ? "has other data" : "missing");
				return why;
			}
		}
	}
	for (size_t i = 0; i < want->nchains; i++) {
		struct mchain *w = &want->chains[i], *g = find_chain(got, w->name);

		if (!g || strcmp(g->decl, w->decl) || g->n != w->n) {
			snprintf(why, sizeof(why), "chain %s: %s", w->name, !g ? "missing" :
				 g->n != w->n ? "rule count" : "declaration");
			return why;
		}
		for (size_t k = 0; k < w->n; k++)
			if (strcmp(g->r[k].text, w->r[k].text)) {
				snprintf(why, sizeof(why), "chain %s: rule %zu is '%s', want '%s'",
					 w->name, k, g->r[k].text, w->r[k].text);
				return why;
			}
	}
	return NULL;
}

/* ---- the harness ------------------------------------------------------------ */

static struct svcc_ruleset *compile(const uint8_t *text, size_t len)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	struct svcc_ruleset *rs = NULL;

	FUZZ_ASSERT(ctx);
	if (svcc_parse_string(ctx, "fuzz.svc", (const char *)text, len, &cfg) == 0)
		(void)svcc_compile(ctx, cfg, NULL, &rs);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
	return rs;
}

/* old -> new_rs applied on old's table (none if old is NULL) gives new_rs's. */
static void check_diff(const struct rs_ruleset *old, const struct rs_ruleset *new_rs)
{
	struct model got = { 0 }, want = { 0 };
	struct tx *tx = tx_diff(old, new_rs);
	const char *err = NULL, *why;
	size_t i;

	FUZZ_ASSERT(tx);
	if (old)
		model_load(&got, old);
	model_load(&want, new_rs);
	for (i = 0; i < tx->nops && !err; i++)
		err = apply_op(&got, tx, &tx->ops[i]);
	why = err ? err : model_cmp(&got, &want);
	if (why) {
		fprintf(stderr, "diff applied in memory: %s%s\n--- the transaction:\n",
			why, err ? " (refused)" : "");
		tx_render(tx, stderr);
		if (err)
			fprintf(stderr, "--- refused at operation %zu:\n", i - 1);
		abort();
	}
	model_clear(&got);
	model_clear(&want);
	tx_free(tx);
}

static bool diff_empty(const struct rs_ruleset *a, const struct rs_ruleset *b)
{
	struct tx *tx = tx_diff(a, b);
	bool empty;

	FUZZ_ASSERT(tx);
	empty = tx_empty(tx);
	tx_free(tx);
	return empty;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *b;
	size_t alen, blen;
	struct svcc_ruleset *ra, *rb;

	fuzz_split(data, size, &alen, &b, &blen);
	ra = compile(data, alen);
	rb = compile(b, blen);
	if (ra && rb) {
		char *ta = TEXT(svcc_ruleset_write(ra, out)), *tb = TEXT(svcc_ruleset_write(rb, out));

		FUZZ_ASSERT(diff_empty(ra->rs, ra->rs));
		FUZZ_ASSERT(diff_empty(rb->rs, rb->rs));
		FUZZ_ASSERT(diff_empty(ra->rs, rb->rs) == !strcmp(ta, tb));
		check_diff(ra->rs, rb->rs);
		check_diff(rb->rs, ra->rs);
		free(ta);
		free(tb);
	}
	if (rb)
		check_diff(NULL, rb->rs);
	svcc_ruleset_free(ra);
	svcc_ruleset_free(rb);
	return 0;
}
