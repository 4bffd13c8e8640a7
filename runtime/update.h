/* SPDX-License-Identifier: MIT */
/*
 * Incremental updates (svcc_runtime_apply_config, svcc_runtime_update):
 * what runtime.c and update.c share.
 */
#ifndef SVCC_UPDATE_H
#define SVCC_UPDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"
#include "nl.h"
#include "tx.h"

struct upd_index;

struct svcc_runtime {
	struct svcc_ctx *ctx;
	char *table;
	unsigned flags;
	struct nl nl;
	struct rs_ruleset *model;	/* what the kernel holds; NULL: no table */
	struct rs_ruleset *fpmap;	/* its set-fingerprints map (state.h); NULL: none */
	bool fpmap_true;		/* ... known to be right (written by this runtime,
					 * or vouched for by the generation) */
	bool model_rules;		/* the model has its rules: it was applied,
					 * not read back */
	uint32_t genid;			/* generation the model was read/applied at */
	unsigned long sets_read;	/* element dumps since the last apply */
	unsigned long chains_read;	/* chains read back since the last apply */
	bool stale;			/* re-read before the next diff */
	bool restartable;		/* a read failing as the generation moved is
					 * left to the caller (errno ERESTART) */
	bool overlap;			/* through nft: another commit came beside
					 * the last one (rt_send_tx) */
	struct svcc_apply_stats stats;
	struct upd_index *idx;		/* what updates need; NULL: apply whole */
	/* the table's NFT_TABLE_F_OWNER and _PERSIST and its owner as last read;
	 * owned: this runtime owns it (SVCC_RT_OWNER) */
	uint32_t owner_flags, owner;
	bool owned;
};

/* runtime.c */
double rt_now(void);
int rt_send_tx(struct svcc_runtime *rt, const struct tx *tx, struct nl_result *res);
void rt_report_nl(struct svcc_runtime *rt, const struct tx *tx, const struct nl_result *res,
		  int err, enum svcc_severity sev, const char *then);
void rt_report_errno(struct svcc_runtime *rt, const char *what, int err);
void rt_flush_stale_udp(struct svcc_runtime *rt, const struct rs_ruleset *old,
			const struct rs_ruleset *new_rs);
void rt_forget_stale_affinity(struct svcc_runtime *rt, const struct rs_ruleset *old,
			      bool old_rules, const struct rs_ruleset *now);
void rt_set_stats(struct svcc_runtime *rt, const struct tx *tx);
/* After a batch the kernel took: next (from st_append) is the kernel's map now. */
void rt_keep_fpmap(struct svcc_runtime *rt, struct rs_ruleset *next);
/* Read the table back; trust: leave what the set-fingerprints map vouches for unread. */
int rt_resync(struct svcc_runtime *rt, bool trust);

/* update.c */
void upd_index_free(struct upd_index *idx);

#endif
