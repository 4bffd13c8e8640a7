/* SPDX-License-Identifier: MIT */
/*
 * The runtime's netlink side: build nf_tables messages for a transaction,
 * send them as one batch, read a table back.  Messages are laid out exactly
 * as nft 1.0.6 lays them out, so that a table loaded through netlink lists
 * byte-identically to one loaded with `nft -f`.
 */
#ifndef SVCC_NL_H
#define SVCC_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tx.h"

struct mnl_socket;

struct nl {
	struct mnl_socket *sk;
	uint32_t portid;
	uint32_t seq;		/* last sequence number used */
};

/* The table's NFT_TABLE_F_OWNER (Linux 5.12) and NFT_TABLE_F_PERSIST (6.9):
 * the uapi headers this builds with may predate them. */
#define NL_TABLE_F_OWNER	0x2u
#define NL_TABLE_F_PERSIST	0x4u

/* Largest message the builders write; batch pages leave this much room. */
#define NL_MSG_MAX	(64 * 1024)
/* Requests and answers that are not dumps. */
#define NL_BUF		8192

int nl_open(struct nl *nl);
void nl_close(struct nl *nl);
/* The ruleset generation id (NFT_MSG_GETGEN); -1 with errno on failure. */
int nl_getgen(struct nl *nl, uint32_t *genid);

/*
 * nl_msg.c: one message of op into buf (room bytes).  Element operations
 * take several messages: *pos is the first element to put, and is advanced
 * past the last one put.  Returns the message length, or 0 if it does not
 * fit (only when room < NL_MSG_MAX).
 */
size_t nl_msg_op(void *buf, size_t room, const struct tx *tx, const struct tx_op *op,
		 size_t *pos, uint32_t seq);
/* nl_rule.c: a rule's expressions, appended to an nftnl_rule. */
struct nftnl_rule;
int nl_rule_exprs(struct nftnl_rule *r, const struct tx *tx, const struct rs_rule *rule);
/*
 * rule_hash.c: rules hashed as netlink messages, so that the kernel's
 * (read back) and the desired ones (built as the batch would send them)
 * compare.  A chain's hash: nl_rules_begin(), then nl_rules_more() with
 * each rule's hash in order.  nl_rule_hash: a desired rule's, built as
 * the batch would send it, in buf (NL_MSG_MAX bytes); 0, or -1 with errno.
 */
struct nlmsghdr;
uint64_t nl_rule_msg_hash(const struct nlmsghdr *nlh);
uint64_t nl_rules_begin(void);
uint64_t nl_rules_more(uint64_t chain, uint64_t rule);
int nl_rule_hash(const struct tx *tx, const struct rs_rule *rule, void *buf, uint64_t *out);
/* Netlink register holding the field at 32-bit word w of a concatenation. */
uint32_t nl_reg(unsigned int w);

/* nl_batch.c: send tx as one atomic batch. */
struct nl_result {
	int err;		/* errno of the first failure, 0 on success */
	const struct tx_op *op;	/* the operation it failed on, or NULL */
	size_t first, n;	/* its elements in the failing message */
	char kmsg[128];		/* the kernel's extended ack text, if any */
	bool unsent;		/* op could not be built: nothing was sent */
	unsigned long messages;	/* messages sent, begin and end included */
	uint32_t genid;		/* generation after the batch (on success) */
	bool lost;		/* answers overflowed the receive buffer (ENOBUFS) */
};
int nl_send_tx(struct nl *nl, const struct tx *tx, const uint32_t *genid,
	       struct nl_result *res);

/*
 * readback.c: the table as a ruleset (*out NULL if it does not exist), its
 * set-fingerprints map apart (*map, NULL if none: state.h), and the
 * generation id it was read at.  With trust, when the map vouches for the
 * table (*trusted), the sets it vouches for and the chains are left unread.
 */
int nl_read_table(struct nl *nl, const char *table, bool trust, struct rs_ruleset **out,
		  struct rs_ruleset **map, bool *trusted, uint32_t *genid);
/* Read the elements of rs's sets which[0..n) now (they were left unread). */
int nl_read_elems(struct nl *nl, struct rs_ruleset *rs, const size_t *which, size_t n);
/* Read rs's rules into its chains (rule_decode.c), reading the chains
 * first if they were left unread; *foreign: rules svcc would not make,
 * left out. */
int nl_read_rules(struct nl *nl, struct rs_ruleset *rs, size_t *foreign);
/* Read rs's chains now (they were left unread, or are replaced). */
int nl_read_chains(struct nl *nl, struct rs_ruleset *rs);
/* Chains by name (GETCHAIN each): out[i] for names[i], exists or not. */
struct nl_chain {
	bool exists;
	struct rs_chain c;	/* fingerprint, hook, priority, nat */
};
int nl_get_chains(struct nl *nl, const char *table, const char *const *names, size_t n,
		  struct nl_chain *out);
/*
 * Every element of set s (a plain set or map: no intervals) of table, one
 * call of cb each with its key and data; what cb keeps, it copies.  cb
 * returns 0, or -1 with errno to stop.  Returns 0, or -1 with errno.
 */
typedef int (*nl_elem_cb)(const struct rs_set *s, const struct rs_elem *e, void *arg);
int nl_dump_elems(struct nl *nl, const char *table, const struct rs_set *s,
		  nl_elem_cb cb, void *arg);

#endif
