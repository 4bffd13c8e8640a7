/* SPDX-License-Identifier: MIT */
/*
 * The canonical nftables ruleset model: one truth, three views of it
 * (the nft text renderer, the diff, the netlink batch builder).
 *
 * A ruleset is one "inet" table holding sets/maps with their elements and
 * chains with their rules.  Everything is kept in canonical order: sets and
 * chains sorted by name (base chains after regular ones), elements sorted by
 * key, so that the same config always yields byte-identical output.
 *
 * Rules are not free text: a rule is one of a few shapes (enum rs_rule_kind),
 * each rendered by render.c and linearised to netlink expressions by the
 * runtime.  A new rule shape means one new kind, handled in both places.
 */
#ifndef SVCC_RULESET_H
#define SVCC_RULESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define RS_MARK_MASQ 0x4000u	/* packet mark bit: masquerade this connection */

enum rs_family { RS_IPV4, RS_IPV6 };

/* Field types of set keys and map data. */
enum rs_ftype {
	RS_F_IPV4,	/* 4 bytes, network order */
	RS_F_IPV6,	/* 16 bytes, network order */
	RS_F_PROTO,	/* inet_proto: 1 byte, padded to 4 */
	RS_F_PORT,	/* inet_service: 2 bytes network order, padded to 4 */
	RS_F_U32,	/* numgen result: 4 bytes host order ("typeof numgen") */
	RS_F_MARK,	/* mark: 4 bytes host order, shown in hex (the runtime's
			 * set-fingerprints map) */
};

#define RS_MAX_FIELDS 4
#define RS_KEY_MAX 40	/* ipv6 . ipv6 = 32, ipv6 . proto . port = 24 */
#define RS_DATA_MAX 20	/* ipv6 . port */

/*
 * One element, stored packed: a set's elements lie set->stride bytes apart
 * (rs_elem_at), each with set->key_len bytes of key, then set->data_len
 * bytes of data, in the kernel's register layout: each field padded to a
 * multiple of 4 bytes (padding zero), concatenated.  Packed because a
 * 10k-service ruleset has ~200k elements of 8-12 bytes of key and data,
 * which fixed-size key and data arrays would triple.
 *
 * Copy an element with rs_elem_copy (stride bytes), never by assignment:
 * that copies the header only.
 */
struct rs_elem {
	const char *chain;	/* verdict maps: "goto chain"; owned by the ruleset */
	uint8_t prefix;		/* interval sets: prefix length of the last key field */
	/* key_len bytes of key, then data_len of data; word-aligned, as the
	 * fields are 32-bit registers (no element grows by it: strides round to 8) */
	_Alignas(uint32_t) uint8_t key[];
};

/* Bytes per element: the header, key and data, rounded up for the chain pointer. */
#define RS_ELEM_SIZE(key_len, data_len) \
	((offsetof(struct rs_elem, key) + (key_len) + (data_len) + _Alignof(struct rs_elem) - 1) & \
	 ~(_Alignof(struct rs_elem) - 1))
#define RS_ELEM_MAX RS_ELEM_SIZE(RS_KEY_MAX, RS_DATA_MAX)

/*
 * Room for one element of any set, for a temporary on the stack (a key to
 * look up).  bytes comes first, so that "= { 0 }" zeroes all of it.
 */
union rs_elem_buf {
	uint8_t bytes[RS_ELEM_MAX];
	struct rs_elem e;
};

struct rs_set {
	char *name;
	enum rs_family family;
	enum rs_ftype key[RS_MAX_FIELDS];
	uint8_t nkey;
	enum rs_ftype data[2];	/* data fields of a data map */
	uint8_t ndata;
	uint8_t l4proto;	/* endpoint maps: the protocol of "typeof numgen … :
				 * ip daddr . tcp dport"; nft needs the rule's and the
				 * map's protocol to agree */
	bool verdict;		/* verdict map: data is a goto to elem.chain */
	/*
	 * Dynamic: filled by the packet path ("update @set"), with a default
	 * timeout (seconds) and a size; svcc never adds or reads its
	 * elements.  The affinity maps are the only ones: "typeof ip saddr .
	 * ip daddr . tcp dport : ip daddr . tcp dport".
	 */
	bool dynamic;
	uint32_t timeout, size;
	bool interval;		/* "flags interval": the last key field of each
				 * element is a prefix of elem.prefix bits */
	uint8_t key_len;	/* bytes of key in an element */
	uint8_t data_len;	/* bytes of data, after the key */
	size_t stride;		/* bytes per element: RS_ELEM_SIZE(key_len, data_len) */
	void *elems;		/* nelems elements, stride bytes apart (rs_elem_at),
				 * sorted by rs_elem_cmp */
	size_t nelems, cap;
	/*
	 * Runtime models only (0 in compiled rulesets): the sum of the
	 * element hashes (runtime/state.c), kept in the kernel's
	 * set-fingerprints map.  unread: the elements were not read back,
	 * because that map vouched for them; elems is empty.
	 */
	uint64_t fingerprint;
	bool unread;
};

enum rs_rule_kind {
	/* jump CHAIN */
	RS_JUMP,
	/* ip daddr . meta l4proto . th dport vmap @SET */
	RS_DISPATCH,
	/* ip saddr != @SET meta mark set meta mark | MARK */
	RS_MARK_UNLESS_SADDR_IN,
	/* ip saddr @SET meta mark set meta mark | MARK */
	RS_MARK_IF_SADDR_IN,
	/* meta mark set meta mark | MARK */
	RS_MARK,
	/* meta l4proto PROTO dnat ip to numgen inc mod MOD offset OFFSET map @SET */
	RS_DNAT_NUMGEN,
	/* ip daddr . meta l4proto . th dport @SET meta l4proto tcp reject with tcp reset */
	RS_REJECT_TCP_IF_DEST_IN,
	/* ip daddr . meta l4proto . th dport @SET reject */
	RS_REJECT_IF_DEST_IN,
	/* meta mark & MARK == MARK meta mark set meta mark & ~MARK masquerade fully-random */
	RS_MASQ_MARKED,
	/* ct status dnat ip saddr . ip daddr @SET masquerade */
	RS_MASQ_HAIRPIN,
	/* goto CHAIN */
	RS_GOTO,
	/* SET: ip daddr @SET meta l4proto . th dport vmap @SET2
	 * no SET: meta nfproto ipv4 fib daddr type local meta l4proto . th dport vmap @SET2 */
	RS_NODEPORT_DISPATCH,
	/* meta nfproto ipv4 meta l4proto . th dport @SET meta l4proto tcp reject with tcp reset */
	RS_REJECT_TCP_IF_PORT_IN,
	/* meta nfproto ipv4 meta l4proto . th dport @SET reject */
	RS_REJECT_IF_PORT_IN,
	/* ip daddr . meta l4proto . th dport @SET
	 * ip daddr . meta l4proto . th dport . ip saddr != @SET2 drop */
	RS_FIREWALL,
	/* drop */
	RS_DROP,
	/* ip saddr @SET goto CHAIN */
	RS_GOTO_IF_SADDR_IN,
	/* meta l4proto PROTO dnat ip to ip saddr . ip daddr . PROTO dport map @SET */
	RS_AFFINITY_DNAT,
	/* numgen inc mod MOD offset OFFSET vmap @SET */
	RS_NUMGEN_VMAP,
	/* meta l4proto PROTO update @SET { ip saddr . ip daddr . PROTO dport timeout TIMEOUTs : ADDR . PORT } */
	RS_AFFINITY_UPDATE,
	/* meta l4proto PROTO dnat ip to ADDR:PORT */
	RS_DNAT_TO,
	/* ct status dnat ip daddr & 0.0.0.255 vmap @SET (ip6: & ::ff) */
	RS_HAIRPIN_DISPATCH,
	/* new kinds go last: a kind's number is part of every chain fingerprint */
	/* ip daddr @SET meta l4proto tcp reject with tcp reset */
	RS_REJECT_TCP_IF_DADDR_IN,
	/* ip daddr @SET reject */
	RS_REJECT_IF_DADDR_IN,
	/* ip daddr @SET drop */
	RS_DROP_IF_DADDR_IN,
	/* iifname != "IFACE" meta mark set meta mark | MARK (mod 1: "IFACE*", a prefix) */
	RS_MARK_UNLESS_IIF,
	/* iifname "IFACE" goto CHAIN (mod 1: a prefix) */
	RS_GOTO_IF_IIF,
	/* meta l4proto PROTO ip saddr . ip daddr . PROTO dport @SET
	 * update @SET { ip saddr . ip daddr . PROTO dport timeout TIMEOUTs : ADDR . PORT } */
	RS_AFFINITY_REFRESH,
	/* ip daddr @SET jump CHAIN */
	RS_JUMP_IF_DADDR_IN,
	/* ct state new ct status ! dnat jump CHAIN: the filter hooks' checks, for the
	 * first packet of a connection no DNAT took */
	RS_JUMP_IF_NEW_NO_DNAT,
};

struct rs_rule {
	enum rs_rule_kind kind;
	enum rs_family family;	/* for rules that match addresses ("ip" or "ip6") */
	const char *set;	/* set or map the rule uses; owned by the ruleset */
	const char *set2;	/* a second set (RS_NODEPORT_DISPATCH, RS_FIREWALL) */
	const char *target;	/* RS_JUMP, RS_GOTO: target chain; owned by the ruleset */
	uint8_t l4proto;	/* RS_DNAT_NUMGEN: IPPROTO_TCP/UDP/SCTP */
	uint32_t mod, offset;	/* RS_DNAT_NUMGEN */
	uint32_t mark;		/* RS_MARK*, RS_MASQ_MARKED */
	uint32_t timeout;	/* RS_AFFINITY_UPDATE, _REFRESH: seconds */
	uint8_t addr[16];	/* RS_AFFINITY_UPDATE, _REFRESH, RS_DNAT_TO: the endpoint;
				 * RS_*_IIF: the interface name, NUL-padded */
	uint16_t port;		/* ... and its port */
};

enum rs_hook { RS_HOOK_NONE, RS_HOOK_PREROUTING, RS_HOOK_INPUT, RS_HOOK_FORWARD,
	       RS_HOOK_OUTPUT, RS_HOOK_POSTROUTING };

struct rs_chain {
	char *name;
	enum rs_hook hook;	/* RS_HOOK_NONE: a regular chain */
	bool nat;		/* base chain type: nat, else filter */
	int priority;
	struct rs_rule *rules;
	size_t nrules, cap;
	/*
	 * 64-bit hash of the chain's rendered rules.  Kept in the kernel as the
	 * chain comment "svcc:<16 hex digits>", so that the runtime compares
	 * chains without reading their rules back.
	 */
	uint64_t fingerprint;
	/*
	 * Runtime models only: the hash of the rules the kernel holds
	 * (runtime/rule_hash.c), read back when nothing vouched for them;
	 * 0: not read.
	 */
	uint64_t rules_hash;
};

struct rs_ruleset {
	char *table;		/* family is always inet */
	struct rs_set *sets;	/* sorted by name */
	size_t nsets, sets_cap;
	struct rs_chain *chains; /* regular chains sorted by name, then base chains */
	size_t nchains, chains_cap;
	/*
	 * Set indexes in the order to create them (rs_finish): the kernel
	 * finds a set by name by walking its table's sets in creation order,
	 * for every rule that looks into one, so the sets most rules name go
	 * first (pod-cidrs: a rule per service port).  NULL: name order.
	 */
	size_t *create_order;
	/* Runtime models only: the chains were not read back (the set-fingerprints
	 * map vouched for them); chains is empty. */
	bool chains_unread;
	/* Compiled models only: endpoint maps per family and protocol (lower.c). */
	uint16_t ep_shards[2][3];
	/* Runtime models only: the table's flags as read back (svcc sets none). */
	uint32_t table_flags;
	/* ... but for NFT_TABLE_F_OWNER and _PERSIST, apart, and the owner's
	 * netlink port id (an agent's: SVCC_RT_OWNER) */
	uint32_t owner_flags, owner;
	/* Runtime models only: the names verdicts point at while chains is empty
	 * (rs_keep_name): owned here, freed with the ruleset. */
	char **kept_names;
	size_t nkept_names, kept_names_cap;
};

/* The i-th element of s. */
static inline struct rs_elem *rs_elem_at(const struct rs_set *s, size_t i)
{
	return (struct rs_elem *)((char *)s->elems + i * s->stride);
}

/* The data of element e of s: after its key. */
static inline uint8_t *rs_elem_data(const struct rs_set *s, const struct rs_elem *e)
{
	return (uint8_t *)e->key + s->key_len;
}

/* Copy an element of s (the whole stride, not just the header). */
static inline void rs_elem_copy(const struct rs_set *s, struct rs_elem *dst,
				const struct rs_elem *src)
{
	memcpy(dst, src, s->stride);
}

/* The k-th set to create. */
static inline const struct rs_set *rs_set_to_create(const struct rs_ruleset *rs, size_t k)
{
	return &rs->sets[rs->create_order ? rs->create_order[k] : k];
}

/* ruleset.c */
/*
 * The regular chains in the order their rules are best added to the kernel:
 * grouped by the set their rules look into first (by its name, so that a
 * ruleset read back orders as the compiled one does), then by name.
 * Binding a map walks its bindings; rules that bind one map one after
 * another find them in the cache (at 100k services in name order each walk
 * missed it: 12% of a full load).  Only the chains want() takes (want NULL:
 * every regular chain), so that a diff of a few chains sorts a few.  A
 * malloc'd array of *n chain indices, or NULL when out of memory.
 */
size_t *rs_rule_order(const struct rs_ruleset *rs, bool (*want)(const void *arg, size_t i),
		      const void *arg, size_t *n);
struct rs_ruleset *rs_new(const char *table);
void rs_free(struct rs_ruleset *rs);
struct rs_set *rs_set_find(const struct rs_ruleset *rs, const char *name);
struct rs_chain *rs_chain_find(const struct rs_ruleset *rs, const char *name);
/* Do two rules say the same, field by field (names by content)? */
bool rs_rule_eq(const struct rs_rule *a, const struct rs_rule *b);
/* Builders.  Returned pointers stay valid until the next add of the same kind. */
struct rs_set *rs_add_set(struct rs_ruleset *rs, const char *name, enum rs_family family);
struct rs_elem *rs_add_elem(struct rs_set *set);	/* zeroed */
/* Room for n more elements: so many rs_add_elem calls cannot fail.  0 or -1. */
int rs_reserve_elems(struct rs_set *set, size_t n);
/* n > 0 zeroed elements at the end: the first, or NULL */
struct rs_elem *rs_add_elems(struct rs_set *set, size_t n);
struct rs_chain *rs_add_chain(struct rs_ruleset *rs, const char *name);
/* A copy of name the ruleset owns, for a verdict to a chain it has not read.  NULL: no memory. */
const char *rs_keep_name(struct rs_ruleset *rs, const char *name);
struct rs_rule *rs_add_rule(struct rs_chain *c);	/* zeroed */
/* Derive key_len, data_len and stride from the field types. */
void rs_set_layout(struct rs_set *set);
int rs_elem_cmp(const struct rs_set *set, const struct rs_elem *a, const struct rs_elem *b);
/* Sort n items of size bytes by the string at name_off in each (strcmp order), stably. 0 or -1. */
int rs_sort_by_name(void *items, size_t n, size_t size, size_t name_off);
/* ruleset_sort.c: a set's elements by key, the chains (regular, then base) by name.  0 or -1. */
int rs_sort_elems(struct rs_set *set);
int rs_sort_chains(struct rs_ruleset *rs);
size_t rs_field_len(enum rs_ftype t);
/*
 * Sort sets, elements and chains canonically, drop repeated set elements and
 * prefixes inside other prefixes, and compute chain fingerprints.
 */
int rs_finish(struct rs_ruleset *rs);

/* render.c: nft text.  Every function returns 0, or -1 on a write error. */
/* The whole ruleset as one transaction that replaces any earlier table. */
int rs_render(const struct rs_ruleset *rs, FILE *out);
/* "add set inet T NAME { ... }" (no elements) */
int rs_render_set_decl(const struct rs_ruleset *rs, const struct rs_set *set, FILE *out);
/* "add chain inet T NAME { comment "svcc:..."; }" or base-chain form */
int rs_render_chain_decl(const struct rs_ruleset *rs, const struct rs_chain *c, FILE *out);
/* The rule's text, without "add rule inet T CHAIN" */
int rs_render_rule(const struct rs_rule *r, FILE *out);
/* "VERB element inet T SET { e, e, ... }" for n elements (nothing if n == 0) */
int rs_render_elems(const struct rs_ruleset *rs, const struct rs_set *set,
		    const char *verb, const struct rs_elem *const *elems, size_t n, FILE *out);
/* One element's text: "10.96.0.10 . tcp . 80 : goto svc-..." */
int rs_render_elem(const struct rs_set *set, const struct rs_elem *e, FILE *out);
/* The chain comment text that carries the fingerprint: "svcc:0123456789abcdef" */
void rs_chain_comment(const struct rs_chain *c, char buf[32]);
/* nft's name of a hook: "prerouting"; "?" for RS_HOOK_NONE */
const char *rs_hook_name(enum rs_hook h);

#endif
