// SPDX-License-Identifier: MIT
/*
 * tx_diff: the smallest sensible transaction from one ruleset to another.
 *
 * Everything is linear in the size of the two rulesets: sets are matched by
 * name through hash indexes, chains mostly by place (both rulesets keep them
 * in one order, and the runtime lends the desired chains, names and all),
 * elements by a merge walk of the two sorted arrays.
 *
 * A chain whose content changed is deleted and created again rather than
 * flushed and refilled: the kernel cannot update a chain's user data, and
 * the comment carries the fingerprint the next diff compares against.  What
 * refers to such a chain (verdict map elements, jumps from other chains) is
 * removed before and put back after, in the same atomic batch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nameidx.h"
#include "tx.h"
#include "util.h"

enum st {
	ST_SAME,	/* present in both, equal */
	ST_NEW,		/* only in the new ruleset */
	ST_RECREATE,	/* changed: delete the old one, create the new one */
	ST_REBIND,	/* chain equal, but its rules refer to something
			 * recreated: flush it and add its rules again */
	ST_GONE,	/* only in the old ruleset */
};

#define NONE ((size_t)-1)

/* More dying chains than this: find them through an index of the new ones. */
#define DYING_MAX 32

struct diff {
	const struct rs_ruleset *old, *new;
	struct tx *tx;
	struct nameidx oset, nset;
	struct nameidx ochain, nchain;	/* made only when needed */
	bool ochain_made, nchain_made;
	unsigned char *nset_st, *nchain_st, *oset_st, *ochain_st;
	size_t *nset_old, *nchain_old;	/* new index -> old index or NONE */
	/* the names of the old chains deleted (gone or re-created), while few */
	const char *dying[DYING_MAX];
	size_t ndying;
	bool sets_recreated;	/* any: else rules' sets need no look */
};

struct tx_op *tx_push_op(struct tx *tx, enum tx_kind kind, const struct rs_ruleset *rs)
{
	struct tx_op *op;

	if (VEC_RESERVE(tx->ops, tx->nops, tx->ops_cap))
		return NULL;
	op = &tx->ops[tx->nops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->rs = rs;
	return op;
}

int tx_push_elem(struct tx *tx, const struct rs_elem *e)
{
	if (VEC_RESERVE(tx->elems, tx->nelems, tx->elems_cap))
		return -1;
	tx->elems[tx->nelems++] = e;
	return 0;
}

/* Start an element op; it is dropped again by tx_end_elems if it got none. */
struct tx_op *tx_begin_elems(struct tx *tx, enum tx_kind kind,
				 const struct rs_ruleset *rs, const struct rs_set *set)
{
	struct tx_op *op = tx_push_op(tx, kind, rs);

	if (op) {
		op->set = set;
		op->elem_first = tx->nelems;
	}
	return op;
}

void tx_end_elems(struct tx *tx)
{
	struct tx_op *op = &tx->ops[tx->nops - 1];

	op->nelems = tx->nelems - op->elem_first;
	if (!op->nelems)
		tx->nops--;
}

/*
 * l4proto is not compared: read-back does not decode it, and svcc names
 * endpoint and affinity maps by their protocol.  A dynamic set's timeout
 * and size are part of its type: the kernel cannot change them, so a
 * change re-creates the set (and forgets what it remembered).
 */
static bool set_same_type(const struct rs_set *a, const struct rs_set *b)
{
	return a->nkey == b->nkey && a->ndata == b->ndata &&
	       !memcmp(a->key, b->key, a->nkey * sizeof(a->key[0])) &&
	       !memcmp(a->data, b->data, a->ndata * sizeof(a->data[0])) &&
	       a->verdict == b->verdict && a->interval == b->interval &&
	       a->key_len == b->key_len && a->data_len == b->data_len &&
	       a->dynamic == b->dynamic && a->timeout == b->timeout && a->size == b->size;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/*
 * Chains are equal when their fingerprints are.  A chain read back without
 * one (a base chain carries no comment) has fingerprint 0 and its rules read
 * back instead: compare those.
 */
static bool chain_same(const struct rs_chain *o, const struct rs_chain *n)
{
	size_t i;

	if (o->hook != n->hook)
		return false;
	if (o->hook != RS_HOOK_NONE && (o->nat != n->nat || o->priority != n->priority))
		return false;
	if (o->fingerprint && n->fingerprint)
		return o->fingerprint == n->fingerprint;
	if (o->hook == RS_HOOK_NONE || o->nrules != n->nrules)
		return false;
	for (i = 0; i < o->nrules; i++)
		if (!rs_rule_eq(&o->rules[i], &n->rules[i]))
			return false;
	return true;
}

static size_t nset_of(const struct diff *d, const char *name)
{
	return name ? nameidx_get(&d->nset, name) : NONE;
}

static bool dies(unsigned char st)
{
	return st == ST_GONE || st == ST_RECREATE;
}

/*
 * Is the chain of this name deleted (gone, or re-created)?  A verdict and a
 * jump name a chain of their own ruleset, and a new chain is re-created
 * exactly when the old one of its name is: so the old chains deleted are
 * all there is to look at.  They are few, but for a big change.
 */
static bool chain_dies(const struct diff *d, const char *name)
{
	size_t i;

	if (!name)
		return false;
	if (d->nchain_made) {
		i = nameidx_get(&d->nchain, name);
		return i == NONE || d->nchain_st[i] == ST_RECREATE;
	}
	for (i = 0; i < d->ndying; i++)
		if (d->dying[i] == name || !strcmp(d->dying[i], name))
			return true;
	return false;
}

/* Does the old element's verdict point at a chain being deleted? */
static bool target_dies(const struct diff *d, const struct rs_elem *e)
{
	return chain_dies(d, e->chain);
}

static bool elem_data_eq(const struct rs_set *s, const struct rs_elem *a, const struct rs_elem *b)
{
	if (s->verdict)
		return str_eq(a->chain, b->chain);
	return !memcmp(rs_elem_data(s, a), rs_elem_data(s, b), s->data_len);
}

/*
 * The same elements on both sides (the runtime lends a set it did not read
 * the desired set's elements): nothing to compare.  A verdict map still
 * re-adds the elements that point at a re-created chain.
 */
static bool same_elems(const struct rs_set *os, const struct rs_set *ns)
{
	return os->elems == ns->elems && os->nelems == ns->nelems;
}

/* Of a verdict map lent its elements: those pointing at a re-created chain. */
static int lent_rebound(struct diff *d, const struct rs_set *s, bool count)
{
	for (size_t i = 0; i < s->nelems; i++) {
		const struct rs_elem *e = rs_elem_at(s, i);

		if (!target_dies(d, e))
			continue;
		if (tx_push_elem(d->tx, e))
			return -1;
		d->tx->changed += count;
	}
	return 0;
}

static int index_all(struct diff *d)
{
	const struct rs_ruleset *o = d->old, *n = d->new;
	size_t i, nos = o ? o->nsets : 0, noc = o ? o->nchains : 0;

	if (nameidx_init(&d->oset, nos) || nameidx_init(&d->nset, n->nsets))
		return -1;
	d->nset_st = calloc(n->nsets + 1, 1);
	d->nchain_st = calloc(n->nchains + 1, 1);
	d->oset_st = calloc(nos + 1, 1);
	d->ochain_st = calloc(noc + 1, 1);
	d->nset_old = malloc((n->nsets + 1) * sizeof(size_t));
	d->nchain_old = malloc((n->nchains + 1) * sizeof(size_t));
	if (!d->nset_st || !d->nchain_st || !d->oset_st || !d->ochain_st ||
	    !d->nset_old || !d->nchain_old)
		return -1;
	for (i = 0; i < nos; i++)
		nameidx_put(&d->oset, o->sets[i].name, i);
	for (i = 0; i < n->nsets; i++)
		nameidx_put(&d->nset, n->sets[i].name, i);
	return 0;
}

static int index_chains(struct nameidx *ni, bool *made, const struct rs_ruleset *rs)
{
	if (nameidx_init(ni, rs->nchains))
		return -1;
	*made = true;
	for (size_t i = 0; i < rs->nchains; i++)
		nameidx_put(ni, rs->chains[i].name, i);
	return 0;
}

/* The old chain of new chain i's name: mostly in the same place. */
static int old_chain_of(struct diff *d, size_t i, size_t *j)
{
	const struct rs_ruleset *o = d->old;
	const char *name = d->new->chains[i].name;

	*j = NONE;
	if (!o)
		return 0;
	if (i < o->nchains && (o->chains[i].name == name || !strcmp(o->chains[i].name, name))) {
		*j = i;
		return 0;
	}
	if (!d->ochain_made && index_chains(&d->ochain, &d->ochain_made, o))
		return -1;
	*j = nameidx_get(&d->ochain, name);
	return 0;
}

/* Note the old chains deleted; when there are many, index the new ones. */
static int note_dying(struct diff *d)
{
	const struct rs_ruleset *o = d->old;

	for (size_t i = 0; o && i < o->nchains; i++) {
		if (!dies(d->ochain_st[i]))
			continue;
		if (d->ndying == DYING_MAX)
			return index_chains(&d->nchain, &d->nchain_made, d->new);
		d->dying[d->ndying++] = o->chains[i].name;
	}
	return 0;
}

static bool set_recreated(const struct diff *d, const char *name)
{
	size_t i = nset_of(d, name);

	return i != NONE && d->nset_st[i] == ST_RECREATE;
}

/*
 * Does the rule name a set or chain that is deleted and created again?  (A
 * chain a new rule jumps to is not gone: it is in the new ruleset.)
 */
static bool refers_to_recreated(const struct diff *d, const struct rs_rule *r)
{
	return (d->sets_recreated && (set_recreated(d, r->set) || set_recreated(d, r->set2))) ||
	       chain_dies(d, r->target);
}

/* Decide what happens to every set and chain, before emitting anything. */
static int classify(struct diff *d)
{
	const struct rs_ruleset *o = d->old, *n = d->new;
	size_t i, j, k, recreated = 0;

	for (i = 0; o && i < o->nsets; i++)
		d->oset_st[i] = ST_GONE;
	for (i = 0; o && i < o->nchains; i++)
		d->ochain_st[i] = ST_GONE;

	for (i = 0; i < n->nsets; i++) {
		j = o ? nameidx_get(&d->oset, n->sets[i].name) : NONE;
		d->nset_old[i] = j;
		if (j == NONE)
			d->nset_st[i] = ST_NEW;
		else
			d->nset_st[i] = d->oset_st[j] =
				set_same_type(&o->sets[j], &n->sets[i]) ? ST_SAME : ST_RECREATE;
	}
	for (i = 0; i < n->nchains; i++) {
		if (old_chain_of(d, i, &j))
			return -1;
		d->nchain_old[i] = j;
		if (j == NONE)
			d->nchain_st[i] = ST_NEW;
		else
			d->nchain_st[i] = d->ochain_st[j] =
				chain_same(&o->chains[j], &n->chains[i]) ? ST_SAME : ST_RECREATE;
	}
	if (note_dying(d))
		return -1;
	/* An equal chain has the same rules in the old ruleset as in the new. */
	for (i = 0; i < n->nsets; i++)
		recreated += d->nset_st[i] == ST_RECREATE;
	d->sets_recreated = recreated > 0;
	for (i = 0; i < n->nchains; i++)
		recreated += d->nchain_st[i] == ST_RECREATE;
	for (i = 0; recreated && i < n->nchains; i++) {
		const struct rs_chain *c = &n->chains[i];

		if (d->nchain_st[i] != ST_SAME)
			continue;
		for (k = 0; k < c->nrules; k++)
			if (refers_to_recreated(d, &c->rules[k]))
				break;
		if (k < c->nrules)
			d->nchain_st[i] = d->ochain_st[d->nchain_old[i]] = ST_REBIND;
	}
	return 0;
}

/* Jumps and gotos hold their target chain: it cannot go before they do. */
static bool has_jump(const struct rs_chain *c)
{
	size_t i;

	for (i = 0; i < c->nrules; i++)
		if (c->rules[i].target)
			return true;
	return false;
}

static bool old_set_dies(const struct diff *d, const char *name)
{
	size_t i = name ? nameidx_get(&d->oset, name) : NONE;

	return i != NONE && dies(d->oset_st[i]);
}

/*
 * Does a rule of old chain c look into a set deleted in this batch?  The
 * kernel refuses to delete a set a rule still uses (EBUSY), and sets go
 * before chains (a verdict map holds the chains it points at).
 */
static bool uses_dying_set(const struct diff *d, const struct rs_chain *c)
{
	for (size_t i = 0; i < c->nrules; i++)
		if (old_set_dies(d, c->rules[i].set) || old_set_dies(d, c->rules[i].set2))
			return true;
	return false;
}

/* Old ruleset: deletions, references before what they refer to. */
static int emit_deletions(struct diff *d)
{
	const struct rs_ruleset *o = d->old, *n = d->new;
	struct tx *tx = d->tx;
	struct tx_op *op;
	size_t i;

	if (!o)
		return 0;
	/* Base chains: nothing refers to them; deleting drops their jumps. */
	for (i = 0; i < o->nchains; i++) {
		const struct rs_chain *c = &o->chains[i];

		if (c->hook == RS_HOOK_NONE || !dies(d->ochain_st[i]))
			continue;
		if (!(op = tx_push_op(tx, TX_DEL_CHAIN, o)))
			return -1;
		op->chain = c;
		tx->deleted += d->ochain_st[i] == ST_GONE;
	}
	/*
	 * Flush what must let go of a set or chain about to be deleted: chains
	 * rebound, and dying chains whose rules may jump or use a dying set
	 * (or are unknown, as after a read-back: rules are not read back).
	 */
	for (i = 0; i < o->nchains; i++) {
		const struct rs_chain *c = &o->chains[i];
		unsigned char st = d->ochain_st[i];

		if (c->hook != RS_HOOK_NONE && st != ST_REBIND)
			continue;
		if (st == ST_REBIND ||
		    (dies(st) && (!c->nrules || has_jump(c) || uses_dying_set(d, c)))) {
			if (!(op = tx_push_op(tx, TX_FLUSH_CHAIN, o)))
				return -1;
			op->chain = c;
		}
	}
	/*
	 * Elements of surviving sets: gone, changed, or pointing at a dying
	 * chain.  Not those of a dynamic set: the packet path owns them.
	 */
	for (i = 0; i < n->nsets; i++) {
		const struct rs_set *ns = &n->sets[i], *os;
		size_t a = 0, b = 0;

		if (d->nset_st[i] != ST_SAME || ns->dynamic)
			continue;
		os = &o->sets[d->nset_old[i]];
		if (same_elems(os, ns) && !os->verdict)
			continue;
		if (!tx_begin_elems(tx, TX_DEL_ELEMS, o, os))
			return -1;
		if (same_elems(os, ns)) {
			if (lent_rebound(d, os, false))
				return -1;
			tx_end_elems(tx);
			continue;
		}
		while (a < os->nelems) {
			const struct rs_elem *oe = rs_elem_at(os, a);
			const struct rs_elem *ne = b < ns->nelems ? rs_elem_at(ns, b) : NULL;
			int c = ne ? rs_elem_cmp(os, oe, ne) : -1;

			if (c > 0) {
				b++;
				continue;
			}
			if (c < 0 || !elem_data_eq(os, oe, ne) || target_dies(d, oe)) {
				if (tx_push_elem(tx, oe))
					return -1;
				tx->deleted += c < 0;
			}
			a++;
			b += c == 0;
		}
		tx_end_elems(tx);
	}
	/* Sets: deleting a verdict map also releases the chains it points at. */
	for (i = 0; i < o->nsets; i++) {
		if (!dies(d->oset_st[i]))
			continue;
		if (!(op = tx_push_op(tx, TX_DEL_SET, o)))
			return -1;
		op->set = &o->sets[i];
		tx->deleted += d->oset_st[i] == ST_GONE;
	}
	/* Regular chains, now unreferenced; deleting one deletes its rules. */
	for (i = 0; i < o->nchains; i++) {
		const struct rs_chain *c = &o->chains[i];

		if (c->hook != RS_HOOK_NONE || !dies(d->ochain_st[i]))
			continue;
		if (!(op = tx_push_op(tx, TX_DEL_CHAIN, o)))
			return -1;
		op->chain = c;
		tx->deleted += d->ochain_st[i] == ST_GONE;
	}
	return 0;
}

static int emit_rules(struct tx *tx, const struct rs_ruleset *n, const struct rs_chain *c)
{
	struct tx_op *op;
	size_t k;

	for (k = 0; k < c->nrules; k++) {
		if (!(op = tx_push_op(tx, TX_ADD_RULE, n)))
			return -1;
		op->chain = c;
		op->rule = &c->rules[k];
	}
	return 0;
}

static bool key_is_zero(const struct rs_set *s, const struct rs_elem *e)
{
	size_t i;

	for (i = 0; i < s->key_len; i++)
		if (e->key[i])
			return false;
	return true;
}

static bool rules_to_add(const void *diff, size_t i)
{
	return ((const struct diff *)diff)->nchain_st[i] != ST_SAME;
}

/* The regular chains' rules, in rs_rule_order. */
static int emit_regular_rules(struct diff *d)
{
	const struct rs_ruleset *n = d->new;
	size_t m, *order = rs_rule_order(n, rules_to_add, d, &m);

	if (!order)
		return -1;
	for (size_t j = 0; j < m; j++) {
		const struct rs_chain *c = &n->chains[order[j]];
		unsigned char st = d->nchain_st[order[j]];

		if (emit_rules(d->tx, n, c)) {
			free(order);
			return -1;
		}
		if (st == ST_NEW)
			d->tx->added += c->nrules;
		else if (st == ST_REBIND)
			d->tx->changed++;
	}
	free(order);
	return 0;
}

/* New ruleset: additions, what is referred to before what refers to it. */
static int emit_additions(struct diff *d)
{
	const struct rs_ruleset *o = d->old, *n = d->new;
	struct tx *tx = d->tx;
	struct tx_op *op;
	uint32_t next_id = 1;
	size_t i;

	for (size_t k = 0; k < n->nsets; k++) {
		i = (size_t)(rs_set_to_create(n, k) - n->sets);	/* most used first */
		if (d->nset_st[i] == ST_SAME)
			continue;
		if (!(op = tx_push_op(tx, TX_ADD_SET, n)))
			return -1;
		op->set = &n->sets[i];
		op->set_id = tx->set_ids[i] = next_id++;
		if (d->nset_st[i] == ST_NEW)
			tx->added++;
		else
			tx->changed++;
	}
	for (i = 0; i < n->nchains; i++) {
		const struct rs_chain *c = &n->chains[i];

		if (c->hook != RS_HOOK_NONE || (d->nchain_st[i] != ST_NEW &&
						d->nchain_st[i] != ST_RECREATE))
			continue;
		if (!(op = tx_push_op(tx, TX_ADD_CHAIN, n)))
			return -1;
		op->chain = c;
		if (d->nchain_st[i] == ST_NEW)
			tx->added++;
		else
			tx->changed++;
	}
	if (emit_regular_rules(d))
		return -1;
	for (i = 0; i < n->nsets; i++) {
		const struct rs_set *ns = &n->sets[i], *os = NULL;
		size_t a = 0, b = 0;

		if (!ns->nelems || ns->dynamic)
			continue;
		if (d->nset_st[i] == ST_SAME)
			os = &o->sets[d->nset_old[i]];
		if (os && same_elems(os, ns) && !ns->verdict)
			continue;
		if (!(op = tx_begin_elems(tx, TX_ADD_ELEMS, n, ns)))
			return -1;
		if (os && same_elems(os, ns)) {
			if (lent_rebound(d, ns, true))
				return -1;
			tx_end_elems(tx);
			continue;
		}
		/* not for concatenated ranges: nft sends them no end element */
		op->zero_end = ns->interval && ns->nkey == 1 && (!os || !os->nelems) &&
			       !key_is_zero(ns, rs_elem_at(ns, 0));
		while (b < ns->nelems) {
			const struct rs_elem *ne = rs_elem_at(ns, b);
			const struct rs_elem *oe = os && a < os->nelems ? rs_elem_at(os, a) : NULL;
			int c = oe ? rs_elem_cmp(ns, oe, ne) : 1;

			if (c < 0) {
				a++;
				continue;
			}
			if (c > 0 || !elem_data_eq(ns, oe, ne) || target_dies(d, oe)) {
				if (tx_push_elem(tx, ne))
					return -1;
				if (c > 0)
					tx->added++;
				else
					tx->changed++;
			}
			b++;
			a += c == 0;
		}
		tx_end_elems(tx);
	}
	/* Base chains last: the kernel validates the finished graph once. */
	for (i = 0; i < n->nchains; i++) {
		const struct rs_chain *c = &n->chains[i];
		unsigned char st = d->nchain_st[i];

		if (c->hook == RS_HOOK_NONE || st == ST_SAME)
			continue;
		if (st != ST_REBIND) {
			if (!(op = tx_push_op(tx, TX_ADD_CHAIN, n)))
				return -1;
			op->chain = c;
		}
		if (emit_rules(tx, n, c))
			return -1;
		if (st == ST_NEW)
			tx->added += 1 + c->nrules;
		else
			tx->changed++;
	}
	return 0;
}

static void diff_fini(struct diff *d)
{
	nameidx_fini(&d->oset);
	nameidx_fini(&d->nset);
	nameidx_fini(&d->ochain);
	nameidx_fini(&d->nchain);
	free(d->nset_st);
	free(d->nchain_st);
	free(d->oset_st);
	free(d->ochain_st);
	free(d->nset_old);
	free(d->nchain_old);
}

static struct tx *tx_alloc(const char *table)
{
	struct tx *tx = calloc(1, sizeof(*tx));

	if (!tx)
		return NULL;
	tx->table = strdup(table);
	if (!tx->table) {
		free(tx);
		return NULL;
	}
	return tx;
}

struct tx *tx_diff(const struct rs_ruleset *old, const struct rs_ruleset *new_rs)
{
	struct diff d = { .old = old, .new = new_rs };
	struct tx *tx = tx_alloc(new_rs->table);
	int err = -1;

	if (!tx)
		return NULL;
	d.tx = tx;
	tx->new_rs = new_rs;
	tx->set_ids = calloc(new_rs->nsets + 1, sizeof(*tx->set_ids));
	if (!tx->set_ids || index_all(&d) || classify(&d))
		goto out;
	/* the table anew, or its flags put back (`nft add table ... { flags dormant; }`) */
	if ((!old || old->table_flags) && !tx_push_op(tx, TX_ADD_TABLE, new_rs))
		goto out;
	tx->changed += old && old->table_flags;
	if (emit_deletions(&d) || emit_additions(&d))
		goto out;
	err = 0;
out:
	diff_fini(&d);
	if (err) {
		tx_free(tx);
		errno = ENOMEM;
		return NULL;
	}
	return tx;
}

struct tx *tx_new(const char *table)
{
	return tx_alloc(table);
}

int tx_add_del_elems(struct tx *tx, const struct rs_ruleset *rs, const struct rs_set *set,
		     const void *elems, size_t n)
{
	if (!n)
		return 0;
	if (!tx_begin_elems(tx, TX_DEL_ELEMS, rs, set))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (tx_push_elem(tx, (const struct rs_elem *)((const char *)elems + i * set->stride))) {
			tx_end_elems(tx);
			return -1;
		}
	}
	tx_end_elems(tx);
	tx->deleted += n;
	return 0;
}

struct tx *tx_delete_table(const char *table)
{
	struct tx *tx = tx_alloc(table);

	if (tx && !tx_push_op(tx, TX_DEL_TABLE, NULL)) {
		tx_free(tx);
		return NULL;
	}
	if (tx)
		tx->deleted = 1;
	return tx;
}

uint32_t tx_set_id(const struct tx *tx, const char *name)
{
	const struct rs_set *s;

	if (!tx->new_rs || !tx->set_ids || !name || !tx->new_rs->nsets)
		return 0;
	s = rs_set_find(tx->new_rs, name);
	return s ? tx->set_ids[s - tx->new_rs->sets] : 0;
}

void tx_free(struct tx *tx)
{
	if (!tx)
		return;
	free(tx->table);
	free(tx->ops);
	free(tx->elems);
	free(tx->set_ids);
	free(tx);
}
