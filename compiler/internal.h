/* SPDX-License-Identifier: MIT */
/* What the library's parts share and the public header hides. */
#ifndef SVCC_INTERNAL_H
#define SVCC_INTERNAL_H

#include "svcc.h"
#include "ruleset.h"
#include "diag.h"

struct svcc_ruleset {
	struct rs_ruleset *rs;
};

#endif
