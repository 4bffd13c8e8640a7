// SPDX-License-Identifier: MIT
/*
 * A transaction as nft commands: what `svcc apply --dry-run` and `svcc diff`
 * print, what --via=nft sends, and how a kernel error names the operation.
 */
#include <stdio.h>

#include "tx.h"

static const char *set_word(const struct rs_set *s)
{
	return s->verdict || s->ndata ? "map" : "set";
}

int tx_render_op(const struct tx *tx, const struct tx_op *op, size_t first,
		 size_t n, FILE *out)
{
	const char *t = tx->table;

	switch (op->kind) {
	case TX_ADD_TABLE:
		return fprintf(out, "add table inet %s\n", t) < 0 ? -1 : 0;
	case TX_DEL_TABLE:
		return fprintf(out, "delete table inet %s\n", t) < 0 ? -1 : 0;
	case TX_ADD_SET:
		return rs_render_set_decl(op->rs, op->set, out);
	case TX_DEL_SET:
		return fprintf(out, "delete %s inet %s %s\n", set_word(op->set), t,
			       op->set->name) < 0 ? -1 : 0;
	case TX_ADD_CHAIN:
		return rs_render_chain_decl(op->rs, op->chain, out);
	case TX_DEL_CHAIN:
		return fprintf(out, "delete chain inet %s %s\n", t, op->chain->name) < 0 ? -1 : 0;
	case TX_FLUSH_CHAIN:
		return fprintf(out, "flush chain inet %s %s\n", t, op->chain->name) < 0 ? -1 : 0;
	case TX_ADD_RULE:
		if (fprintf(out, "add rule inet %s %s ", t, op->chain->name) < 0 ||
		    rs_render_rule(op->rule, out) || fputc('\n', out) == EOF)
			return -1;
		return 0;
	case TX_ADD_ELEMS:
	case TX_DEL_ELEMS:
		if (first >= op->nelems)
			return 0;
		if (n > op->nelems - first)
			n = op->nelems - first;
		return rs_render_elems(op->rs, op->set,
				       op->kind == TX_ADD_ELEMS ? "add" : "delete",
				       tx->elems + op->elem_first + first, n, out);
	}
	return -1;
}

int tx_render(const struct tx *tx, FILE *out)
{
	size_t i;

	for (i = 0; i < tx->nops; i++)
		if (tx_render_op(tx, &tx->ops[i], 0, tx->ops[i].nelems, out))
			return -1;
	return fflush(out) ? -1 : 0;
}
