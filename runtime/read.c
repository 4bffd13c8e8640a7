// SPDX-License-Identifier: MIT
/*
 * svcc_runtime_read: the table as the kernel holds it, rules and all, as a
 * ruleset of svcc's model (for svcc_trace and svcc show on what is really
 * loaded).  A copy: the runtime's own model, and what it trusts, stay.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "nl.h"
#include "update.h"

int svcc_runtime_read(struct svcc_runtime *rt, struct svcc_ruleset **out, size_t *foreign)
{
	struct svcc_ruleset *rs;
	size_t n = 0;

	/* read on the side: the runtime's model, and what it trusts, stay */
	for (int tries = 0; tries < 3; tries++) {
		struct rs_ruleset *copy = NULL, *map = NULL;
		uint32_t genid, after;
		bool trusted;

		if (nl_read_table(&rt->nl, rt->table, false, &copy, &map, &trusted, &genid)) {
			rt_report_errno(rt, "read-back", errno);
			return -1;
		}
		rs_free(map);
		if (!copy) {
			*out = NULL;
			if (foreign)
				*foreign = 0;
			return 0;
		}
		if (nl_read_rules(&rt->nl, copy, &n) || nl_getgen(&rt->nl, &after)) {
			rt_report_errno(rt, "read-back", errno);
			rs_free(copy);
			return -1;
		}
		if (after != genid) {	/* committed to meanwhile: read again */
			rs_free(copy);
			continue;
		}
		if (!(rs = calloc(1, sizeof(*rs)))) {
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
	diag_error(rt->ctx, LOC_NONE, "read-back: the ruleset kept changing while svcc was reading it");
	errno = EAGAIN;
	return -1;
}
