/* SPDX-License-Identifier: MIT */
/*
 * Stale client-ip affinity entries.  The affinity maps ("affinity-tcp",
 * dynamic, filled by the packet path, one per family and protocol, shared
 * by every affinity service) remember client . destination -> endpoint.
 * When an endpoint leaves a service, a client remembered on it would still
 * be DNATed there until its entry times out (hours, by default).  After an
 * apply, delete the entries whose endpoint their destination no longer
 * leads to.
 *
 *	struct aff_check *c;
 *	unsigned long n;
 *
 *	if (!aff_check_new(old, old_rules, new_rs, &c)) {
 *		aff_forget_stale(nl, c, &genid, &n, NULL, &next);
 *		aff_check_free(c);
 *	}
 */
#ifndef SVCC_AFFINITY_H
#define SVCC_AFFINITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ruleset.h"

struct nl;
struct aff_model;

/* One endpoint of one affinity map, as the map's element data holds it. */
struct aff_target {
	const char *map;
	uint8_t data[RS_DATA_MAX];	/* address . port, zero-padded */
};

struct aff_check {
	struct aff_model *m;		/* the new ruleset's affinity services */
	const struct rs_set **maps;	/* its affinity maps to look into */
	size_t nmaps;
	struct aff_target *suspects;	/* endpoints some service lost, sorted */
	size_t nsuspects;
	bool all_suspect;		/* which is unknown: any may be */
};

/*
 * What to look into after an apply from old to new_rs.  old NULL: nothing
 * (a new table has new maps).  old_rules: old is a ruleset with its rules
 * (compiled, or the runtime's copy of one): only chains gone or changed
 * can have lost an endpoint, so usually nothing is looked into and
 * nothing allocated; else the services of old and new_rs are compared, and
 * the maps of the endpoints some service lost are looked into.  Without
 * rules (old was read back from the kernel): every affinity map, if any
 * chain is gone or changed.  Returns 0 and a struct to free with
 * aff_check_free() (nmaps may be 0), or -1 with errno ENOMEM.
 */
int aff_check_new(const struct rs_ruleset *old, bool old_rules,
		  const struct rs_ruleset *new_rs, struct aff_check **out);

/*
 * Is e, an element of map (one of c->maps), stale: does its destination
 * (the key's daddr . dport, through the dispatch maps and gotos of the new
 * ruleset) lead to no affinity lookup in map whose endpoints include e's?
 * Endpoints no service lost are not checked: those entries stay.
 */
bool aff_is_stale(const struct aff_check *c, const struct rs_set *map,
		  const struct rs_elem *e);

/*
 * Dump c's maps and delete their stale elements in one batch, sent at
 * generation *genid (updated on success).  An entry that times out
 * between the dump and the delete fails the batch (ENOENT): dump and try
 * again, a few times.  Nothing stale: no batch.  *deleted counts the
 * entries deleted.  kmap: the set-fingerprints map the last batch wrote
 * (NULL: none known true): the batch moves its key 0 along, and
 * *kmap_next gets the map after it (NULL if no batch went).  Returns 0,
 * or -1 with errno (ERESTART: the ruleset changed since *genid).
 */
int aff_forget_stale(struct nl *nl, const struct aff_check *c, uint32_t *genid,
		     unsigned long *deleted, const struct rs_ruleset *kmap,
		     struct rs_ruleset **kmap_next);

void aff_check_free(struct aff_check *c);

#endif
