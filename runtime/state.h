/* SPDX-License-Identifier: MIT */
/*
 * The set-fingerprints map: what lets a one-shot `svcc apply` read back a
 * table of 100,000 elements without reading the elements it will not touch.
 *
 *   map set-fingerprints { type mark : mark . mark; }
 *
 * Every set svcc keeps elements in has an entry: a 32-bit key from the
 * set's name, and the set's fingerprint, the sum of its element hashes.
 * A sum does not depend on order, so the element operations of a batch
 * give the fingerprints after it without a look at the rest of the set.
 * Key 0 holds the generation id the last svcc batch committed as: when
 * the kernel's generation still equals it, nobody changed nftables since,
 * and the entries are the truth.  Otherwise the read-back reads every
 * element, as it would without the map.  The compiler knows nothing of
 * it: the runtime keeps it, in the same batch as what it describes.
 */
#ifndef SVCC_STATE_H
#define SVCC_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "tx.h"

#define ST_MAP_NAME	"set-fingerprints"

/* One element's hash: its key, prefix and data or verdict. */
uint64_t st_elem_hash(const struct rs_set *s, const struct rs_elem *e);
/* A set's fingerprint: the sum of its element hashes (0 when empty). */
uint64_t st_set_hash(const struct rs_set *s);
/* The map key of a set name: never 0, which is the generation's. */
uint32_t st_key(const char *name);

/*
 * Chains are vouched for by group: a chain's group is the top byte of its
 * name's hash, and the map holds, for each group, the sum of its chains'
 * hashes (name, fingerprint, hook).  A group whose sum the desired chains
 * give too needs no read-back; in another, each desired chain is asked for
 * by name, and the sum of the answers tells whether the kernel has more.
 */
#define ST_CHAIN_GROUPS	256
uint64_t st_chain_hash(const struct rs_chain *c, unsigned *group);
/* The group of the chain of this name. */
unsigned st_chain_group(const char *name);
/* The entry of chain group g in map: true and *sum, or false. */
bool st_map_group(const struct rs_ruleset *map, unsigned g, uint64_t *sum);

/* A new, empty set-fingerprints map of table, as svcc declares it. */
struct rs_ruleset *st_map_new(const char *table);
/* Is s (read back) a map svcc could have made? */
bool st_map_ok(const struct rs_set *s);
/*
 * The entry for set name in map (ruleset from st_map_new or read back):
 * true and *fp, or false.  *genid: the generation in key 0, or false.
 */
bool st_map_get(const struct rs_ruleset *map, const char *name, uint64_t *fp);
bool st_map_genid(const struct rs_ruleset *map, uint32_t *genid);
/*
 * Does map (read back at generation genid) vouch for the table: svcc's
 * map, and the generation its last batch committed as is genid (nobody
 * changed nftables since)?
 */
bool st_map_vouches(const struct rs_ruleset *map, uint32_t genid);

/*
 * Append to tx what keeps the map true after it, when tx is not empty: the
 * entries of the sets and chain groups it changes, and key 0, the
 * generation the batch commits as (genid + 1; the batch is sent at genid).
 * An empty tx with a map not known to be true (someone else committed
 * since) gets the map's entries put right, so that it vouches again: model
 * must then be what the kernel holds, read whole.
 * model: what the kernel holds before tx, every set with its fingerprint,
 * and its chains unless kmap_true; kmap: the map the kernel holds (NULL:
 * none), kmap_true if its entries are known to be right.  *next gets the
 * map after tx (NULL when tx deletes the table); tx points into it: free
 * it after tx.  0 or -1.
 */
int st_append(struct tx *tx, const struct rs_ruleset *model, const struct rs_ruleset *kmap,
	      bool kmap_true, uint32_t genid, struct rs_ruleset **next);
/*
 * For a batch of dynamic sets' elements alone (the affinity cleanup), sent
 * at genid right after the one that wrote kmap: move key 0 to the
 * generation tx commits as, so that kmap goes on vouching for the table.
 * *next gets the map after tx (NULL: kmap has no key 0, nothing appended);
 * tx points into it: free it after tx.  0 or -1.
 */
int st_append_genid(struct tx *tx, const struct rs_ruleset *kmap, uint32_t genid,
		    struct rs_ruleset **next);
/* Give every set of rs its fingerprint: from map if there, else computed. */
void st_stamp(struct rs_ruleset *rs, const struct rs_ruleset *map);

#endif
