/* SPDX-License-Identifier: MIT */
/* Rules read back into svcc's model (rule_decode.c). */
#ifndef SVCC_RULE_DECODE_H
#define SVCC_RULE_DECODE_H

#include <stdint.h>

#include "ruleset.h"

#define RULE_DECODER_SHAPES 64

struct rule_decoder {
	struct {
		uint64_t shape;
		int kind_plus1;		/* 0: empty */
	} shapes[RULE_DECODER_SHAPES];	/* the kind that matched a shape */
	void *buf;			/* NL_MSG_MAX bytes to build rules in */
};

struct nlmsghdr;
void rule_decoder_init(struct rule_decoder *d);
void rule_decoder_free(struct rule_decoder *d);
/*
 * The rule of nlh (a NEWRULE message from a dump) as svcc's model, its
 * names kept in rs: 0; 1 when it is no rule svcc would make; -1 with errno.
 */
int rule_decode(struct rule_decoder *d, const struct nlmsghdr *nlh, struct rs_ruleset *rs,
		struct rs_rule *out);

#endif
