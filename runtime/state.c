// SPDX-License-Identifier: MIT
/* The set-fingerprints map (state.h): hashes, and its part of every batch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clone.h"
#include "nameidx.h"
#include "state.h"
#include "util.h"

/* splitmix64's finaliser: every input bit moves every output bit */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * Fold key or data bytes into h, eight at a time (lengths are whole 4-byte
 * words): one multiply each, and mix64 once per element.  Elements are
 * hashed by the hundred thousand on every one-shot apply.
 */
static uint64_t fold_words(uint64_t h, const uint8_t *p, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	if (i < len) {
		uint32_t w;

		memcpy(&w, p + i, 4);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
	}
	return h;
}

uint64_t st_elem_hash(const struct rs_set *s, const struct rs_elem *e)
{
	uint64_t h = fold_words(0x2545f4914f6cdd1dull, e->key, s->key_len);

	if (s->interval)
		h = mix64(h ^ e->prefix);
	if (s->verdict)
		h ^= hash_words(e->chain ? e->chain : "", e->chain ? strlen(e->chain) : 0);
	else
		h = fold_words(h, rs_elem_data(s, e), s->data_len);
	return mix64(h);
}

uint64_t st_set_hash(const struct rs_set *s)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < s->nelems; i++)
		sum += st_elem_hash(s, rs_elem_at(s, i));
	return sum;
}

uint32_t st_key(const char *name)
{
	uint64_t h = hash64(name, strlen(name));
	uint32_t k = (uint32_t)(h ^ h >> 32);

	return k ? k : 1;
}

static uint64_t chain_name_hash(const char *name)
{
	return mix64(hash_words(name, strlen(name)));
}

unsigned st_chain_group(const char *name)
{
	return (unsigned)(chain_name_hash(name) >> 56);
}

uint64_t st_chain_hash(const struct rs_chain *c, unsigned *group)
{
	uint64_t h = chain_name_hash(c->name);
	uint64_t how = (uint64_t)c->hook << 40 | (uint64_t)c->nat << 32 | (uint32_t)c->priority;

	*group = (unsigned)(h >> 56);
	return mix64(h ^ mix64(c->fingerprint) ^ mix64(how + 1));
}

static uint32_t group_key(unsigned g)
{
	char name[24];

	snprintf(name, sizeof(name), "chains/%u", g);
	return st_key(name);
}

static bool has_entry(const struct rs_set *s)
{
	return !s->dynamic && strcmp(s->name, ST_MAP_NAME);
}

struct rs_ruleset *st_map_new(const char *table)
{
	struct rs_ruleset *rs = rs_new(table);
	struct rs_set *s;

	if (!rs || !(s = rs_add_set(rs, ST_MAP_NAME, RS_IPV4))) {
		rs_free(rs);
		return NULL;
	}
	s->key[0] = RS_F_MARK;
	s->nkey = 1;
	s->data[0] = s->data[1] = RS_F_MARK;
	s->ndata = 2;
	rs_set_layout(s);
	return rs;
}

bool st_map_ok(const struct rs_set *s)
{
	return s->nkey == 1 && s->key[0] == RS_F_MARK && s->ndata == 2 &&
	       s->data[0] == RS_F_MARK && s->data[1] == RS_F_MARK && !s->verdict &&
	       !s->interval && !s->dynamic && s->key_len == 4 && s->data_len == 8;
}

static const struct rs_elem *entry(const struct rs_ruleset *map, uint32_t key)
{
	const struct rs_set *s;
	size_t lo = 0, hi;

	if (!map || !map->nsets)
		return NULL;
	s = &map->sets[0];
	hi = s->nelems;
	while (lo < hi) {	/* sorted by key, as a number */
		size_t mid = lo + (hi - lo) / 2;
		uint32_t k;

		memcpy(&k, rs_elem_at(s, mid)->key, 4);
		if (k == key)
			return rs_elem_at(s, mid);
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* An entry's value: after its 4-byte key (the map's layout, as is_map checks). */
static const uint8_t *entry_data(const struct rs_elem *e)
{
	return e->key + 4;
}

static uint64_t entry_value(const struct rs_elem *e)
{
	uint32_t hi, lo;

	memcpy(&hi, entry_data(e), 4);
	memcpy(&lo, entry_data(e) + 4, 4);
	return (uint64_t)hi << 32 | lo;
}

bool st_map_get(const struct rs_ruleset *map, const char *name, uint64_t *fp)
{
	const struct rs_elem *e = entry(map, st_key(name));

	if (e)
		*fp = entry_value(e);
	return e != NULL;
}

bool st_map_group(const struct rs_ruleset *map, unsigned g, uint64_t *sum)
{
	const struct rs_elem *e = entry(map, group_key(g));

	if (e)
		*sum = entry_value(e);
	return e != NULL;
}

bool st_map_genid(const struct rs_ruleset *map, uint32_t *genid)
{
	const struct rs_elem *e = entry(map, 0);

	if (e)
		*genid = (uint32_t)(entry_value(e) >> 32);
	return e != NULL;
}

bool st_map_vouches(const struct rs_ruleset *map, uint32_t genid)
{
	uint32_t committed;

	return map && map->nsets && st_map_ok(&map->sets[0]) && st_map_genid(map, &committed) &&
	       committed == genid;
}

/* What tx leaves of each set: a fingerprint, or nothing. */
struct fp {
	const char *name;
	uint64_t sum;
	bool present, dynamic;
};

struct fps {
	struct fp *v;
	size_t n, cap;
	struct nameidx idx;
	uint64_t group[ST_CHAIN_GROUPS];	/* chain groups' sums */
};

static struct fp *fp_of(struct fps *f, const struct rs_set *s)
{
	size_t i = nameidx_get(&f->idx, s->name);

	if (i != (size_t)-1)
		return &f->v[i];
	if (f->n == f->cap)
		return NULL;	/* room was made for every set tx names */
	nameidx_put(&f->idx, s->name, f->n);
	f->v[f->n] = (struct fp){ .name = s->name, .dynamic = s->dynamic };
	return &f->v[f->n++];
}

/* The chain groups' sums before tx: from a map known to be right, or counted. */
static void groups_before(struct fps *f, const struct rs_ruleset *model,
			  const struct rs_ruleset *kmap, bool kmap_true)
{
	bool known[ST_CHAIN_GROUPS] = { false }, all = true;

	for (unsigned g = 0; g < ST_CHAIN_GROUPS; g++) {
		known[g] = kmap_true && st_map_group(kmap, g, &f->group[g]);
		all &= known[g];
	}
	for (size_t i = 0; !all && model && i < model->nchains; i++) {
		unsigned g;
		uint64_t h = st_chain_hash(&model->chains[i], &g);

		if (!known[g])
			f->group[g] += h;
	}
}

/* The fingerprints after tx, from those before it and its operations. */
static int fps_after(struct fps *f, const struct tx *tx, const struct rs_ruleset *model)
{
	size_t nmodel = model ? model->nsets : 0;

	f->cap = nmodel + tx->nops;
	if (!(f->v = calloc(f->cap + 1, sizeof(*f->v))) || nameidx_init(&f->idx, f->cap))
		return -1;
	for (size_t i = 0; i < nmodel; i++) {
		struct fp *p = fp_of(f, &model->sets[i]);

		p->sum = model->sets[i].fingerprint;
		p->present = true;
	}
	for (size_t i = 0; i < tx->nops; i++) {
		const struct tx_op *op = &tx->ops[i];
		struct fp *p;

		if (op->kind == TX_DEL_TABLE) {
			for (size_t j = 0; j < f->n; j++)
				f->v[j].present = false;
			continue;
		}
		if (op->kind == TX_ADD_CHAIN || op->kind == TX_DEL_CHAIN) {
			unsigned g;
			uint64_t h = st_chain_hash(op->chain, &g);

			f->group[g] += op->kind == TX_ADD_CHAIN ? h : -h;
			continue;
		}
		if (!op->set || !(p = fp_of(f, op->set)))
			continue;
		switch (op->kind) {
		case TX_ADD_SET:
			p->present = true;
			p->sum = 0;
			p->dynamic = op->set->dynamic;
			break;
		case TX_DEL_SET:
			p->present = false;
			break;
		case TX_ADD_ELEMS:
		case TX_DEL_ELEMS:
			for (size_t k = 0; k < op->nelems; k++) {
				uint64_t h = st_elem_hash(op->set, tx->elems[op->elem_first + k]);

				p->sum += op->kind == TX_ADD_ELEMS ? h : -h;
			}
			break;
		default:
			break;
		}
	}
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	uint32_t x, y;

	memcpy(&x, ((const struct rs_elem *)a)->key, 4);
	memcpy(&y, ((const struct rs_elem *)b)->key, 4);
	return (x > y) - (x < y);
}

static int put_entry(struct rs_set *s, uint32_t key, uint64_t value)
{
	struct rs_elem *e = rs_add_elem(s);
	uint32_t hi = (uint32_t)(value >> 32), lo = (uint32_t)value;

	if (!e)
		return -1;
	memcpy(e->key, &key, 4);
	memcpy(rs_elem_data(s, e), &hi, 4);
	memcpy(rs_elem_data(s, e) + 4, &lo, 4);
	return 0;
}

/* The map after tx: key 0 and one entry per set, but none for keys two share. */
static struct rs_ruleset *map_after(const struct fps *f, const char *table, uint32_t genid)
{
	struct rs_ruleset *map = st_map_new(table);
	struct rs_set *s;
	size_t w = 0;

	if (!map)
		return NULL;
	s = &map->sets[0];
	if (++genid == 0)	/* the kernel skips 0 */
		genid = 1;
	if (put_entry(s, 0, (uint64_t)genid << 32))
		goto fail;
	for (unsigned g = 0; g < ST_CHAIN_GROUPS; g++)
		if (put_entry(s, group_key(g), f->group[g]))
			goto fail;
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].present && !f->v[i].dynamic && strcmp(f->v[i].name, ST_MAP_NAME) &&
		    put_entry(s, st_key(f->v[i].name), f->v[i].sum))
			goto fail;
	if (s->nelems > 1)
		qsort(s->elems, s->nelems, s->stride, key_cmp);
	for (size_t i = 0; i < s->nelems; i++) {
		bool dup = (i > 0 && !key_cmp(rs_elem_at(s, i - 1), rs_elem_at(s, i))) ||
			   (i + 1 < s->nelems && !key_cmp(rs_elem_at(s, i), rs_elem_at(s, i + 1)));

		if (!dup && w++ != i)
			rs_elem_copy(s, rs_elem_at(s, w - 1), rs_elem_at(s, i));
	}
	s->nelems = w;
	return map;
fail:
	rs_free(map);
	return NULL;
}

static bool entry_eq(const struct rs_elem *a, const struct rs_elem *b)
{
	return !memcmp(a->key, b->key, 4) && !memcmp(entry_data(a), entry_data(b), 8);
}

/* Elements of one map not in the other (by key and value), as one op. */
static int elems_not_in(struct tx *tx, enum tx_kind kind, const struct rs_ruleset *from,
			const struct rs_ruleset *other)
{
	const struct rs_set *s = &from->sets[0];

	if (!tx_begin_elems(tx, kind, from, s))
		return -1;
	for (size_t i = 0; i < s->nelems; i++) {
		const struct rs_elem *e = rs_elem_at(s, i), *o;
		uint32_t key;

		memcpy(&key, e->key, 4);
		o = other ? entry(other, key) : NULL;
		if ((!o || !entry_eq(o, e)) && tx_push_elem(tx, e))
			return -1;
	}
	tx_end_elems(tx);
	return 0;
}

static uint32_t next_set_id(const struct tx *tx)
{
	uint32_t id = 0;

	for (size_t i = 0; i < tx->nops; i++)
		if (tx->ops[i].set_id > id)
			id = tx->ops[i].set_id;
	return id + 1;
}

int st_append(struct tx *tx, const struct rs_ruleset *model, const struct rs_ruleset *kmap,
	      bool kmap_true, uint32_t genid, struct rs_ruleset **next)
{
	struct fps f = { 0 };
	struct tx_op *op;
	bool fresh = !kmap || !kmap->nsets || !st_map_ok(&kmap->sets[0]);
	int ret = -1;

	*next = NULL;
	if (tx_empty(tx) && kmap_true)
		return 0;
	for (size_t i = 0; i < tx->nops; i++)
		if (tx->ops[i].kind == TX_DEL_TABLE)
			return 0;	/* the map goes with the table */
	groups_before(&f, model, kmap, kmap_true && !fresh);
	if (fps_after(&f, tx, model) || !(*next = map_after(&f, tx->table, genid)))
		goto out;
	if (fresh && kmap && kmap->nsets) {
		/* not svcc's kind of map: replace it */
		if (!(op = tx_push_op(tx, TX_DEL_SET, kmap)))
			goto out;
		op->set = &kmap->sets[0];
		kmap = NULL;
	}
	if (fresh) {
		if (!(op = tx_push_op(tx, TX_ADD_SET, *next)))
			goto out;
		op->set = &(*next)->sets[0];
		op->set_id = next_set_id(tx);
		kmap = NULL;
	}
	if ((kmap && elems_not_in(tx, TX_DEL_ELEMS, kmap, *next)) ||
	    elems_not_in(tx, TX_ADD_ELEMS, *next, kmap))
		goto out;
	ret = 0;
out:
	if (ret) {
		rs_free(*next);
		*next = NULL;
		errno = ENOMEM;
	}
	nameidx_fini(&f.idx);
	free(f.v);
	return ret;
}

int st_append_genid(struct tx *tx, const struct rs_ruleset *kmap, uint32_t genid,
		    struct rs_ruleset **next)
{
	const struct rs_elem *old = entry(kmap, 0);
	struct rs_set *s;
	uint32_t lo = 0;

	*next = NULL;
	if (++genid == 0)	/* the kernel skips 0 */
		genid = 1;
	if (!old || !st_map_ok(&kmap->sets[0]))
		return 0;
	if (!(*next = rs_clone(kmap)))
		goto fail;
	s = &(*next)->sets[0];
	/* entry 0 sorts first */
	memcpy(rs_elem_data(s, rs_elem_at(s, 0)), &genid, 4);
	memcpy(rs_elem_data(s, rs_elem_at(s, 0)) + 4, &lo, 4);
	if (elems_not_in(tx, TX_DEL_ELEMS, kmap, *next) ||
	    elems_not_in(tx, TX_ADD_ELEMS, *next, kmap))
		goto fail;
	return 0;
fail:
	rs_free(*next);
	*next = NULL;
	errno = ENOMEM;
	return -1;
}

void st_stamp(struct rs_ruleset *rs, const struct rs_ruleset *map)
{
	for (size_t i = 0; i < rs->nsets; i++) {
		struct rs_set *s = &rs->sets[i];

		if (!has_entry(s))
			continue;
		if (!st_map_get(map, s->name, &s->fingerprint))
			s->fingerprint = st_set_hash(s);
	}
}
