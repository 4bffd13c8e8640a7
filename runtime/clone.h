/* SPDX-License-Identifier: MIT */
#ifndef SVCC_CLONE_H
#define SVCC_CLONE_H

#include "ruleset.h"

/*
 * A deep copy of a ruleset, whose borrowed names (rule->set, rule->target,
 * elem->chain) point into the copy's own sets and chains.  NULL with errno
 * ENOMEM, or EINVAL if a name refers to nothing in rs.
 */
struct rs_ruleset *rs_clone(const struct rs_ruleset *rs);

#endif
