/* SPDX-License-Identifier: MIT */
/*
 * A transaction: the ordered operations that turn one ruleset into another.
 *
 * Operations point into the rulesets they were computed from (no copies):
 * deletions into the old one, additions into the new one.  Both must outlive
 * the transaction.  The order is the order of the batch sent to the kernel:
 *
 *   deletions:  base chains, flushes, elements, sets, chains
 *   additions:  sets (empty), chains, rules, elements, base chains
 *
 * which is what the kernel needs (references go before what they point at)
 * and what keeps its cost linear (../shared/KERNEL-SCALING.md).
 */
#ifndef SVCC_TX_H
#define SVCC_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ruleset.h"

enum tx_kind {
	TX_ADD_TABLE,
	TX_DEL_TABLE,
	TX_ADD_SET,
	TX_DEL_SET,
	TX_ADD_CHAIN,		/* regular or base chain */
	TX_DEL_CHAIN,
	TX_FLUSH_CHAIN,
	TX_ADD_RULE,
	TX_ADD_ELEMS,
	TX_DEL_ELEMS,
};

struct tx_op {
	enum tx_kind kind;
	const struct rs_ruleset *rs;	/* the ruleset set/chain/rule belong to */
	const struct rs_set *set;	/* sets, elements */
	const struct rs_chain *chain;	/* chains, rules */
	const struct rs_rule *rule;	/* TX_ADD_RULE */
	size_t elem_first, nelems;	/* elements: tx->elems[elem_first...] */
	uint32_t set_id;		/* TX_ADD_SET: batch-local id, from 1 */
	bool zero_end;			/* interval set was empty: add the end
					 * element at 0 nft puts before the first
					 * interval */
};

struct tx {
	char *table;
	struct tx_op *ops;
	size_t nops, ops_cap;
	const struct rs_elem **elems;	/* element pointers of element ops */
	size_t nelems, elems_cap;
	/* New-ruleset set index -> id if the set is created in this batch. */
	const struct rs_ruleset *new_rs;
	uint32_t *set_ids;
	unsigned long added, changed, deleted;
	uint32_t table_flags;		/* what TX_ADD_TABLE sets (SVCC_RT_OWNER's) */
	/*
	 * TX_ADD_TABLE creates the table or fails (NLM_F_EXCL): the batch
	 * stands on nothing read back, so it needs no generation check, and
	 * other programs' commits to other tables cannot refuse it.
	 */
	bool table_new;
};

/*
 * Compute the transaction from old (NULL: the table does not exist) to
 * new_rs.  The diff of two identical rulesets has no operation.  Returns
 * NULL with errno set on failure.
 */
struct tx *tx_diff(const struct rs_ruleset *old, const struct rs_ruleset *new_rs);
/* A transaction that removes the whole table. */
struct tx *tx_delete_table(const char *table);
/* An empty transaction, for operations put in by hand. */
struct tx *tx_new(const char *table);
/*
 * Append the deletion of n elements of set (of ruleset rs), packed at
 * elems as set's are (set->stride apart; borrowed, as every operation's
 * elements).  Returns 0, or -1 on ENOMEM (tx holds the operation with the
 * elements pushed so far).
 */
int tx_add_del_elems(struct tx *tx, const struct rs_ruleset *rs, const struct rs_set *set,
		     const void *elems, size_t n);
/*
 * Operations by hand: tx_push_op appends one (zeroed but for kind and rs);
 * element ops go tx_begin_elems, tx_push_elem per element, tx_end_elems
 * (which drops an op that got none).  NULL or -1 on ENOMEM.
 */
struct tx_op *tx_push_op(struct tx *tx, enum tx_kind kind, const struct rs_ruleset *rs);
struct tx_op *tx_begin_elems(struct tx *tx, enum tx_kind kind, const struct rs_ruleset *rs,
			     const struct rs_set *set);
int tx_push_elem(struct tx *tx, const struct rs_elem *e);
void tx_end_elems(struct tx *tx);
void tx_free(struct tx *tx);
static inline bool tx_empty(const struct tx *tx) { return tx->nops == 0; }

/* The batch id of set @name if this transaction creates it, else 0. */
uint32_t tx_set_id(const struct tx *tx, const char *name);

/* The transaction as nft commands, one per line; 0 or -1 on write error. */
int tx_render(const struct tx *tx, FILE *out);
/* One operation, or @n of its elements from @first, as one nft command. */
int tx_render_op(const struct tx *tx, const struct tx_op *op, size_t first,
		 size_t n, FILE *out);

#endif
