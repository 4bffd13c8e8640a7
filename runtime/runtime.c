// SPDX-License-Identifier: MIT
/*
 * svcc_runtime_*: keep one table in the kernel in step with the rulesets
 * given to it.  The runtime holds its own copy of what the kernel holds,
 * diffs every new ruleset against it, and sends the difference as one
 * atomic batch.  A batch the kernel rejects changes nothing, in the kernel
 * or here; the next apply re-reads the table first, in case the rejection
 * came from drift.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "affinity.h"
#include "clone.h"
#include "conntrack.h"
#include "internal.h"
#include "nl.h"
#include "rule_check.h"
#include "slots.h"
#include "state.h"
#include "tx.h"
#include "update.h"

double rt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Another process owns the table (NFT_TABLE_F_OWNER): an svcc agent, or the like. */
static bool owned_by_other(const struct svcc_runtime *rt)
{
	return (rt->owner_flags & NL_TABLE_F_OWNER) && rt->owner != rt->nl.portid;
}

void rt_report_errno(struct svcc_runtime *rt, const char *what, int err)
{
	if (err == EPERM && owned_by_other(rt))
		diag_error(rt->ctx, LOC_NONE, "%s: table inet %s is owned by another process "
			   "(netlink port %u; an svcc agent?): only it may change the table; "
			   "change its config instead, or stop it (the table stays)",
			   what, rt->table, rt->owner);
	else if (err == EPERM || err == EACCES)
		diag_error(rt->ctx, LOC_NONE, "%s: permission denied: changing nftables needs "
			   "CAP_NET_ADMIN (run as root)", what);
	else
		diag_error(rt->ctx, LOC_NONE, "%s: %s", what, strerror(err));
}

/*
 * A UDP client sending from a fixed port (a DNS resolver) stays on the
 * endpoint its first packet was DNATed to, even after the endpoint left
 * every service: delete those conntrack entries.  The ruleset is in the
 * kernel already, so a failure here is only a warning.
 */
void rt_flush_stale_udp(struct svcc_runtime *rt, const struct rs_ruleset *old,
			const struct rs_ruleset *new_rs)
{
	struct ct_stale *s = NULL;

	if (ct_stale_udp(old, new_rs, &s) ||
	    ct_flush_stale(s, &rt->stats.conntrack_deleted))
		diag_warning(rt->ctx, LOC_NONE, "conntrack cleanup: %s; UDP clients of removed "
			     "endpoints keep their entries until they time out", strerror(errno));
	ct_stale_free(s);
}

/*
 * Clients remembered (client-ip affinity) on an endpoint the apply removed
 * would keep going there until their entry times out: forget them, in one
 * more batch (through netlink also with SVCC_RT_VIA_NFT: the entries are
 * found by a netlink dump).  The ruleset is in the kernel already, so a
 * failure here is only a warning.
 */
void rt_forget_stale_affinity(struct svcc_runtime *rt, const struct rs_ruleset *old,
			      bool old_rules, const struct rs_ruleset *now)
{
	const struct rs_ruleset *kmap = rt->fpmap_true ? rt->fpmap : NULL;
	struct rs_ruleset *next = NULL;
	struct aff_check *c = NULL;

	if (aff_check_new(old, old_rules, now, &c) ||
	    aff_forget_stale(&rt->nl, c, &rt->genid, &rt->stats.affinity_deleted, kmap, &next)) {
		int err = errno;

		if (err == ERESTART)
			rt->stale = true;	/* changed underneath: read it again */
		diag_warning(rt->ctx, LOC_NONE, "affinity cleanup: %s; clients remembered on "
			     "removed endpoints keep going there until their entries time out",
			     strerror(err));
	}
	if (next)
		rt_keep_fpmap(rt, next);	/* it vouches on, at the cleanup's generation */
	aff_check_free(c);
}

int rt_resync(struct svcc_runtime *rt, bool trust)
{
	struct rs_ruleset *rs, *map;
	uint32_t genid;
	bool trusted;

	if (nl_read_table(&rt->nl, rt->table, trust, &rs, &map, &trusted, &genid)) {
		if (errno == EAGAIN)
			diag_error(rt->ctx, LOC_NONE, "read-back: the ruleset kept changing while "
				   "svcc was reading it; nothing was changed");
		else
			rt_report_errno(rt, "read-back", errno);
		return -1;
	}
	rs_free(rt->model);
	rt->model = rs;
	rs_free(rt->fpmap);
	rt->fpmap = map;
	rt->fpmap_true = trusted;
	for (size_t i = 0; rs && i < rs->nsets; i++)
		rt->sets_read += !rs->sets[i].unread && !rs->sets[i].dynamic && rs->sets[i].key_len;
	rt->chains_read += rs ? rs->nchains : 0;
	rt->owner_flags = rs ? rs->owner_flags : 0;
	rt->owner = rs ? rs->owner : 0;
	rt->owned = (rt->owner_flags & NL_TABLE_F_OWNER) && rt->owner == rt->nl.portid;
	rt->model_rules = false;	/* rules are not read back */
	upd_index_free(rt->idx);	/* it described the model */
	rt->idx = NULL;
	rt->genid = genid;
	rt->stale = false;
	return 0;
}

int svcc_runtime_resync(struct svcc_runtime *rt)
{
	return rt_resync(rt, true);
}

int svcc_runtime_new(struct svcc_ctx *ctx, const char *table, unsigned flags,
		     struct svcc_runtime **out)
{
	struct svcc_runtime *rt = calloc(1, sizeof(*rt));

	if (!rt) {
		diag_error(ctx, LOC_NONE, "runtime: %s", strerror(ENOMEM));
		return -1;
	}
	rt->ctx = ctx;
	rt->flags = flags;
	if ((flags & SVCC_RT_OWNER) && (flags & SVCC_RT_VIA_NFT)) {
		/* nft's own socket would own it, and close */
		diag_warning(ctx, LOC_NONE, "runtime: through nft the table cannot be owned; "
			     "it is not");
		rt->flags &= ~SVCC_RT_OWNER;
	}
	rt->table = strdup(table ? table : "svcc");
	if (!rt->table) {
		rt_report_errno(rt, "runtime", ENOMEM);
		goto fail;
	}
	if (nl_open(&rt->nl)) {
		rt_report_errno(rt, "netlink", errno);
		goto fail;
	}
	if (svcc_runtime_resync(rt))
		goto fail;
	*out = rt;
	return 0;
fail:
	svcc_runtime_free(rt);
	return -1;
}

uint32_t svcc_runtime_owner(const struct svcc_runtime *rt)
{
	return rt->owner_flags & NL_TABLE_F_OWNER ? rt->owner : 0;
}

void svcc_runtime_free(struct svcc_runtime *rt)
{
	if (!rt)
		return;
	nl_close(&rt->nl);
	upd_index_free(rt->idx);
	rs_free(rt->model);
	rs_free(rt->fpmap);
	free(rt->table);
	free(rt);
}

void rt_keep_fpmap(struct svcc_runtime *rt, struct rs_ruleset *next)
{
	rs_free(rt->fpmap);
	rt->fpmap = next;
	rt->fpmap_true = next != NULL;	/* what this runtime wrote */
}

/*
 * A read after the read-back failed (a set or chain it listed gone, a dump
 * interrupted).  When the generation moved since the model was read,
 * someone committed meanwhile: ERESTART, left unreported when
 * rt->restartable (svcc_runtime_apply reads again, once).  errno is err,
 * or ERESTART.
 */
static void read_failed(struct svcc_runtime *rt, int err)
{
	uint32_t gen;

	if (nl_getgen(&rt->nl, &gen) == 0 && gen != rt->genid) {
		if (!rt->restartable)
			diag_error(rt->ctx, LOC_NONE, "apply: the ruleset changed while svcc was "
				   "applying; nothing was changed");
		errno = ERESTART;
		return;
	}
	rt_report_errno(rt, "read-back", err);
	errno = err;
}

/*
 * The model as the diff sees it.  A set read back unread (the fingerprint
 * map vouched for it) whose fingerprint the desired set has too holds what
 * that set holds: the view lends it the desired set's elements.  Any other
 * unread set is read now: its elements are the ones the batch changes.
 * Chains left unread are resolved the same way, by group (view_chains).
 */
struct view {
	struct rs_ruleset rs;	/* its own arrays of sets and chains; the rest borrowed */
	bool own_chains;
};

static void view_free(struct view *v)
{
	free(v->rs.sets);
	if (v->own_chains)
		free(v->rs.chains);
	memset(v, 0, sizeof(*v));
}

static bool same_layout(const struct rs_set *a, const struct rs_set *b)
{
	return a->key_len == b->key_len && a->data_len == b->data_len && a->nkey == b->nkey &&
	       a->ndata == b->ndata && a->verdict == b->verdict && a->interval == b->interval &&
	       !memcmp(a->key, b->key, a->nkey * sizeof(a->key[0]));
}

/* More desired chains than this to ask for by name: read them all instead. */
#define ASK_MAX 1024

/* Push name to v[*n] unless there already (a handful: a walk). */
static void ask_once(const char **v, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(v[i], name))
			return;
	v[(*n)++] = name;
}

/*
 * Chains the kernel has and the desired ruleset has not (a service gone),
 * in the groups short[] whose answers fell short of the map's sum: the
 * verdict maps the view read back name them (as kept names, the chains
 * being unread).  Asked for by name and added to the view's k chains
 * (room for ASK_MAX more), their hashes to ksum.  0, or -1.
 */
static int view_gone_chains(struct svcc_runtime *rt, const struct rs_ruleset *want,
			    struct view *v, const bool *short_g, uint64_t *ksum, size_t *k)
{
	const char *ask[ASK_MAX];
	struct nl_chain *got;
	size_t nask = 0;

	for (size_t i = 0; i < v->rs.nsets; i++) {
		const struct rs_set *s = &v->rs.sets[i], *w = rs_set_find(want, s->name);

		if (!s->verdict || s->unread || (w && w->elems == s->elems))
			continue;	/* lent: the desired elements name desired chains */
		for (size_t j = 0; j < s->nelems; j++) {
			const char *name = rs_elem_at(s, j)->chain;

			if (!name || !short_g[st_chain_group(name)] || rs_chain_find(want, name))
				continue;
			if (nask == ASK_MAX)
				return 0;	/* too many: the caller reads them all */
			ask_once(ask, &nask, name);
		}
	}
	if (!nask)
		return 0;
	if (!(got = calloc(nask, sizeof(*got))) || nl_get_chains(&rt->nl, rt->table, ask, nask, got)) {
		if (got)
			read_failed(rt, errno);
		else
			rt_report_errno(rt, "read-back", ENOMEM);
		free(got);
		return -1;
	}
	rt->chains_read += nask;
	for (size_t a = 0; a < nask; a++) {
		struct rs_chain kc = got[a].c;
		unsigned g;

		if (!got[a].exists)
			continue;
		kc.name = (char *)ask[a];	/* the model keeps the string */
		ksum[st_chain_group(kc.name)] += st_chain_hash(&kc, &g);
		v->rs.chains[(*k)++] = kc;
	}
	free(got);
	return 0;
}

/*
 * The kernel's chains, unread, from the desired ones: a group whose sum the
 * map holds has exactly the desired chains; in another, each desired chain
 * is asked for, and when the answers do not add up to the group's sum the
 * kernel has chains the desired ruleset has not: those the verdicts read
 * back name are asked for too.  Returns 0, 1 when the chains must be read
 * whole, or -1.
 */
static int view_chains(struct svcc_runtime *rt, const struct rs_ruleset *want, struct view *v)
{
	size_t n = want->nchains, nask = 0, k = 0;
	uint64_t dsum[ST_CHAIN_GROUPS] = { 0 }, ksum[ST_CHAIN_GROUPS] = { 0 };
	uint64_t msum[ST_CHAIN_GROUPS] = { 0 };
	bool differs[ST_CHAIN_GROUPS], known[ST_CHAIN_GROUPS], short_g[ST_CHAIN_GROUPS];
	bool any_short = false;
	uint8_t *group = malloc(n + 1);
	const char **ask = malloc((n + 1) * sizeof(*ask));
	struct nl_chain *got = NULL;
	int ret = -1;

	if (!group || !ask ||
	    !(v->rs.chains = malloc((n + ASK_MAX + 1) * sizeof(*v->rs.chains)))) {
		rt_report_errno(rt, "apply", ENOMEM);
		goto out;
	}
	v->own_chains = true;
	for (size_t i = 0; i < n; i++) {
		unsigned g;
		uint64_t h = st_chain_hash(&want->chains[i], &g);

		dsum[g] += h;
		group[i] = (uint8_t)g;
	}
	for (unsigned g = 0; g < ST_CHAIN_GROUPS; g++) {
		known[g] = st_map_group(rt->fpmap, g, &msum[g]);
		differs[g] = !known[g] || msum[g] != dsum[g];
	}
	for (size_t i = 0; i < n; i++)
		if (differs[group[i]])
			ask[nask++] = want->chains[i].name;
	ret = 1;
	if (nask > ASK_MAX || !(got = calloc(nask + 1, sizeof(*got))))
		goto out;
	ret = -1;
	if (nask && nl_get_chains(&rt->nl, rt->table, ask, nask, got)) {
		read_failed(rt, errno);
		goto out;
	}
	rt->chains_read += nask;
	for (size_t i = 0, a = 0; i < n; i++) {
		const struct rs_chain *c = &want->chains[i];
		unsigned g;

		if (!differs[group[i]]) {
			v->rs.chains[k++] = *c;	/* the same chain: rules and all */
			continue;
		}
		if (got[a].exists) {
			struct rs_chain kc = got[a].c;

			kc.name = c->name;
			ksum[group[i]] += st_chain_hash(&kc, &g);
			v->rs.chains[k++] = kc;
		}
		a++;
	}
	for (unsigned g = 0; g < ST_CHAIN_GROUPS; g++) {
		short_g[g] = differs[g] && known[g] && ksum[g] != msum[g];
		any_short |= short_g[g];
	}
	if (any_short && view_gone_chains(rt, want, v, short_g, ksum, &k))
		goto out;
	ret = 0;
	for (unsigned g = 0; g < ST_CHAIN_GROUPS; g++)
		if (differs[g] && (!known[g] || ksum[g] != msum[g]))
			ret = 1;	/* chains the desired ruleset has not, or no sum: read them */
	v->rs.nchains = v->rs.chains_cap = k;
	v->rs.chains_unread = false;
out:
	free(group);
	free(ask);
	free(got);
	return ret;
}

static int check_rules(struct svcc_runtime *rt, const struct rs_ruleset *want)
{
	if (!rule_check(rt->model, want, rt->table))
		return 0;
	rt_report_errno(rt, "read-back", errno);
	return -1;
}

static int view_new(struct svcc_runtime *rt, const struct rs_ruleset *want, struct view *v)
{
	const struct rs_ruleset *m = rt->model;
	size_t *lazy = NULL, nlazy = 0;
	int ret = -1, r;

	memset(v, 0, sizeof(*v));
	if (check_rules(rt, want))
		return -1;
	v->rs = *m;
	v->rs.sets_cap = m->nsets;
	if (!(v->rs.sets = malloc((m->nsets + 1) * sizeof(*v->rs.sets))) ||
	    !(lazy = malloc((m->nsets + 1) * sizeof(*lazy)))) {
		rt_report_errno(rt, "apply", ENOMEM);
		goto out;
	}
	for (size_t i = 0; i < m->nsets; i++) {
		const struct rs_set *s = &m->sets[i], *w;

		v->rs.sets[i] = *s;
		if (!s->unread)
			continue;
		w = want->nsets ? rs_set_find(want, s->name) : NULL;	/* bsearch wants a base */
		if (w && same_layout(s, w) && st_set_hash(w) == s->fingerprint) {
			v->rs.sets[i].elems = w->elems;
			v->rs.sets[i].nelems = w->nelems;
			v->rs.sets[i].cap = 0;
			v->rs.sets[i].unread = false;
		} else {
			lazy[nlazy++] = i;
		}
	}
	if (nlazy) {
		bool chains_unread = m->chains_unread;

		if (nl_read_elems(&rt->nl, rt->model, lazy, nlazy)) {
			read_failed(rt, errno);
			rt->stale = true;
			goto out;
		}
		for (size_t k = 0; k < nlazy; k++)
			v->rs.sets[lazy[k]] = m->sets[lazy[k]];
		rt->sets_read += nlazy;
		if (chains_unread && !m->chains_unread)
			rt->chains_read += m->nchains;	/* a verdict map's elements name them */
		v->rs.chains = m->chains;
		v->rs.nchains = m->nchains;
		v->rs.chains_unread = m->chains_unread;
	}
	if (m->chains_unread) {
		r = view_chains(rt, want, v);
		if (r > 0) {
			/* read them whole */
			if (v->own_chains)
				free(v->rs.chains);
			v->own_chains = false;
			if (nl_read_chains(&rt->nl, rt->model)) {
				read_failed(rt, errno);
				rt->stale = true;
				goto out;
			}
			rt->chains_read += m->nchains;
			v->rs.chains = m->chains;
			v->rs.nchains = m->nchains;
			v->rs.chains_unread = false;
		} else if (r < 0) {
			rt->stale = true;
			goto out;
		}
	}
	ret = 0;
out:
	free(lazy);
	return ret;
}

const struct svcc_apply_stats *svcc_runtime_stats(const struct svcc_runtime *rt)
{
	return &rt->stats;
}

/* One line of nft text for an operation (a few of its elements at most). */
static void op_text(const struct tx *tx, const struct nl_result *res, char *buf, size_t len)
{
	size_t n = res->n > 3 ? 3 : res->n, j = 0;
	char *text = NULL;
	size_t tlen = 0;
	FILE *f = open_memstream(&text, &tlen);

	buf[0] = 0;
	if (!f)
		return;
	tx_render_op(tx, res->op, res->first, n ? n : 1, f);
	if (fclose(f) || !text)
		return;
	/* one line: "{\n\te,\n\te\n}\n" -> "{ e, e }" */
	for (size_t i = 0; text[i] && j + 1 < len; i++) {
		char c = text[i] == '\n' || text[i] == '\t' ? ' ' : text[i];

		if (c == ' ' && (j == 0 || buf[j - 1] == ' '))
			continue;
		buf[j++] = c;
	}
	while (j && buf[j - 1] == ' ')
		j--;
	buf[j] = 0;
	if (res->n > n && j > 2 && buf[j - 1] == '}')
		snprintf(buf + j - 1, len - (j - 1), "... (%zu more) }", res->n - n);
	free(text);
}

void rt_report_nl(struct svcc_runtime *rt, const struct tx *tx, const struct nl_result *res,
		  int err, enum svcc_severity sev, const char *then)
{
	char text[512];

	if (err == EPERM || err == EACCES) {
		rt_report_errno(rt, "apply", err);
	} else if (res->op && res->unsent) {
		op_text(tx, res, text, sizeof(text));
		diag_report(rt->ctx, sev, LOC_NONE, "apply: cannot build '%s': %s%s", text,
			    strerror(err), err == EOPNOTSUPP ? " by this runtime yet" : "");
	} else if (res->op) {
		op_text(tx, res, text, sizeof(text));
		diag_report(rt->ctx, sev, LOC_NONE, "apply: kernel rejected '%s': %s%s%s%s%s", text,
			    strerror(err), res->kmsg[0] ? " (" : "", res->kmsg,
			    res->kmsg[0] ? ")" : "", then);
	} else if (err == ERESTART) {
		diag_error(rt->ctx, LOC_NONE, "apply: the ruleset changed while svcc was "
			   "applying; nothing was changed");
	} else {
		rt_report_errno(rt, "apply", err);
	}
}

/*
 * Send tx as nft text through libnftables.  Refused: -3, and nft's words
 * in *why (for the caller to report).
 */
static int send_nft(const struct tx *tx, char **why)
{
	struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int ret = -1;

	if (!nft)
		return -1;
	if (nft_ctx_buffer_output(nft) || nft_ctx_buffer_error(nft))
		goto out;
	if (!(f = open_memstream(&text, &len)))
		goto out;
	if (tx_render(tx, f) | fclose(f))
		goto out;
	if (nft_run_cmd_from_buffer(nft, text)) {
		const char *e = nft_ctx_get_error_buffer(nft);
		size_t n = e ? strlen(e) : 0;

		while (n && e[n - 1] == '\n')
			n--;
		*why = strndup(e ? e : "", n);
		errno = EINVAL;
		ret = -3;
		goto out;
	}
	ret = 0;
out:
	free(text);
	nft_ctx_free(nft);
	return ret;
}

/*
 * Through nft the generation is compared by svcc, not by the kernel: two
 * svcc processes must not both compare and then commit.  They take turns
 * on a lock of the network namespace that dies with its holder (SIGKILL
 * included): an abstract unix socket name, bound by one at a time.  The
 * socket, or -1 when none could be had in a minute (then unguarded).
 */
static int nft_lock(const char *table)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "svcc-nft-lock/%s", table);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
				    ((size_t)n < sizeof(a.sun_path) - 1 ? (size_t)n
									 : sizeof(a.sun_path) - 2));

	if (fd < 0)
		return -1;
	for (int i = 0; i < 60000; i++) {
		if (bind(fd, (struct sockaddr *)&a, len) == 0)
			return fd;
		if (errno != EADDRINUSE)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
	close(fd);
	return -1;
}

/* Send tx as nft text, the generation compared before and after. */
static int send_tx_nft(struct svcc_runtime *rt, const struct tx *tx)
{
	uint32_t gen, next = rt->genid + 1 ? rt->genid + 1 : 1;	/* the kernel skips 0 */
	char *why = NULL;
	int ret;

	/*
	 * nft cannot pass a generation id: compare it ourselves, before and
	 * after.  Another commit in between (nft reads the table first,
	 * which takes a while) makes the text refused, or, worse, taken on
	 * top of the other ruleset: a mix of both.  Other svcc processes
	 * wait for the lock; anyone else's commit shows after (overlap).
	 */
	if (nl_getgen(&rt->nl, &gen))
		return -1;
	if (gen != rt->genid) {
		errno = ERESTART;
		return -1;
	}
	ret = send_nft(tx, &why);
	rt->stats.messages = tx->nops + 2;
	if (ret == -3) {
		/* refused whole: because the ruleset changed meanwhile? */
		if (nl_getgen(&rt->nl, &gen) == 0 && gen != rt->genid) {
			free(why);
			errno = ERESTART;
			return -1;
		}
		diag_error(rt->ctx, LOC_NONE, "apply: nft rejected the transaction: %s",
			   why ? why : strerror(ENOMEM));
		free(why);
		errno = EINVAL;
		return -2;
	}
	if (ret)
		return ret;
	if (nl_getgen(&rt->nl, &rt->genid))
		return -1;
	/* not ours alone: the caller reads back and makes it right */
	rt->overlap = rt->genid != next;
	return 0;
}

/*
 * Send one transaction.  Returns 0, -1 with errno and *res (not reported
 * yet), or -2 when already reported.  ERESTART: the generation moved since
 * the model was read: the caller re-reads and retries.
 */
int rt_send_tx(struct svcc_runtime *rt, const struct tx *tx, struct nl_result *res)
{
	if (rt->flags & SVCC_RT_VIA_NFT) {
		int lock = nft_lock(rt->table), ret, err;

		ret = send_tx_nft(rt, tx);
		err = errno;
		if (lock >= 0)
			close(lock);
		errno = err;
		return ret;
	}
	/*
	 * The generation guards the table against commits since it was read;
	 * an owned table has none but ours, and another table's commits
	 * (Docker's, firewalld's) must not cost a read-back.
	 */
	if (nl_send_tx(&rt->nl, tx, rt->owned || tx->table_new ? NULL : &rt->genid, res)) {
		rt->stats.messages = res->messages;
		return -1;
	}
	rt->stats.messages = res->messages;
	rt->genid = res->genid;
	return 0;
}

/* Make every chain of the model look unknown: the next diff rewrites them all. */
static void rs_forget_fingerprints(struct rs_ruleset *rs)
{
	for (size_t i = 0; rs && i < rs->nchains; i++)
		rs->chains[i].fingerprint = 0;
}

void rt_set_stats(struct svcc_runtime *rt, const struct tx *tx)
{
	rt->stats.added = tx->added;
	rt->stats.changed = tx->changed;
	rt->stats.deleted = tx->deleted;
}

/*
 * SVCC_RT_OWNER: the first batch this runtime sends makes the table its
 * own (NFT_TABLE_F_OWNER: its socket's) and kept after it (_PERSIST).  A
 * new table is made so; an orphan (persistent, its owner gone) is adopted
 * by asking for the flags; a table made without them is replaced whole in
 * the same batch, as the kernel changes neither flag of a table.  *old
 * becomes NULL then.  0, or -1 (ENOMEM).
 */
static int claim_table(struct svcc_runtime *rt, struct tx **tx, const struct rs_ruleset **old,
		       const struct rs_ruleset *want)
{
	enum tx_kind kind = TX_ADD_TABLE;
	struct tx_op op;

	(*tx)->table_flags = NL_TABLE_F_OWNER | NL_TABLE_F_PERSIST;
	if (!*old)
		return 0;	/* made with them */
	if (!(rt->owner_flags & NL_TABLE_F_PERSIST)) {
		struct tx *whole = tx_diff(NULL, want);

		if (!whole)
			return -1;
		tx_free(*tx);
		*tx = whole;
		whole->table_flags = NL_TABLE_F_OWNER | NL_TABLE_F_PERSIST;
		*old = NULL;
		kind = TX_DEL_TABLE;
	} else {
		for (size_t i = 0; i < (*tx)->nops; i++)
			if ((*tx)->ops[i].kind == TX_ADD_TABLE)
				return 0;
	}
	/* first in the batch: appended, then moved there */
	if (!tx_push_op(*tx, kind, want))
		return -1;
	op = (*tx)->ops[(*tx)->nops - 1];
	memmove(&(*tx)->ops[1], &(*tx)->ops[0], ((*tx)->nops - 1) * sizeof(op));
	(*tx)->ops[0] = op;
	return 0;
}

int svcc_runtime_apply(struct svcc_runtime *rt, const struct svcc_ruleset *rs)
{
	double t0 = rt_now();
	struct rs_ruleset *copy = NULL, *next = NULL;
	struct view view = { 0 };
	struct aligned al = { 0 };
	const struct rs_ruleset *want = rs->rs;
	struct tx *tx = NULL;
	bool restarted = false, repaired = false, reasserted = false, claim = false;
	int ret = -1;

	memset(&rt->stats, 0, sizeof(rt->stats));
	rt->overlap = false;
	if (strcmp(rs->rs->table, rt->table)) {
		diag_error(rt->ctx, LOC_NONE, "apply: the ruleset is for table '%s', "
			   "the runtime for '%s'", rs->rs->table, rt->table);
		errno = EINVAL;
		return -1;
	}
	if (rt->stale && svcc_runtime_resync(rt))
		goto out;
	for (;;) {
		const struct rs_ruleset *old = NULL;
		struct nl_result res = { 0 };
		int r, err;

		tx_free(tx);
		tx = NULL;
		slots_aligned_free(&al);
		rs_free(next);
		next = NULL;
		view_free(&view);
		if (rt->model) {
			rt->restartable = !restarted;
			r = view_new(rt, rs->rs, &view);
			rt->restartable = false;
			if (r && errno == ERESTART && !restarted) {
				/* changed while read: read again, once */
				restarted = true;
				view_free(&view);
				if (rt_resync(rt, true))
					goto out;
				continue;
			}
			if (r)
				goto out;
			old = &view.rs;
		}
		/* the kernel's endpoint slots kept (slots.h) */
		if (slots_align(old, rs->rs, &al))
			goto oom;
		want = al.rs;
		if (!(tx = tx_diff(old, want)))
			goto oom;
		/* no table yet: create it, or fail if one came meanwhile */
		tx->table_new = !old;
		claim = (rt->flags & SVCC_RT_OWNER) && !rt->owned;
		if (claim && claim_table(rt, &tx, &old, want))
			goto oom;
		if (rt->owned)
			tx->table_flags = NL_TABLE_F_OWNER | NL_TABLE_F_PERSIST;
		rt_set_stats(rt, tx);
		/*
		 * Nothing to change, and the map vouches for the table: done.  If
		 * it does not (someone else committed), the table was read whole
		 * (the model is a read-back, not what this runtime applied) and
		 * found right: the map is put right too, so that the next
		 * apply need not read everything again.
		 */
		if (tx_empty(tx) && (rt->fpmap_true || !old || rt->model_rules)) {
			ret = 0;
			goto out;
		}
		if (st_append(tx, old, rt->fpmap, rt->fpmap_true, rt->genid, &next))
			goto oom;
		if (tx_empty(tx)) {
			ret = 0;
			goto out;
		}
		/* copy first: once the kernel took it, keeping it cannot fail */
		rs_free(copy);
		copy = NULL;
		if (!(rt->flags & SVCC_RT_ONE_SHOT) && !(copy = rs_clone(want)))
			goto oom;
		if (copy)
			st_stamp(copy, next);
		r = rt_send_tx(rt, tx, &res);
		if (r == 0) {
			struct rs_ruleset *prev = rt->model;
			bool old_rules = rt->model_rules;

			tx_free(tx);
			tx = NULL;
			if (claim) {
				rt->owned = true;
				rt->owner_flags = NL_TABLE_F_OWNER | NL_TABLE_F_PERSIST;
				rt->owner = rt->nl.portid;
			}
			rt_keep_fpmap(rt, next);
			next = NULL;
			rt_flush_stale_udp(rt, old, want);
			/* one shot: what was applied is not kept; a next apply reads */
			rt->model = copy;
			rt->model_rules = copy != NULL;
			rt->stale = copy == NULL;
			copy = NULL;
			upd_index_free(rt->idx);	/* for another config */
			rt->idx = NULL;
			rt_forget_stale_affinity(rt, old, old_rules, want);
			view_free(&view);
			rs_free(prev);
			if (rt->overlap) {
				/*
				 * Through nft: another commit came beside ours,
				 * which may have gone onto its ruleset.  Read
				 * everything back and make it right, once.
				 */
				rt->overlap = false;
				if (!reasserted) {
					reasserted = true;
					if (rt_resync(rt, false))
						goto out;
					continue;
				}
				diag_error(rt->ctx, LOC_NONE, "apply: the ruleset changed while svcc "
					   "was applying through nft; the table may hold part of "
					   "another ruleset: apply again");
				rt->stale = true;
				goto out;
			}
			ret = 0;
			goto out;
		}
		err = errno;
		if (r == -1 && claim && err == EOPNOTSUPP && res.op && res.op->kind == TX_ADD_TABLE) {
			/* before Linux 6.9: no persistent table, so no owner either
			 * (the table would go with the agent, and traffic with it) */
			diag_warning(rt->ctx, LOC_NONE, "apply: this kernel cannot keep an owned "
				     "table (Linux 6.9 or later can): table inet %s is not owned",
				     rt->table);
			rt->flags &= ~SVCC_RT_OWNER;
		} else if (r == -1 && !restarted &&
			   (err == ERESTART || (err == EEXIST && tx->table_new && res.op &&
						res.op->kind == TX_ADD_TABLE))) {
			/* someone changed the ruleset since we read it, or made the
			 * table we were creating: read again, once */
			restarted = true;
		} else if (r == -1 && res.op && !res.unsent && !repaired && err != EPERM &&
			   err != EACCES) {
			/*
			 * Drift the read-back did not see (it reads the rules only
			 * when nothing vouches for the table): a rule added
			 * underneath (a jump into a chain svcc deletes) shows when
			 * the kernel refuses.  Rewrite every chain whole, once;
			 * the refused batch changed nothing.
			 */
			rt_report_nl(rt, tx, &res, err, SVCC_WARNING, "; rewriting every chain");
			repaired = true;
		} else {
			if (r == -1)
				rt_report_nl(rt, tx, &res, err, SVCC_ERROR, "");
			rt->stale = true;
			goto out;
		}
		view_free(&view);
		/* a repair reads everything: the map may vouch for what drifted */
		if (rt_resync(rt, !repaired))
			goto out;
		if (repaired)
			rs_forget_fingerprints(rt->model);
	}
oom:
	rt_report_errno(rt, "apply", ENOMEM);
out:
	rt->stats.seconds = rt_now() - t0;
	rt->stats.sets_read = rt->sets_read;
	rt->stats.chains_read = rt->chains_read;
	rt->sets_read = rt->chains_read = 0;
	tx_free(tx);
	slots_aligned_free(&al);
	rs_free(next);
	view_free(&view);
	rs_free(copy);
	return ret;
}

int svcc_runtime_plan(struct svcc_runtime *rt, const struct svcc_ruleset *rs, FILE *out)
{
	struct rs_ruleset *next = NULL;
	struct view view = { 0 };
	struct aligned al = { 0 };
	struct tx *tx;
	int ret;

	if (rt->stale && svcc_runtime_resync(rt))
		return -1;
	if (rt->model && view_new(rt, rs->rs, &view))
		return -1;
	if (slots_align(rt->model ? &view.rs : NULL, rs->rs, &al)) {
		rt_report_errno(rt, "plan", ENOMEM);
		view_free(&view);
		return -1;
	}
	/* with the fingerprint map's part: what apply would send */
	if (!(tx = tx_diff(rt->model ? &view.rs : NULL, al.rs)) ||
	    st_append(tx, rt->model ? &view.rs : NULL, rt->fpmap, rt->fpmap_true, rt->genid,
		      &next)) {
		rt_report_errno(rt, "plan", ENOMEM);
		tx_free(tx);
		slots_aligned_free(&al);
		view_free(&view);
		return -1;
	}
	rt_set_stats(rt, tx);
	ret = tx_render(tx, out);
	if (ret)
		rt_report_errno(rt, "plan", errno ? errno : EIO);
	tx_free(tx);
	slots_aligned_free(&al);
	rs_free(next);
	view_free(&view);
	return ret;
}

/*
 * The differences as a diff: "- " before what the kernel has and the
 * config has not (deletions, flushes), "+ " before what it lacks.
 */
static int write_differences(const struct tx *tx, FILE *out)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	char sign = '+';
	int ret = -1;

	if (!f)
		return -1;
	if (tx_render(tx, f) | fclose(f))
		goto out;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "delete ", 7) || !strncmp(line, "flush ", 6))
			sign = '-';
		else if (!strncmp(line, "add ", 4))
			sign = '+';
		if (fprintf(out, "%c %s\n", sign, line) < 0)
			goto out;
	}
	ret = 0;
out:
	free(text);
	return ret;
}

int svcc_runtime_verify(struct svcc_runtime *rt, const struct svcc_ruleset *rs, FILE *out)
{
	struct view view = { 0 };
	struct aligned al = { 0 };
	struct tx *tx = NULL;
	int ret = -1;

	memset(&rt->stats, 0, sizeof(rt->stats));
	/* everything, rules included: no fingerprint vouches for anything */
	if (rt_resync(rt, false))
		return -1;
	/* though the map may vouch for the next apply, read or not */
	rt->fpmap_true = st_map_vouches(rt->fpmap, rt->genid);
	if (!rt->model) {
		ret = fprintf(out, "table inet %s does not exist\n", rt->table) < 0 ? -1 : 1;
		goto out;
	}
	if (view_new(rt, rs->rs, &view))
		goto out;
	/* behaviour is compared, not slot numbers: the kernel's arrangement kept */
	if (slots_align(&view.rs, rs->rs, &al) || !(tx = tx_diff(&view.rs, al.rs))) {
		rt_report_errno(rt, "verify", ENOMEM);
		goto out;
	}
	rt_set_stats(rt, tx);
	ret = tx_empty(tx) ? 0 : 1;
	if (ret && write_differences(tx, out)) {
		rt_report_errno(rt, "verify", errno ? errno : EIO);
		ret = -1;
	}
out:
	rt->stats.sets_read = rt->sets_read;
	rt->stats.chains_read = rt->chains_read;
	rt->sets_read = rt->chains_read = 0;
	tx_free(tx);
	slots_aligned_free(&al);
	view_free(&view);
	return ret;
}

int svcc_runtime_delete_table(struct svcc_runtime *rt)
{
	struct nl_result res = { 0 };
	struct tx *tx;
	int ret = 0, r;

	memset(&rt->stats, 0, sizeof(rt->stats));
	if (svcc_runtime_resync(rt))
		return -1;
	if (!rt->model)
		return 0;	/* nothing to delete */
	if (!(tx = tx_delete_table(rt->table))) {
		rt_report_errno(rt, "delete", ENOMEM);
		return -1;
	}
	rt_set_stats(rt, tx);
	r = rt_send_tx(rt, tx, &res);
	if (r) {
		if (r == -1)
			rt_report_nl(rt, tx, &res, errno, SVCC_ERROR, "");
		rt->stale = true;
		ret = -1;
	} else {
		rs_free(rt->model);
		rt->model = NULL;
		rt_keep_fpmap(rt, NULL);
		rt->model_rules = false;
		upd_index_free(rt->idx);
		rt->idx = NULL;
	}
	tx_free(tx);
	return ret;
}
