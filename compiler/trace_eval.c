/* SPDX-License-Identifier: MIT */
/*
 * The first packet of a new connection through the ruleset model, hook by
 * hook, as netfilter takes it: base chains of a hook by priority, jump and
 * goto with a return stack, sets and maps looked up by the same key bytes
 * the kernel compares.  numgen forks the walk: one state per value, each
 * with its share, carried on a work list to the end.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "trace.h"
#include "util.h"

#define TR_DEPTH 16	/* nft allows 16 levels of jumps */

struct frame {
	const struct rs_chain *chain;
	size_t rule;
};

struct state {
	struct tr_pkt p;
	double share;
	enum rs_hook hook;		/* the hook being walked */
	size_t base;			/* its base chains walked so far */
	struct frame at;		/* the rule to look at next */
	struct frame stack[TR_DEPTH];	/* where a jump returns */
	int depth;
	char *path;
	size_t path_len;
};

struct walk {
	const struct tr_env *env;
	struct state **todo;
	size_t ntodo, todo_cap;
	struct tr_outcome *out;
	size_t nout, out_cap;
};

static int path_add(struct state *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int path_add(struct state *s, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(p = realloc(s->path, s->path_len + (size_t)n + 1)))
		return -1;
	s->path = p;
	va_start(ap, fmt);
	vsnprintf(p + s->path_len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	s->path_len += (size_t)n;
	return 0;
}

static struct state *state_clone(const struct state *s)
{
	struct state *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *s;
	c->path = malloc(s->path_len + 1);
	if (!c->path) {
		free(c);
		return NULL;
	}
	memcpy(c->path, s->path ? s->path : "", s->path_len + 1);
	return c;
}

static void state_free(struct state *s)
{
	if (s) {
		free(s->path);
		free(s);
	}
}

static size_t addr_len(enum rs_family f)
{
	return f == RS_IPV6 ? 16 : 4;
}

/* Is a the node's own (the routing decision's "local")? */
static bool is_local(const struct tr_env *env, const struct tr_pkt *p, const uint8_t *a)
{
	static const uint8_t lo6[16] = { [15] = 1 };

	if (p->fam == RS_IPV4 ? a[0] == 127 : !memcmp(a, lo6, 16))
		return true;
	for (size_t i = 0; i < env->nlocal; i++)
		if (!memcmp(env->local[i], a, addr_len(p->fam)))
			return true;
	return false;
}

/*
 * The hook after h, by the routing decision on the packet as it is then:
 * in by an interface, prerouting, then input (for the node) or forward and
 * postrouting; sent by the node, output, postrouting, and input when it is
 * for the node itself (over lo).  RS_HOOK_NONE: the packet has arrived.
 */
static enum rs_hook next_hook(const struct tr_env *env, const struct tr_pkt *p, enum rs_hook h)
{
	bool local = is_local(env, p, p->daddr);

	switch (h) {
	case RS_HOOK_NONE:
		return env->from == SVCC_FROM_NODE ? RS_HOOK_OUTPUT : RS_HOOK_PREROUTING;
	case RS_HOOK_PREROUTING:
		return local ? RS_HOOK_INPUT : RS_HOOK_FORWARD;
	case RS_HOOK_FORWARD:
		return RS_HOOK_POSTROUTING;
	case RS_HOOK_OUTPUT:
		return RS_HOOK_POSTROUTING;
	case RS_HOOK_POSTROUTING:
		return env->from == SVCC_FROM_NODE && local ? RS_HOOK_INPUT : RS_HOOK_NONE;
	case RS_HOOK_INPUT:
		break;
	}
	return RS_HOOK_NONE;
}

/* The k-th base chain of hook h by priority (ties: in the ruleset's order), or NULL. */
static const struct rs_chain *base_chain(const struct rs_ruleset *rs, enum rs_hook h, size_t k)
{
	const struct rs_chain *prev = NULL;

	/* a handful of base chains: select the k-th smallest (priority, index) */
	for (size_t n = 0; n <= k; n++) {
		const struct rs_chain *best = NULL;

		for (size_t i = 0; i < rs->nchains; i++) {
			const struct rs_chain *c = &rs->chains[i];

			if (c->hook != h)
				continue;
			if (prev && (c->priority < prev->priority ||
				     (c->priority == prev->priority && c <= prev)))
				continue;
			if (!best || c->priority < best->priority)
				best = c;
		}
		if (!best)
			return NULL;
		prev = best;
	}
	return prev;
}

/* ---- set lookups ----------------------------------------------------------- */

enum val { V_SADDR, V_DADDR, V_PROTO, V_DPORT, V_DADDR_LOW };

/* The key of set s for these packet fields, in the element layout. */
static void make_key(const struct rs_set *s, const struct tr_pkt *p, const enum val *v, int n,
		     uint8_t *key)
{
	size_t off = 0;

	memset(key, 0, RS_KEY_MAX);
	for (int i = 0; i < n && i < s->nkey; i++) {
		size_t len = rs_field_len(s->key[i]), al = addr_len(p->fam);

		switch (v[i]) {
		case V_SADDR:
			memcpy(key + off, p->saddr, al < len ? al : len);
			break;
		case V_DADDR:
			memcpy(key + off, p->daddr, al < len ? al : len);
			break;
		case V_DADDR_LOW:	/* daddr & 0.0.0.255 (::ff) */
			key[off + al - 1] = p->daddr[al - 1];
			break;
		case V_PROTO:
			key[off] = p->proto;
			break;
		case V_DPORT:
			key[off] = (uint8_t)(p->dport >> 8);
			key[off + 1] = (uint8_t)p->dport;
			break;
		}
		off += len;
	}
}

/* Does the prefix of plen bits of b cover a's? */
static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (memcmp(a, b, full))
		return false;
	return !rest || ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* The element of s whose key matches, or NULL; interval sets: the last field by prefix. */
static const struct rs_elem *lookup_key(const struct rs_set *s, const uint8_t *key)
{
	size_t last = 0;

	if (!s || s->dynamic)	/* filled by packets: empty for a new client */
		return NULL;
	for (int i = 0; i + 1 < s->nkey; i++)
		last += rs_field_len(s->key[i]);
	for (size_t i = 0; i < s->nelems; i++) {
		const struct rs_elem *e = rs_elem_at(s, i);

		if (!s->interval) {
			if (!memcmp(e->key, key, s->key_len))
				return e;
		} else if (!memcmp(e->key, key, last) &&
			   prefix_match(key + last, e->key + last, e->prefix)) {
			return e;
		}
	}
	return NULL;
}

static const struct rs_elem *lookup(const struct tr_env *env, const char *set,
				    const struct tr_pkt *p, const enum val *v, int n)
{
	const struct rs_set *s = set ? rs_set_find(env->rs, set) : NULL;
	uint8_t key[RS_KEY_MAX];

	if (!s)
		return NULL;
	make_key(s, p, v, n, key);
	return lookup_key(s, key);
}

static bool in_set(const struct tr_env *env, const char *set, const struct tr_pkt *p,
		   const enum val *v, int n)
{
	return lookup(env, set, p, v, n) != NULL;
}

bool tr_addr_in_set(const struct rs_ruleset *rs, const char *set, enum rs_family fam,
		    const uint8_t *addr)
{
	struct tr_env env = { .rs = rs };
	struct tr_pkt p = { .fam = fam };

	memcpy(p.saddr, addr, addr_len(fam));
	return lookup(&env, set, &p, (const enum val[]){ V_SADDR }, 1) != NULL;
}

#define VALS(...) (const enum val[]){ __VA_ARGS__ }, (int)(sizeof((enum val[]){ __VA_ARGS__ }) / sizeof(enum val))

/* ---- rules ----------------------------------------------------------------- */

enum act { A_NEXT, A_JUMP, A_GOTO, A_ACCEPT, A_DROP, A_RESET, A_UNREACH, A_FORK, A_ERROR };

/* Do the rule's expressions name an address family ("ip ...", "dnat ip"): then it matches that family only. */
static bool family_bound(enum rs_rule_kind k)
{
	switch (k) {
	case RS_JUMP:
	case RS_JUMP_IF_NEW_NO_DNAT:
	case RS_GOTO:
	case RS_MARK:
	case RS_MASQ_MARKED:
	case RS_DROP:
	case RS_NUMGEN_VMAP:
	case RS_MARK_UNLESS_IIF:
	case RS_GOTO_IF_IIF:
		return false;
	default:
		return true;
	}
}

static bool iif_match(const struct tr_pkt *p, const struct rs_rule *r)
{
	const char *name = (const char *)r->addr;
	size_t n = strnlen(name, 16);

	return r->mod ? !strncmp(p->iif, name, n) : !strncmp(p->iif, name, 16) && strlen(p->iif) == n;
}

static void dnat(struct tr_pkt *p, const uint8_t *addr, uint16_t port)
{
	memcpy(p->daddr, addr, addr_len(p->fam));
	p->dport = port;
	p->dnat = true;
}

/* Data "ADDR . PORT" of an endpoint map element. */
static void dnat_elem(struct tr_pkt *p, const struct rs_set *s, const struct rs_elem *e)
{
	const uint8_t *d = rs_elem_data(s, e);
	size_t al = addr_len(p->fam);

	dnat(p, d, (uint16_t)(d[al] << 8 | d[al + 1]));
}

/*
 * What rule r does to s's packet.  A_JUMP, A_GOTO: to *target.  A_FORK:
 * numgen; the walk forks (fork_rule).
 */
static enum act eval_rule(const struct tr_env *env, struct state *s, const struct rs_rule *r,
			  const char **target)
{
	struct tr_pkt *p = &s->p;
	const struct rs_elem *e;

	if (family_bound(r->kind) && r->family != p->fam)
		return A_NEXT;
	switch (r->kind) {
	case RS_JUMP_IF_NEW_NO_DNAT:	/* the packet traced is a connection's first */
		if (p->dnat)
			return A_NEXT;
		*target = r->target;
		return A_JUMP;
	case RS_JUMP:
		*target = r->target;
		return A_JUMP;
	case RS_GOTO:
		*target = r->target;
		return A_GOTO;
	case RS_DISPATCH:
		if (!(e = lookup(env, r->set, p, VALS(V_DADDR, V_PROTO, V_DPORT))))
			return A_NEXT;
		*target = e->chain;
		return A_GOTO;
	case RS_MARK_UNLESS_SADDR_IN:
		if (!in_set(env, r->set, p, VALS(V_SADDR)))
			p->mark |= r->mark;
		return A_NEXT;
	case RS_MARK_IF_SADDR_IN:
		if (in_set(env, r->set, p, VALS(V_SADDR)))
			p->mark |= r->mark;
		return A_NEXT;
	case RS_MARK:
		p->mark |= r->mark;
		return A_NEXT;
	case RS_MARK_UNLESS_IIF:
		if (!iif_match(p, r))
			p->mark |= r->mark;
		return A_NEXT;
	case RS_GOTO_IF_IIF:
		if (!iif_match(p, r))
			return A_NEXT;
		*target = r->target;
		return A_GOTO;
	case RS_GOTO_IF_SADDR_IN:
		if (!in_set(env, r->set, p, VALS(V_SADDR)))
			return A_NEXT;
		*target = r->target;
		return A_GOTO;
	case RS_JUMP_IF_DADDR_IN:
		if (!in_set(env, r->set, p, VALS(V_DADDR)))
			return A_NEXT;
		*target = r->target;
		return A_JUMP;
	case RS_DNAT_NUMGEN:
		return p->proto == r->l4proto ? A_FORK : A_NEXT;
	case RS_NUMGEN_VMAP:
		return A_FORK;
	case RS_AFFINITY_REFRESH:	/* the dynamic map: no entry for a new client */
	case RS_AFFINITY_DNAT:
	case RS_AFFINITY_UPDATE:	/* remembers the choice: the verdict is the next rule's */
		return A_NEXT;
	case RS_DNAT_TO:
		if (p->proto != r->l4proto)
			return A_NEXT;
		dnat(p, r->addr, r->port);
		return A_ACCEPT;
	case RS_REJECT_TCP_IF_DEST_IN:
		return p->proto == IPPROTO_TCP &&
		       in_set(env, r->set, p, VALS(V_DADDR, V_PROTO, V_DPORT)) ? A_RESET : A_NEXT;
	case RS_REJECT_IF_DEST_IN:
		return in_set(env, r->set, p, VALS(V_DADDR, V_PROTO, V_DPORT)) ? A_UNREACH : A_NEXT;
	case RS_REJECT_TCP_IF_DADDR_IN:
		return p->proto == IPPROTO_TCP && in_set(env, r->set, p, VALS(V_DADDR)) ? A_RESET : A_NEXT;
	case RS_REJECT_IF_DADDR_IN:
		return in_set(env, r->set, p, VALS(V_DADDR)) ? A_UNREACH : A_NEXT;
	case RS_DROP_IF_DADDR_IN:
		return in_set(env, r->set, p, VALS(V_DADDR)) ? A_DROP : A_NEXT;
	case RS_REJECT_TCP_IF_PORT_IN:
		return p->proto == IPPROTO_TCP && in_set(env, r->set, p, VALS(V_PROTO, V_DPORT))
		       ? A_RESET : A_NEXT;
	case RS_REJECT_IF_PORT_IN:
		return in_set(env, r->set, p, VALS(V_PROTO, V_DPORT)) ? A_UNREACH : A_NEXT;
	case RS_MASQ_MARKED:
		if ((p->mark & r->mark) != r->mark)
			return A_NEXT;
		p->mark &= ~r->mark;
		p->masq = true;
		return A_ACCEPT;
	case RS_MASQ_HAIRPIN:
		if (!p->dnat || !in_set(env, r->set, p, VALS(V_SADDR, V_DADDR)))
			return A_NEXT;
		p->masq = true;
		return A_ACCEPT;
	case RS_HAIRPIN_DISPATCH:
		if (!p->dnat || !(e = lookup(env, r->set, p, VALS(V_DADDR_LOW))))
			return A_NEXT;
		*target = e->chain;
		return A_GOTO;
	case RS_NODEPORT_DISPATCH:
		if (r->set ? !in_set(env, r->set, p, VALS(V_DADDR)) : !is_local(env, p, p->daddr))
			return A_NEXT;
		if (!(e = lookup(env, r->set2, p, VALS(V_PROTO, V_DPORT))))
			return A_NEXT;
		*target = e->chain;
		return A_GOTO;
	case RS_FIREWALL:
		if (!in_set(env, r->set, p, VALS(V_DADDR, V_PROTO, V_DPORT)) ||
		    in_set(env, r->set2, p, VALS(V_DADDR, V_PROTO, V_DPORT, V_SADDR)))
			return A_NEXT;
		return A_DROP;
	case RS_DROP:
		return A_DROP;
	default:
		/* a rule kind this model does not know: no guess */
		errno = ENOTSUP;
		return A_ERROR;
	}
}

/* ---- the walk -------------------------------------------------------------- */

static int push(struct walk *w, struct state *s)
{
	if (VEC_RESERVE(w->todo, w->ntodo, w->todo_cap)) {
		state_free(s);
		return -1;
	}
	w->todo[w->ntodo++] = s;
	return 0;
}

/* A walk that ended: its outcome (s is freed). */
static int finish(struct walk *w, struct state *s, enum svcc_trace_verdict v, bool local)
{
	struct tr_outcome *o;

	if (VEC_RESERVE(w->out, w->nout, w->out_cap)) {
		state_free(s);
		return -1;
	}
	o = &w->out[w->nout++];
	o->verdict = v;
	o->share = s->share;
	o->pkt = s->p;
	o->local = local;
	o->path = s->path ? s->path : strdup("");
	free(s);
	return o->path ? 0 : -1;
}

/* Enter the next base chain of the hook, or the next hook.  1: s arrived (or ended); 0: walking. */
static int next_base(struct walk *w, struct state *s)
{
	const struct rs_chain *c;

	for (;;) {
		if (s->hook != RS_HOOK_NONE && (c = base_chain(w->env->rs, s->hook, s->base))) {
			s->at = (struct frame){ c, 0 };
			s->depth = 0;
			if (s->base++ ? path_add(s, " | %s", c->name)
				      : path_add(s, "%s%s: %s", s->path_len ? "; " : "",
						 rs_hook_name(s->hook), c->name)) {
				state_free(s);
				return -1;
			}
			return 0;
		}
		if (s->hook == RS_HOOK_INPUT) {
			return finish(w, s, s->p.dnat ? SVCC_TRACE_DNAT : SVCC_TRACE_ACCEPT,
				      true) ? -1 : 1;
		}
		s->hook = next_hook(w->env, &s->p, s->hook);
		s->base = 0;
		if (s->hook == RS_HOOK_NONE)
			return finish(w, s, s->p.dnat ? SVCC_TRACE_DNAT : SVCC_TRACE_ACCEPT,
				      false) ? -1 : 1;
	}
}

/* A numgen rule: one state per value, each 1/mod of s's share, pushed; s is freed. */
static int fork_rule(struct walk *w, struct state *s, const struct rs_rule *r)
{
	const struct rs_set *set = rs_set_find(w->env->rs, r->set);
	uint8_t key[RS_KEY_MAX] = { 0 };
	int rc = 0;

	for (uint32_t k = 0; k < r->mod && rc == 0; k++) {
		uint32_t v = r->offset + k;
		const struct rs_elem *e;
		struct state *c;

		memcpy(key, &v, 4);	/* numgen yields host order */
		e = set ? lookup_key(set, key) : NULL;
		if (!(c = state_clone(s))) {
			rc = -1;
			break;
		}
		c->share = s->share / r->mod;
		c->at.rule++;
		if (!e) {
			/* the map has no such value: the rule does not match */
		} else if (r->kind == RS_NUMGEN_VMAP) {
			c->at = (struct frame){ rs_chain_find(w->env->rs, e->chain), 0 };
			if (!c->at.chain || path_add(c, " > %s", e->chain)) {
				state_free(c);
				rc = -1;
				break;
			}
		} else {
			dnat_elem(&c->p, set, e);
			c->at.rule = c->at.chain->nrules;	/* accepted: the base chain ends */
			c->depth = 0;
		}
		rc = push(w, c);
	}
	state_free(s);
	return rc;
}

static enum svcc_trace_verdict verdict_of(enum act a)
{
	return a == A_RESET ? SVCC_TRACE_RESET : a == A_UNREACH ? SVCC_TRACE_UNREACHABLE
								 : SVCC_TRACE_DROP;
}

/* Walk s until it ends or forks.  0, or -1 (errno). */
static int run(struct walk *w, struct state *s)
{
	for (;;) {
		const struct rs_chain *c = s->at.chain;
		const struct rs_rule *r;
		const char *target = NULL;
		enum act a;

		if (!c || s->at.rule >= c->nrules) {
			if (c && s->depth > 0) {
				s->at = s->stack[--s->depth];
				continue;
			}
			/* the base chain ends: its policy, accept */
			int rc = next_base(w, s);

			if (rc)
				return rc < 0 ? -1 : 0;
			continue;
		}
		r = &c->rules[s->at.rule];
		a = eval_rule(w->env, s, r, &target);
		switch (a) {
		case A_NEXT:
			s->at.rule++;
			break;
		case A_JUMP:
		case A_GOTO:
			if (a == A_JUMP) {
				if (s->depth == TR_DEPTH) {
					errno = ELOOP;
					state_free(s);
					return -1;
				}
				s->stack[s->depth++] = (struct frame){ c, s->at.rule + 1 };
			}
			s->at = (struct frame){ rs_chain_find(w->env->rs, target), 0 };
			if (!s->at.chain) {
				errno = ENOENT;
				state_free(s);
				return -1;
			}
			if (path_add(s, " > %s", target)) {
				state_free(s);
				return -1;
			}
			break;
		case A_ACCEPT:	/* this base chain is done */
			s->at.rule = c->nrules;
			s->depth = 0;
			break;
		case A_FORK:
			return fork_rule(w, s, r);
		case A_DROP:
		case A_RESET:
		case A_UNREACH:
			return finish(w, s, verdict_of(a), false);
		case A_ERROR:
			state_free(s);
			return -1;
		}
	}
}

static int outcome_cmp(const void *a, const void *b)
{
	const struct tr_outcome *x = a, *y = b;
	int d;

	if (x->verdict != y->verdict)
		return (int)x->verdict - (int)y->verdict;
	if ((d = memcmp(x->pkt.daddr, y->pkt.daddr, 16)))
		return d;
	if (x->pkt.dport != y->pkt.dport)
		return x->pkt.dport - y->pkt.dport;
	if (x->pkt.masq != y->pkt.masq)
		return x->pkt.masq - y->pkt.masq;
	if (x->local != y->local)
		return x->local - y->local;
	return strcmp(x->path, y->path);
}

/* Sort, and sum the shares of equal outcomes into one. */
static void merge(struct tr_outcome *v, size_t *n)
{
	size_t k = 0;

	qsort(v, *n, sizeof(*v), outcome_cmp);
	for (size_t i = 0; i < *n; i++) {
		if (k && !outcome_cmp(&v[k - 1], &v[i])) {
			v[k - 1].share += v[i].share;
			free(v[i].path);
			continue;
		}
		v[k++] = v[i];
	}
	*n = k;
}

void tr_outcomes_free(struct tr_outcome *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

int tr_eval(const struct tr_env *env, const struct tr_pkt *pkt, struct tr_outcome **out,
	    size_t *n)
{
	struct walk w = { .env = env };
	struct state *s = calloc(1, sizeof(*s));
	int rc = 0;

	if (!s)
		return -1;
	s->p = *pkt;
	s->share = 1.0;
	s->hook = RS_HOOK_NONE;
	s->at.chain = NULL;
	rc = push(&w, s);
	while (rc == 0 && w.ntodo)
		rc = run(&w, w.todo[--w.ntodo]);
	for (size_t i = 0; i < w.ntodo; i++)
		state_free(w.todo[i]);
	free(w.todo);
	if (rc) {
		tr_outcomes_free(w.out, w.nout);
		return -1;
	}
	merge(w.out, &w.nout);
	*out = w.out;
	*n = w.nout;
	return 0;
}
