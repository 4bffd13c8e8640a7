/* SPDX-License-Identifier: MIT */
/*
 * The rules read back (their hashes, readback.c) against the desired
 * chains' rules, built as the batch would send them.
 */
#ifndef SVCC_RULE_CHECK_H
#define SVCC_RULE_CHECK_H

#include "ruleset.h"

/*
 * Each chain of @model (read back) that holds a rules hash and the
 * fingerprint of @want's chain of its name: fingerprint 0 when its rules
 * are not that chain's, so that the diff rewrites it; the hash is dropped
 * either way.  Returns 0, or -1 with errno.
 */
int rule_check(struct rs_ruleset *model, const struct rs_ruleset *want, const char *table);

#endif
