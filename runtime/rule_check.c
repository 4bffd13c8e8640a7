// SPDX-License-Identifier: MIT
/*
 * Chains read back with their rules (nothing vouched for the table): a
 * chain's comment says what svcc wrote, not what it holds now, so its
 * rules' hash is compared with the desired chain's rules, built into the
 * very messages the batch would send (nl_rule_hash).  Building a rule
 * costs microseconds, and every service port has a chain: with many, two
 * threads share them, each with its own scratch.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "nl.h"
#include "rule_check.h"
#include "tx.h"

#define SPLIT_MIN	4000	/* chains: fewer are checked on one thread */

/* The last rules hashed: chains share rules (a base chain's jumps). */
#define RECENT_RULES 8
struct recent_rules {
	const struct rs_rule *rule[RECENT_RULES];
	uint64_t hash[RECENT_RULES];
	unsigned next;
};

static int desired_rules_hash(const struct tx *tx, const struct rs_chain *c, void *buf,
			      struct recent_rules *rr, uint64_t *out)
{
	uint64_t h = nl_rules_begin();

	for (size_t i = 0; i < c->nrules; i++) {
		const struct rs_rule *r = &c->rules[i];
		uint64_t rh;
		unsigned k;

		for (k = 0; k < RECENT_RULES && rr->rule[k] && !rs_rule_eq(rr->rule[k], r); k++)
			;
		if (k < RECENT_RULES && rr->rule[k]) {
			rh = rr->hash[k];
		} else {
			if (nl_rule_hash(tx, r, buf, &rh))
				return -1;
			k = rr->next++ % RECENT_RULES;
			rr->rule[k] = r;
			rr->hash[k] = rh;
		}
		h = nl_rules_more(h, rh);
	}
	*out = h;
	return 0;
}

struct part {
	struct rs_ruleset *model;
	const struct rs_ruleset *want;
	const char *table;
	size_t first, last;		/* model's chains [first, last) */
	int ret, err;
};

static void *check_part(void *arg)
{
	struct part *p = arg;
	struct recent_rules rr = { 0 };
	struct tx *tx = NULL;
	void *buf = NULL;

	p->ret = -1;
	for (size_t i = p->first; i < p->last; i++) {
		struct rs_chain *c = &p->model->chains[i];
		const struct rs_chain *w;
		uint64_t h;

		if (!c->rules_hash || !c->fingerprint)
			continue;
		w = rs_chain_find(p->want, c->name);
		if (!w || w->fingerprint != c->fingerprint)
			continue;	/* rewritten anyway */
		if ((!tx && !(tx = tx_new(p->table))) || (!buf && !(buf = calloc(1, NL_MSG_MAX))) ||
		    desired_rules_hash(tx, w, buf, &rr, &h)) {
			p->err = errno ? errno : ENOMEM;
			goto out;
		}
		if (h != c->rules_hash)
			c->fingerprint = 0;
		c->rules_hash = 0;
	}
	p->ret = 0;
out:
	tx_free(tx);
	free(buf);
	return NULL;
}

int rule_check(struct rs_ruleset *model, const struct rs_ruleset *want, const char *table)
{
	size_t n = model->nchains, half = n >= SPLIT_MIN ? n / 2 : n;
	struct part part[2] = {
		{ .model = model, .want = want, .table = table, .first = 0, .last = half },
		{ .model = model, .want = want, .table = table, .first = half, .last = n },
	};
	pthread_t other;
	bool threaded;

	if (!want->nchains)
		return 0;
	/* each part writes its own chains' fingerprint and hash alone */
	threaded = half < n && !pthread_create(&other, NULL, check_part, &part[1]);
	check_part(&part[0]);
	if (threaded)
		pthread_join(other, NULL);
	else if (half < n)
		check_part(&part[1]);
	for (int i = 0; i < 2; i++)
		if (part[i].ret) {
			errno = part[i].err;
			return -1;
		}
	return 0;
}
