// SPDX-License-Identifier: MIT
/* svcc_ruleset_diff: the runtime's transaction between two compiled rulesets, as text. */
#include "internal.h"
#include "tx.h"

int svcc_ruleset_diff(const struct svcc_ruleset *old, const struct svcc_ruleset *new_rs,
		      FILE *out)
{
	struct tx *tx = tx_diff(old ? old->rs : NULL, new_rs->rs);
	int rc;

	if (!tx)
		return -1;
	rc = tx_render(tx, out);
	tx_free(tx);
	return rc;
}
