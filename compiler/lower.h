/* SPDX-License-Identifier: MIT */
/*
 * What the lowering passes share: the service ports being lowered, their
 * endpoint groups, and the indices of the sets they fill.  lower.c tells the
 * shape; lower_place.c picks endpoints and places them in the maps,
 * lower_sets.c makes sets and elements, lower_chains.c the chains,
 * lower_affinity.c client-ip affinity.
 */
#ifndef SVCC_LOWER_H
#define SVCC_LOWER_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>
#include <pthread.h>

#include "model.h"
#include "ruleset.h"

/*
 * Endpoint maps per family and protocol (lw_shards): at least 64, more
 * for large clusters, a power of two so that a group's map is its hash
 * modulo the count.
 */
#define MIN_ENDPOINT_SHARDS 64
#define MAX_ENDPOINT_SHARDS 4096
#define SLOTS_PER_SHARD 65536	/* B = slot << 16: 65,536 keys per service port */
#define AFFINITY_SIZE	1048576	/* clients remembered per affinity map */
/*
 * Hairpin pairs go to one of 256 sets by the last byte of the address,
 * through a verdict map: a set changed by an endpoint change is then small
 * enough for a one-shot `svcc apply` to read back in a fraction of a
 * millisecond (a kernel element dump restarts its walk per answer).
 */
#define HAIRPIN_SHARDS	256

/*
 * Endpoint maps are per protocol: nft 1.0.6 only adds a rule
 * "meta l4proto udp dnat … map @m" to an existing map declared with
 * "udp dport" data (with "th dport" it refuses: "conflicting protocols").
 */
enum { P_TCP, P_UDP, P_SCTP, NPROTO };
extern const uint8_t lw_protos[NPROTO];

/*
 * The endpoints a chain DNATs to, and where their map elements live.  A
 * service port has up to two groups: all of its endpoints (policy cluster)
 * and those on this node (traffic-policy local).
 */
struct group {
	const struct endpoint **eps;	/* affinity groups only: in use, sorted by address */
	uint32_t neps;
	uint32_t nkeys;			/* endpoint map keys: the sum of weights */
	uint32_t shard, offset;
	size_t data;			/* its elements' data, in lowering.elem_data */
	uint64_t hash;			/* hash64 of its name: where it is placed */
	bool used;			/* a chain DNATs to this group */
	bool affinity;			/* client-ip affinity: through per-endpoint chains */
	bool emitted;			/* a chain DNATs to it: its elements (and affinity
					 * chains) are made; endpoint maps' by
					 * lw_add_endpoint_elems, in their order */
};

enum { G_CLUSTER, G_LOCAL, NGROUPS };

/* What the lowering needs of a config port: a copy, the config's is far away by now. */
struct sport_port {
	const char *name;	/* NULL: unnamed */
	uint16_t port, target, nodeport;
	uint8_t proto;
};

/*
 * One service port of one family: chains, or no-endpoints elements.  Kept
 * small (144 bytes, was 280): there is one per service port.  Its names
 * are made when needed (lw_sport_name), not kept.
 */
struct sport {
	const struct svcc_service *svc;
	struct sport_port port;
	struct addr vip;
	uint8_t fam;
	bool outside;			/* reached from outside: an ext- chain */
	bool any_eps;			/* the service has endpoints of this family */
	uint8_t internal, external;	/* the group the vip, and the outside, use */
	struct group g[NGROUPS];
};

/* Set indices (into rs->sets) of one family; -1 when absent. */
struct fam_sets {
	bool used, nodeports_used, firewall_used;
	int service_ips, no_endpoints, pod_cidrs, masq_from;
	int cluster_ips, service_cidrs;	/* every vip; the service-cidrs, if any */
	int hairpin_shards, hairpin[HAIRPIN_SHARDS];	/* the vmap, its sets */
	int nodeports, no_endpoint_nodeports, node_ips, firewall, firewall_allow;
	uint32_t nshards[NPROTO];	/* endpoint maps of each protocol (lw_place) */
	int *shard[NPROTO];		/* their set indices, -1: none */
	bool *shard_used[NPROTO];	/* a group is placed there */
	/* client-ip affinity: who chose what (per protocol), and the
	 * per-endpoint chains keyed like an endpoint map */
	int affinity[NPROTO], affinity_endpoints;
	bool affinity_placed;
	bool affinity_used[NPROTO];
	size_t ndispatch;		/* service-ips and no-endpoints elements, at most */
};

/* A group placed in a map (lower_place.c); sorted by key. */
struct placed {
	uint64_t key;			/* (family, map) << 32 | offset */
	struct sport *sp;
	struct group *g;
};

/* Hairpin elements of one family, made apart from the ruleset: by shard. */
struct hairpin_elems {
	void *elems[HAIRPIN_SHARDS];	/* packed as the shard sets' (rs_elem_at); sorted,
					 * each address once */
	size_t n[HAIRPIN_SHARDS];
};

/*
 * The hairpin elements' maker, maybe a second thread (lw_start_hairpin to
 * lw_add_hairpin): it touches only these, and the addresses.
 */
struct hairpin_job {
	bool used[NFAMILIES];
	uint8_t *addrs[NFAMILIES];	/* lowering.ep_addrs: the thread sorts them */
	size_t n[NFAMILIES];
	struct hairpin_elems h[NFAMILIES];
	pthread_t thread;
	bool started;
	int rc;
};

struct lowering {
	const struct svcc_config *cfg;
	const uint16_t (*shards_wanted)[NPROTO];	/* per family; NULL or 0: lw_shards */
	struct rs_ruleset *rs;
	struct sport *sports;		/* in the config's order: the cache's */
	size_t nsports;
	char *name;			/* lw_sport_name's buffer */
	size_t name_size;
	const struct endpoint **ep_pool;	/* the affinity groups' eps, one block */
	const struct endpoint **ep_scratch;	/* the other groups' eps, one at a time */
	uint8_t *ep_addrs[NFAMILIES];	/* their addresses (4 or 16 bytes), for hairpin */
	size_t nep_addrs[NFAMILIES];
	uint8_t *elem_data;		/* endpoint map elements' data, by group */
	size_t nelem_data, elem_data_cap;
	struct placed *placed;		/* after lw_place: the endpoint-map groups */
	size_t nplaced;
	struct fam_sets fam[NFAMILIES];
	struct hairpin_job hairpin;
	/* pods told by the interface they come in by (pod-bridge, or a prefix) */
	uint8_t pod_iface[16];
	bool pod_iface_prefix;
};

/* Are pods told from the rest (for the non-pod masquerade and the shortcuts)? */
static inline bool lw_detects_pods(const struct lowering *l, int fam)
{
	return l->fam[fam].pod_cidrs >= 0 ||
	       (l->pod_iface[0] && (l->cfg->masq & SVCC_MASQ_NON_POD));
}

static inline int proto_idx(uint8_t proto)
{
	return proto == IPPROTO_UDP ? P_UDP : proto == IPPROTO_SCTP ? P_SCTP : P_TCP;
}

static inline enum rs_family rs_fam(int fam)
{
	return fam == FAM6 ? RS_IPV6 : RS_IPV4;
}

static inline enum rs_ftype ip_ftype(int fam)
{
	return fam == FAM6 ? RS_F_IPV6 : RS_F_IPV4;
}

static inline const char *sfx(int fam)
{
	return fam == FAM6 ? "6" : "";
}

static inline size_t put_addr(uint8_t *p, const struct addr *a)
{
	size_t n = a->family == 6 ? 16 : 4;

	memcpy(p, a->bytes, n);
	return n;
}

static inline size_t put_proto(uint8_t *p, uint8_t proto)
{
	p[0] = proto;
	return 4;
}

static inline size_t put_port(uint8_t *p, uint16_t port)
{
	p[0] = (uint8_t)(port >> 8);
	p[1] = (uint8_t)port;
	return 4;
}

/* lower_place.c */
/*
 * "KIND[6]-NAME/PROTO/PORT" + suffix (KIND: svc, ext, aff) in l->name,
 * with room for 24 more bytes; its length.
 */
size_t lw_sport_name(struct lowering *l, const struct sport *sp, const char *kind,
		     const char *suffix);
int lw_collect(struct lowering *l);
int lw_place(struct lowering *l);
/* How many endpoint maps a family's protocol gets for so many keys (elements). */
uint32_t lw_shards(size_t keys);

/* lower_sets.c */
int lw_add_fam_sets(struct lowering *l, int fam);
const char *lw_set_name(struct lowering *l, int idx);
struct rs_elem *lw_elem(struct lowering *l, int set);
int lw_add_cidrs(struct lowering *l, int idx, int fam, const struct cidr *v, size_t n);
int lw_add_dispatch(struct lowering *l, int idx, const struct addr *a,
		    const struct sport_port *p, const char *chain);
int lw_add_nodeport(struct lowering *l, int idx, const struct sport_port *p, const char *chain);
void lw_start_hairpin(struct lowering *l);
void lw_free_hairpin(struct lowering *l);
int lw_add_hairpin(struct lowering *l);

/* lower_chains.c */
struct rs_chain *lw_add_chain(struct lowering *l, const char *name, size_t nrules);
struct rs_rule *lw_add_rule(struct rs_chain *c, enum rs_rule_kind kind, int fam, const char *set);
uint16_t lw_target_port(const struct sport_port *p, const struct endpoint *e);
int lw_lower_sport(struct lowering *l, struct sport *sp);
int lw_endpoint_data(struct lowering *l, const struct sport *sp, struct group *g,
		     const struct endpoint *const *eps);
int lw_add_endpoint_elems(struct lowering *l);
int lw_add_fixed_chains(struct lowering *l);

/* lower_affinity.c */
int lw_add_affinity(struct lowering *l, const struct sport *sp, struct group *g,
		    struct rs_chain *c);

#endif
