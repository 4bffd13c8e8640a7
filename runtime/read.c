// SPDX-License-Identifier: MIT
/*
 * svcc_runtime_read: the table as the kernel holds it, rules and all, as a
 * ruleset of svcc's model (for svcc_trace and svcc show on what is really
 * loaded).  A copy: the runtime's own model, and what it trusts, stay.
 */
#include <errno.h>
#include <stdlib.h>

#include "clone.h"
#include "internal.h"
#include "nl.h"
#include "update.h"

int svcc_runtime_read(struct svcc_runtime *rt, struct svcc_ruleset **out, size_t *foreign)
{
	struct svcc_ruleset *rs = NULL;
	struct rs_ruleset *copy = NULL;
	uint32_t after;
	size_t n = 0;

	for (int tries = 0; tries < 3; tries++) {
		if (rt_resync(rt, false))
			return -1;
		if (!rt->model) {
			*out = NULL;
			if (foreign)
				*foreign = 0;
			return 0;
		}
		rs_free(copy);
		if (!(copy = rs_clone(rt->model)) || nl_read_rules(&rt->nl, copy, &n) ||
		    nl_getgen(&rt->nl, &after)) {
			rt_report_errno(rt, "read-back", errno);
			rs_free(copy);
			return -1;
		}
		if (after == rt->genid)
			break;
		rt->stale = true;	/* committed to meanwhile: read again */
	}
	if (rt->stale || !(rs = calloc(1, sizeof(*rs)))) {
		if (rt->stale)
			diag_error(rt->ctx, LOC_NONE, "read-back: the ruleset kept changing while "
				   "svcc was reading it");
		else
			rt_report_errno(rt, "read-back", ENOMEM);
		rs_free(copy);
		return -1;
	}
	rs->rs = copy;
	*out = rs;
	if (foreign)
		*foreign = n;
	return 0;
}
