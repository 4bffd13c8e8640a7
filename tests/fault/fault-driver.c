// SPDX-License-Identifier: MIT
/*
 * fault-driver: fault injection for libsvcc.
 *
 *   fault-driver alloc DIR [SCENARIO...] [--only N] [-v]
 *	Allocation failures.  For each scenario (parse, parse-file, parse-bad,
 *	compile, diff, import, runtime-new, apply, apply-full, apply-config,
 *	update; default: all), fail the 1st, 2nd, ... allocation of the call
 *	in turn until the call runs through without reaching the Nth.  DIR
 *	holds a.svc, b.svc, bad.svc, services.json, endpointslices.json.  The
 *	runtime scenarios change table inet svcc: run inside a private network
 *	namespace.
 *   fault-driver refuse NEW start|middle|end
 *	Read the table back, and send the batch from it to NEW with one
 *	more message the kernel refuses (deleting a chain that does not exist)
 *	at the start, middle or end: the batch must fail, naming that message.
 *   fault-driver enobufs NEW
 *	A runtime whose netlink receive buffer is tiny sends a batch that the
 *	kernel refuses a thousand times over (more error answers than fit):
 *	a clear error, no hang; then the same runtime applies NEW.
 *
 * How allocations fail: this program is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,... over the static libsvcc.a,
 * libnftnl.a and libjansson.a, so every allocation those make reaches
 * __wrap_*() below (libmnl, libnftables and libc's own inner allocations
 * do not).  Once armed with N, the Nth allocation fails with ENOMEM, once;
 * the others go to the real allocator (ASan's, in a SAN=1 build, which
 * finds the leaks and bad accesses on the error paths).
 *
 * After every injected failure: the call must return an error and say
 * "out of memory" / strerror(ENOMEM) in its diagnostics, or succeed with the
 * exact result (a failure it could absorb, counted apart); the kernel
 * table must list byte-identically and its generation must not have moved;
 * the same call with injection off, on the same handle, must succeed; the
 * kernel must then hold exactly the desired ruleset (svcc_runtime_verify
 * from a fresh runtime) and the handle's model must be right (applying the
 * same ruleset again sends nothing).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <nftables/libnftables.h>

#include "import_k8s.h"
#include "internal.h"
#include "nl.h"
#include "tx.h"
#include "update.h"

/* ---- the allocator's wrappers ----------------------------------------- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **out, const char *fmt, va_list ap);
FILE *__real_open_memstream(char **ptr, size_t *size);

static atomic_long fi_count;	/* allocations since arming */
static long fi_at;		/* fail this one (1-based); 0: off */
static atomic_bool fi_hit;	/* it failed */

static bool fi_fail(void)
{
	if (!fi_at || atomic_fetch_add(&fi_count, 1) + 1 != fi_at)
		return false;
	atomic_store(&fi_hit, true);
	errno = ENOMEM;
	return true;
}

void *__wrap_malloc(size_t n)
{
	return fi_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fi_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fi_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return fi_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return fi_fail() ? NULL : __real_strndup(s, n);
}

int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
	return fi_fail() ? -1 : __real_vasprintf(out, fmt, ap);
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (fi_fail())
		return -1;
	va_start(ap, fmt);
	r = __real_vasprintf(out, fmt, ap);
	va_end(ap);
	return r;
}

FILE *__wrap_open_memstream(char **ptr, size_t *size)
{
	return fi_fail() ? NULL : __real_open_memstream(ptr, size);
}

static void arm(long n)
{
	atomic_store(&fi_count, 0);
	atomic_store(&fi_hit, false);
	fi_at = n;
}

/* Off again; whether the Nth allocation was reached (and failed). */
static bool disarm(void)
{
	fi_at = 0;
	return atomic_load(&fi_hit);
}

/* Where a crash happened: ASan calls this before it exits. */
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));
static const char *cur_scenario = "";
static long cur_n;

static void on_death(void)
{
	fprintf(stderr, "fault: died in scenario %s, allocation %ld failed\n", cur_scenario, cur_n);
}

/* ---- helpers ---------------------------------------------------------- */

static bool verbose;
static int failures;

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL: %s N=%ld: ", cur_scenario, cur_n);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	failures++;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	for (int c; m && (c = fgetc(f)) != EOF;)
		fputc(c, m);
	fclose(f);
	if (m)
		fclose(m);
	return buf;
}

/* What ctx holds, as svcc_diag_print prints it. */
static char *diag_text(const struct svcc_ctx *ctx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	svcc_diag_print(ctx, f);
	fclose(f);
	return buf;
}

static bool says_oom(const char *text)
{
	return strstr(text, strerror(ENOMEM)) || strstr(text, "out of memory");
}

/* A failed call: its diagnostics must say why, plainly. */
static void check_oom_diag(const struct svcc_ctx *ctx, const char *what)
{
	char *t = diag_text(ctx);

	if (!says_oom(t))
		fail("%s failed without saying out of memory: [%s]", what, t);
	free(t);
}

static char *render(const struct svcc_ruleset *rs)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		abort();
	svcc_ruleset_write(rs, f);
	fclose(f);
	return buf;
}

static struct svcc_ruleset *compile_cfg(const struct svcc_config *cfg)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_ruleset *rs = NULL;

	if (svcc_compile(ctx, cfg, NULL, &rs))
		svcc_diag_print(ctx, stderr);
	svcc_ctx_free(ctx);
	return rs;
}

static struct svcc_config *parse(const char *path)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;

	if (svcc_parse_file(ctx, path, &cfg))
		svcc_diag_print(ctx, stderr);
	svcc_ctx_free(ctx);
	return cfg;
}

/*
 * The checks' own handles, kept for the whole run: every netlink socket
 * closed after a batch waits for the kernel's grace period.
 */
static struct nft_ctx *lister;
static struct nl gen_nl;
static struct svcc_ctx *aux_ctx;
static struct svcc_runtime *setter, *checker;

static void aux_fail(const char *what)
{
	svcc_diag_print(aux_ctx, stderr);
	fprintf(stderr, "fault: %s failed\n", what);
	exit(1);
}

static void aux_open(void)
{
	lister = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!lister || nft_ctx_buffer_output(lister) || nft_ctx_buffer_error(lister) ||
	    nl_open(&gen_nl))
		aux_fail("setting up");
	aux_ctx = svcc_ctx_new();
	if (svcc_runtime_new(aux_ctx, NULL, 0, &setter) ||
	    svcc_runtime_new(aux_ctx, NULL, 0, &checker))
		aux_fail("setting up");
}

static void aux_close(void)
{
	svcc_runtime_free(setter);
	svcc_runtime_free(checker);
	svcc_ctx_free(aux_ctx);
	nl_close(&gen_nl);
	nft_ctx_free(lister);
}

/* `nft list table inet svcc`, through libnftables ("" when there is none). */
static char *list_table(void)
{
	char *out;

	if (nft_run_cmd_from_buffer(lister, "list table inet svcc"))
		out = strdup("");
	else
		out = strdup(nft_ctx_get_output_buffer(lister));
	nft_ctx_get_error_buffer(lister);	/* emptied */
	if (!out)
		abort();
	return out;
}

static uint32_t genid(void)
{
	uint32_t g = 0;

	if (nl_getgen(&gen_nl, &g)) {
		perror("fault: GETGEN");
		exit(1);
	}
	return g;
}

/* Make the kernel hold rs (NULL: no table). */
static void set_kernel(const struct svcc_ruleset *rs)
{
	if (svcc_runtime_resync(setter) ||
	    (rs ? svcc_runtime_apply(setter, rs) :
		  setter->model ? svcc_runtime_delete_table(setter) : 0))
		aux_fail("setting the kernel up");
	svcc_ctx_clear(aux_ctx);
}

/* A listing without the set-fingerprints map (it holds a generation id). */
static char *strip_fpmap(char *t)
{
	char *m = strstr(t, "\tmap set-fingerprints {\n"), *end;

	if (m && (end = strstr(m, "\n\t}\n")))
		memmove(m, end + 4, strlen(end + 4) + 1);
	return t;
}

/* The listings of a.svc's and b.svc's rulesets, as the setter left them. */
static char *ref_a, *ref_b;

/*
 * The kernel holds exactly rs: its listing is the reference one, or else
 * (elements listed in another order?) the whole table read back and
 * compared (svcc_runtime_verify: exact, but it waits on the kernel).
 */
static bool kernel_holds(const struct svcc_ruleset *rs, const char *ref)
{
	char *d = NULL, *t = strip_fpmap(list_table());
	size_t len = 0;
	FILE *f;
	int r;

	if (ref && !strcmp(t, ref)) {
		free(t);
		return true;
	}
	free(t);
	f = open_memstream(&d, &len);
	r = svcc_runtime_verify(checker, rs, f);
	fclose(f);
	if (r) {
		svcc_diag_print(aux_ctx, stderr);
		fprintf(stderr, "fault: kernel differs:\n%s", d);
	}
	svcc_ctx_clear(aux_ctx);
	free(d);
	return r == 0;
}

/* ---- scenarios -------------------------------------------------------- */

struct inputs {
	const char *a_path, *b_path, *bad_path, *svc_json, *eps_json;
	char *a_text, *bad_diags, *a_rendered, *b_rendered, *diff_ab, *import_out;
	struct svcc_config *cfg_a, *cfg_b;
	struct svcc_ruleset *rs_a, *rs_b;
};

/* One run of an offline scenario, armed at n: 0 ran through, 1 checked failure. */
typedef void offline_fn(struct inputs *in, long n, bool *absorbed);

/*
 * A parse of config A under failure n: failed with the failure injected
 * (out of memory said), or succeeded with the right config (*absorbed if
 * a failure was injected and absorbed).  Takes cfg and ctx.
 */
static void parsed_a(struct inputs *in, struct svcc_ctx *ctx, struct svcc_config *cfg, int r,
		     bool hit, bool *absorbed)
{
	if (r && !hit)
		fail("parse failed without an injected failure");
	else if (r)
		check_oom_diag(ctx, "parse");
	if (r == 0) {
		struct svcc_ruleset *rs = compile_cfg(cfg);
		char *t = rs ? render(rs) : NULL;

		if (!t || strcmp(t, in->a_rendered))
			fail("parse succeeded with a wrong config");
		*absorbed = hit;
		free(t);
		svcc_ruleset_free(rs);
	}
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
}

static void sc_parse(struct inputs *in, long n, bool *absorbed)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	int r;

	arm(n);
	r = svcc_parse_string(ctx, "a.svc", in->a_text, strlen(in->a_text), &cfg);
	parsed_a(in, ctx, cfg, r, disarm(), absorbed);
}

static void sc_parse_file(struct inputs *in, long n, bool *absorbed)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	int r;

	arm(n);
	r = svcc_parse_file(ctx, in->a_path, &cfg);
	parsed_a(in, ctx, cfg, r, disarm(), absorbed);
}

/* Bad input: always an error; the diagnostics whole, or out of memory said. */
static void sc_parse_bad(struct inputs *in, long n, bool *absorbed)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	int r;
	bool hit;
	char *t;

	arm(n);
	r = svcc_parse_file(ctx, in->bad_path, &cfg);
	hit = disarm();
	t = diag_text(ctx);

	if (r == 0)
		fail("bad input parsed");
	else if (strcmp(t, in->bad_diags) && !(hit && says_oom(t)))
		fail("bad input: diagnostics [%s]", t);
	else
		*absorbed = hit && !strcmp(t, in->bad_diags);
	free(t);
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
}

static void sc_compile(struct inputs *in, long n, bool *absorbed)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_ruleset *rs = NULL;
	int r;
	bool hit;

	arm(n);
	r = svcc_compile(ctx, in->cfg_a, NULL, &rs);
	hit = disarm();

	if (r && !hit)
		fail("compile failed without an injected failure");
	else if (r)
		check_oom_diag(ctx, "compile");
	if (r == 0) {
		char *t = render(rs);

		if (strcmp(t, in->a_rendered))
			fail("compile succeeded with a wrong ruleset");
		*absorbed = hit;
		free(t);
	}
	svcc_ruleset_free(rs);
	svcc_ctx_free(ctx);
}

/* svcc_ruleset_diff has no context: errno says it. */
static void sc_diff(struct inputs *in, long n, bool *absorbed)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int r, err;
	bool hit;

	arm(n);
	r = svcc_ruleset_diff(in->rs_a, in->rs_b, f);
	err = errno;
	hit = disarm();

	fclose(f);
	if (r && !hit)
		fail("diff failed without an injected failure");
	else if (r && err != ENOMEM)
		fail("diff failed with errno %d, not ENOMEM", err);
	if (r == 0) {
		if (strcmp(buf, in->diff_ab))
			fail("diff succeeded with a wrong transaction");
		*absorbed = hit;
	}
	free(buf);
}

static void sc_import(struct inputs *in, long n, bool *absorbed)
{
	char *argv[] = { "import-k8s", (char *)in->svc_json, (char *)in->eps_json,
			 "--node", "node-a", NULL };
	char *out = NULL, *err = NULL;
	size_t olen = 0, elen = 0;
	FILE *fo = open_memstream(&out, &olen), *fe = open_memstream(&err, &elen);
	int r;
	bool hit;

	arm(n);
	r = import_k8s_main(5, argv, fo, fe);
	hit = disarm();
	fclose(fo);
	fclose(fe);
	if (r && !hit)
		fail("import failed without an injected failure: %s", err);
	else if (r && !says_oom(err))
		fail("import failed without saying out of memory (exit %d): [%s]", r, err);
	if (r == 0) {
		if (strcmp(out, in->import_out))
			fail("import succeeded with a wrong config");
		*absorbed = hit;
	}
	free(out);
	free(err);
}

/* A part replaced in a joined config (svcc agent's sync): b's services for
 * a's, some changed, one added, one removed; a failure changes nothing. */
static void sc_replace(struct inputs *in, long n, bool *absorbed)
{
	struct svcc_config *joined = svcc_config_new();
	struct svcc_ruleset *rs;
	char *t;
	int r, err;
	bool hit;

	if (!joined || svcc_config_add_from(joined, in->cfg_a)) {
		fail("replace: cannot join a");
		svcc_config_free(joined);
		return;
	}
	arm(n);
	r = svcc_config_replace_from(joined, in->cfg_a, in->cfg_b);
	err = errno;
	hit = disarm();

	if (r && !hit)
		fail("replace failed without an injected failure");
	else if (r && err != ENOMEM)
		fail("replace failed with errno %d, not ENOMEM", err);
	rs = compile_cfg(joined);
	t = rs ? render(rs) : NULL;
	if (!t || strcmp(t, r ? in->a_rendered : in->b_rendered))
		fail(r ? "a failed replace changed the config" : "replace succeeded with a wrong config");
	*absorbed = !r && hit;
	free(t);
	svcc_ruleset_free(rs);
	svcc_config_free(joined);
}

static void sweep_offline(const char *name, offline_fn *fn, struct inputs *in, long only)
{
	long n, absorbed_n = 0;

	cur_scenario = name;
	for (n = only ? only : 1;; n++) {
		bool absorbed = false;
		long reached;

		cur_n = n;
		fn(in, n, &absorbed);
		reached = atomic_load(&fi_count);
		absorbed_n += absorbed;
		if (reached < n || only)
			break;
	}
	if (!only)
		n--;	/* the last run failed nothing */
	printf("alloc %s: %ld allocations, each failed in turn: %ld errors, %ld absorbed "
	       "(result exact)\n", name, n, n - absorbed_n, absorbed_n);
}

/* ---- runtime scenarios ------------------------------------------------ */

enum rt_call { RT_NEW, RT_APPLY, RT_APPLY_FULL, RT_APPLY_CONFIG, RT_UPDATE };

struct rt_state {
	struct svcc_ctx *ctx;
	struct svcc_runtime *rt;
	struct svcc_config *cfg;	/* RT_UPDATE: cfg_a, then changed to b */
};

static const char *const update_names[] = {
	"default/web", "kube-system/dns", "shop/cart", "shop/checkout", "shop/idle",
};

/* The builder changes that make a.svc's config b.svc's. */
static void change_a_to_b(struct svcc_config *cfg)
{
	static const struct svcc_endpoint web[] = {
		{ .addr = "10.244.1.5" }, { .addr = "10.244.3.7" },
		{ .addr = "fd00:10:244:1::5" }, { .addr = "fd00:10:244:2::9" },
	};
	static const struct svcc_endpoint dns[] = { { .addr = "10.244.1.53" } };
	static const struct svcc_endpoint cart[] = {
		{ .addr = "10.244.2.12" }, { .addr = "10.244.3.12" },
	};
	static const struct svcc_endpoint checkout[] = { { .addr = "10.244.3.13" } };
	static const struct svcc_port grpc[] = {
		{ .name = "grpc", .port = 5050, .proto = SVCC_TCP },
	};
	struct svcc_service *s;

	if (svcc_service_set_endpoints(svcc_config_find_service(cfg, "default/web"), web, 4) ||
	    svcc_service_set_endpoints(svcc_config_find_service(cfg, "kube-system/dns"), dns, 1) ||
	    svcc_service_set_endpoints(svcc_config_find_service(cfg, "shop/cart"), cart, 2) ||
	    svcc_config_remove_service(cfg, "shop/idle") ||
	    svcc_config_add_service(cfg, "shop/checkout", &s) || svcc_service_set_vip(s, "10.96.1.10") ||
	    svcc_service_set_ports(s, grpc, 1) || svcc_service_set_endpoints(s, checkout, 1)) {
		fprintf(stderr, "fault: builder failed\n");
		exit(1);
	}
}

/*
 * Set up (unarmed) what the call needs: the kernel, a config, and the
 * runtime, one for the whole sweep (but for RT_NEW, which makes it): it must
 * take every failure and go on.  Closing a socket that sent a batch waits
 * for the kernel's grace period, too.
 */
static void rt_setup(enum rt_call c, struct inputs *in, struct rt_state *st)
{
	set_kernel(c == RT_APPLY_FULL ? NULL : in->rs_a);
	if (!st->ctx)
		st->ctx = svcc_ctx_new();
	svcc_ctx_clear(st->ctx);
	if (c == RT_NEW)
		return;
	/* the setter changed the kernel underneath: as after drift, resync */
	if (st->rt ? svcc_runtime_resync(st->rt) : svcc_runtime_new(st->ctx, NULL, 0, &st->rt))
		goto fail;
	if (c == RT_UPDATE) {
		svcc_config_free(st->cfg);
		if (!(st->cfg = parse(in->a_path)) || svcc_runtime_apply_config(st->rt, st->cfg))
			goto fail;
		change_a_to_b(st->cfg);
	}
	svcc_ctx_clear(st->ctx);
	return;
fail:
	svcc_diag_print(st->ctx, stderr);
	fprintf(stderr, "fault: setup failed\n");
	exit(1);
}

static int rt_call(enum rt_call c, struct inputs *in, struct rt_state *st)
{
	switch (c) {
	case RT_NEW:
		return svcc_runtime_new(st->ctx, NULL, 0, &st->rt);
	case RT_APPLY:
	case RT_APPLY_FULL:
		return svcc_runtime_apply(st->rt, in->rs_b);
	case RT_APPLY_CONFIG:
		return svcc_runtime_apply_config(st->rt, in->cfg_b);
	case RT_UPDATE:
		return svcc_runtime_update(st->rt, st->cfg, update_names,
					   sizeof(update_names) / sizeof(update_names[0]));
	}
	return -1;
}

/* After the call succeeded: the kernel holds what it should, and the handle knows it. */
static void rt_check_done(enum rt_call c, struct inputs *in, struct rt_state *st)
{
	const struct svcc_ruleset *want = c == RT_NEW ? in->rs_a : in->rs_b;

	if (!kernel_holds(want, c == RT_NEW ? ref_a : ref_b)) {
		fail("the kernel does not hold the desired ruleset");
		return;
	}
	if (svcc_runtime_apply(st->rt, want)) {
		char *t = diag_text(st->ctx);

		fail("the handle cannot apply again: %s", t);
		free(t);
	} else if (c != RT_NEW && svcc_runtime_stats(st->rt)->messages) {
		fail("the handle's model is wrong: applying the same ruleset sent %lu messages",
		     svcc_runtime_stats(st->rt)->messages);
	}
}

/* RT_NEW's runtime after each run; the others' at the end of the sweep. */
static void rt_teardown(struct rt_state *st)
{
	svcc_runtime_free(st->rt);
	st->rt = NULL;
}

static void sweep_runtime(const char *name, enum rt_call c, struct inputs *in, long only)
{
	long n, absorbed_n = 0;

	cur_scenario = name;
	struct rt_state st = { 0 };

	for (n = only ? only : 1;; n++) {
		char *before, *after;
		uint32_t gen0;
		long reached;
		bool hit;
		int r;

		cur_n = n;
		rt_setup(c, in, &st);
		before = list_table();
		gen0 = genid();
		arm(n);
		r = rt_call(c, in, &st);
		hit = disarm();
		reached = atomic_load(&fi_count);
		if (verbose)
			fprintf(stderr, "%s N=%ld: %s\n", name, n, r ? "failed" : hit ? "absorbed" : "done");
		if (r && !hit) {
			char *t = diag_text(st.ctx);

			fail("failed without an injected failure: %s", t);
			free(t);
		} else if (r) {
			check_oom_diag(st.ctx, name);
			after = list_table();
			if (strcmp(before, after))
				fail("the kernel table changed although the call failed");
			else if (genid() != gen0)
				fail("the generation moved although the call failed");
			free(after);
			svcc_ctx_clear(st.ctx);
			/* the same call, injection off, on the same handle */
			if (rt_call(c, in, &st)) {
				char *t = diag_text(st.ctx);

				fail("the same call without injection failed: %s", t);
				free(t);
			} else {
				rt_check_done(c, in, &st);
			}
		} else {
			absorbed_n += hit;
			rt_check_done(c, in, &st);
		}
		free(before);
		if (c == RT_NEW)
			rt_teardown(&st);
		if (reached < n || only)
			break;
	}
	rt_teardown(&st);
	svcc_config_free(st.cfg);
	svcc_ctx_free(st.ctx);
	if (!only)
		n--;
	printf("alloc %s: %ld allocations, each failed in turn: %ld errors, %ld absorbed "
	       "(result exact)\n", name, n, n - absorbed_n, absorbed_n);
}

static void leak_check(const char *name)
{
	if (__lsan_do_recoverable_leak_check && __lsan_do_recoverable_leak_check()) {
		cur_scenario = name;
		cur_n = 0;
		fail("leaks (above)");
	}
}

static char *path_in(const char *dir, const char *file)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, file) < 0)
		abort();
	return p;
}

static const struct { const char *name; offline_fn *fn; } offline[] = {
	{ "parse", sc_parse }, { "parse-file", sc_parse_file }, { "parse-bad", sc_parse_bad },
	{ "compile", sc_compile }, { "diff", sc_diff }, { "import", sc_import },
	{ "replace", sc_replace },
};
static const struct { const char *name; enum rt_call c; } runtime[] = {
	{ "runtime-new", RT_NEW }, { "apply", RT_APPLY }, { "apply-full", RT_APPLY_FULL },
	{ "apply-config", RT_APPLY_CONFIG }, { "update", RT_UPDATE },
};

static bool wanted(const char *name, const char **want, size_t nwant)
{
	bool run = !nwant;

	for (size_t k = 0; k < nwant; k++)
		run |= !strcmp(want[k], name);
	return run;
}

/* Whether a runtime scenario is to run (the kernel is needed). */
static bool nruntime(const char **want, size_t nwant)
{
	for (size_t i = 0; i < sizeof(runtime) / sizeof(runtime[0]); i++)
		if (wanted(runtime[i].name, want, nwant))
			return true;
	return false;
}

static void free_inputs(struct inputs *in)
{
	free((char *)in->a_path);
	free((char *)in->b_path);
	free((char *)in->bad_path);
	free((char *)in->svc_json);
	free((char *)in->eps_json);
	free(in->a_text);
	free(in->bad_diags);
	free(in->a_rendered);
	free(in->b_rendered);
	free(in->diff_ab);
	free(in->import_out);
	svcc_config_free(in->cfg_a);
	svcc_config_free(in->cfg_b);
	svcc_ruleset_free(in->rs_a);
	svcc_ruleset_free(in->rs_b);
}

static int alloc_main(int argc, char **argv)
{
	const char *dir = argv[0];
	struct inputs in = { 0 };
	const char **want = calloc((size_t)argc, sizeof(*want));
	size_t nwant = 0;
	long only = 0;
	struct svcc_ctx *ctx = svcc_ctx_new();
	char *out = NULL, *err = NULL;
	size_t olen = 0, elen = 0;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = atol(argv[++i]);
		else if (!strcmp(argv[i], "-v"))
			verbose = true;
		else
			want[nwant++] = argv[i];
	}
	in.a_path = path_in(dir, "a.svc");
	in.b_path = path_in(dir, "b.svc");
	in.bad_path = path_in(dir, "bad.svc");
	in.svc_json = path_in(dir, "services.json");
	in.eps_json = path_in(dir, "endpointslices.json");
	/* the reference results, computed without injection */
	if (!(in.a_text = slurp(in.a_path)) || !(in.cfg_a = parse(in.a_path)) ||
	    !(in.cfg_b = parse(in.b_path)) || !(in.rs_a = compile_cfg(in.cfg_a)) ||
	    !(in.rs_b = compile_cfg(in.cfg_b))) {
		fprintf(stderr, "fault: cannot read the inputs in %s\n", dir);
		return 1;
	}
	in.a_rendered = render(in.rs_a);
	in.b_rendered = render(in.rs_b);
	svcc_parse_file(ctx, in.bad_path, &(struct svcc_config *){ NULL });
	in.bad_diags = diag_text(ctx);
	f = open_memstream(&in.diff_ab, &olen);
	svcc_ruleset_diff(in.rs_a, in.rs_b, f);
	fclose(f);
	{
		char *args[] = { "import-k8s", (char *)in.svc_json, (char *)in.eps_json,
				 "--node", "node-a", NULL };
		FILE *fo = open_memstream(&out, &olen), *fe = open_memstream(&err, &elen);

		if (import_k8s_main(5, args, fo, fe)) {
			fclose(fo);
			fclose(fe);
			fprintf(stderr, "fault: import failed: %s\n", err);
			return 1;
		}
		fclose(fo);
		fclose(fe);
		in.import_out = out;
		free(err);
	}
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(on_death);
	if (nruntime(want, nwant)) {
		aux_open();
		set_kernel(in.rs_b);
		ref_b = strip_fpmap(list_table());
		set_kernel(in.rs_a);
		ref_a = strip_fpmap(list_table());
		if (!kernel_holds(in.rs_a, NULL)) {
			fprintf(stderr, "fault: the setter's ruleset is not a.svc's\n");
			return 1;
		}
	}

	for (size_t i = 0; i < sizeof(offline) / sizeof(offline[0]); i++) {
		if (wanted(offline[i].name, want, nwant)) {
			sweep_offline(offline[i].name, offline[i].fn, &in, only);
			leak_check(offline[i].name);
		}
	}
	for (size_t i = 0; i < sizeof(runtime) / sizeof(runtime[0]); i++) {
		if (wanted(runtime[i].name, want, nwant)) {
			sweep_runtime(runtime[i].name, runtime[i].c, &in, only);
			leak_check(runtime[i].name);
		}
	}
	if (setter) {
		set_kernel(NULL);
		aux_close();
		free(ref_a);
		free(ref_b);
	}
	svcc_ctx_free(ctx);
	free_inputs(&in);
	free(want);
	return failures ? 1 : 0;
}

/* ---- netlink faults --------------------------------------------------- */

static struct svcc_ruleset *load(const char *path)
{
	struct svcc_config *cfg = parse(path);
	struct svcc_ruleset *rs = cfg ? compile_cfg(cfg) : NULL;

	svcc_config_free(cfg);
	if (!rs) {
		fprintf(stderr, "fault: cannot load %s\n", path);
		exit(1);
	}
	return rs;
}

/* How many messages each operation of tx takes in a batch. */
static size_t *count_messages(const struct tx *tx, size_t *total)
{
	size_t *per = calloc(tx->nops + 1, sizeof(*per));
	char *buf = calloc(1, NL_MSG_MAX);
	uint32_t seq = 0;

	if (!per || !buf)
		abort();
	*total = 0;
	for (size_t i = 0; i < tx->nops; i++) {
		size_t pos = 0;

		do {
			if (!nl_msg_op(buf, NL_MSG_MAX, tx, &tx->ops[i], &pos, ++seq))
				abort();
			memset(buf, 0, NL_MSG_MAX);
			per[i]++;
		} while (pos < tx->ops[i].nelems);
		*total += per[i];
	}
	free(buf);
	return per;
}

/* Put a deletion of the chain "name" (which does not exist) at ops[at]. */
static size_t insert_bogus(struct tx *tx, const struct rs_ruleset *rs, struct rs_chain *bogus,
			   size_t at)
{
	struct tx_op *op = tx_push_op(tx, TX_DEL_CHAIN, rs);

	if (!op)
		abort();
	op->chain = bogus;
	memmove(&tx->ops[at + 1], &tx->ops[at], (tx->nops - 1 - at) * sizeof(*op));
	memset(&tx->ops[at], 0, sizeof(*op));
	tx->ops[at].kind = TX_DEL_CHAIN;
	tx->ops[at].rs = rs;
	tx->ops[at].chain = bogus;
	return at;
}

static int refuse_main(const char *new_path, const char *where)
{
	struct svcc_ruleset *rs = load(new_path);
	struct rs_ruleset *old = NULL, *map = NULL;
	struct rs_chain bogus = { .name = (char *)"svcc-fault-no-such-chain" };
	struct nl_result res;
	size_t *per, total, at = 0, k = 1, before = 0;
	bool trusted;
	uint32_t gen, gen_after = 0;
	struct nl nl;
	struct tx *tx;
	int ret = 1;

	if (nl_open(&nl) || nl_read_table(&nl, rs->rs->table, false, &old, &map, &trusted, &gen)) {
		perror("fault: read-back");
		return 1;
	}
	rs_free(map);
	if (!(tx = tx_diff(old, rs->rs)))
		abort();
	per = count_messages(tx, &total);
	/* the op boundary nearest the chosen message (BEGIN is message 0) */
	if (!strcmp(where, "middle")) {
		for (at = 0; at < tx->nops && before + per[at] <= total / 2; at++)
			before += per[at];
	} else if (!strcmp(where, "end")) {
		at = tx->nops;
		before = total;
	}
	k = before + 1;
	insert_bogus(tx, rs->rs, &bogus, at);
	if (nl_send_tx(&nl, tx, &gen, &res) == 0) {
		fprintf(stderr, "refuse %s: the kernel accepted the batch\n", where);
	} else if (res.op == &tx->ops[at] && res.err == ENOENT) {
		printf("refuse %s: message %zu of %zu refused, as expected: ", where, k, total + 1);
		fflush(stdout);
		tx_render_op(tx, res.op, 0, 0, stdout);
		ret = 0;
	} else {
		fprintf(stderr, "refuse %s: unexpected failure: %s, at op %ld (want %zu)\n", where,
			strerror(res.err ? res.err : errno),
			res.op ? (long)(res.op - tx->ops) : -1L, at);
	}
	if (nl_getgen(&nl, &gen_after) || gen_after != gen) {
		fprintf(stderr, "refuse %s: the generation moved (%u -> %u)\n", where, gen, gen_after);
		ret = 1;
	}
	free(per);
	tx_free(tx);
	rs_free(old);
	nl_close(&nl);
	svcc_ruleset_free(rs);
	return ret;
}

/*
 * A batch refused REFUSALS times, its error answers sent to a socket whose
 * receive buffer holds a few: they overflow it (ENOBUFS).  The call must
 * end with a clear error, and the runtime must then apply NEW.
 */
#define REFUSALS 2000

static int enobufs_main(const char *new_path)
{
	struct svcc_ruleset *rs = load(new_path);
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_runtime *rt = NULL;
	struct rs_chain *bogus = calloc(REFUSALS, sizeof(*bogus));
	char (*names)[32] = calloc(REFUSALS, sizeof(*names));
	struct nl_result res;
	int tiny = 1, got = 0, ret = 1;
	socklen_t sl = sizeof(got);
	uint32_t gen0, gen1 = 0;
	struct tx *tx;

	if (!bogus || !names || svcc_runtime_new(ctx, NULL, 0, &rt))
		goto out;
	gen0 = rt->genid;
	/* the kernel's minimum: a couple of error answers fill it */
	setsockopt(mnl_socket_get_fd(rt->nl.sk), SOL_SOCKET, SO_RCVBUF, &tiny, sizeof(tiny));
	getsockopt(mnl_socket_get_fd(rt->nl.sk), SOL_SOCKET, SO_RCVBUF, &got, &sl);
	if (!(tx = tx_new(rs->rs->table)))
		abort();
	for (int i = 0; i < REFUSALS; i++) {
		snprintf(names[i], sizeof(names[i]), "svcc-fault-nochain-%d", i);
		bogus[i].name = names[i];
		insert_bogus(tx, rs->rs, &bogus[i], tx->nops);
	}
	if (nl_send_tx(&rt->nl, tx, &rt->genid, &res) == 0) {
		fprintf(stderr, "enobufs: the kernel accepted the batch\n");
		tx_free(tx);
		goto out;
	}
	printf("enobufs: receive buffer %d bytes, %d refused messages: ", got, REFUSALS);
	if (res.op) {
		printf("%s%s: ", strerror(res.err), res.lost ? " (answers lost: ENOBUFS, recovered)" : "");
		fflush(stdout);
		tx_render_op(tx, res.op, 0, 0, stdout);
	} else {
		printf("%s\n", strerror(errno));
	}
	tx_free(tx);
	if (nl_getgen(&rt->nl, &gen1) || gen1 != gen0) {
		fprintf(stderr, "enobufs: the generation moved, or GETGEN failed: %s\n", strerror(errno));
		goto out;
	}
	/* the same handle, buffer still tiny: the next apply works */
	rt->stale = true;
	if (svcc_runtime_apply(rt, rs)) {
		svcc_diag_print(ctx, stderr);
		fprintf(stderr, "enobufs: the runtime cannot apply afterwards\n");
		goto out;
	}
	printf("enobufs: then the same runtime applied %s: %lu messages\n", new_path,
	       svcc_runtime_stats(rt)->messages);
	aux_open();
	ret = kernel_holds(rs, NULL) ? 0 : 1;
	aux_close();
out:
	svcc_runtime_free(rt);
	svcc_ctx_free(ctx);
	svcc_ruleset_free(rs);
	free(bogus);
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "alloc"))
		return alloc_main(argc - 2, argv + 2);
	if (argc == 4 && !strcmp(argv[1], "refuse"))
		return refuse_main(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "enobufs"))
		return enobufs_main(argv[2]);
	fprintf(stderr, "usage: fault-driver alloc DIR [SCENARIO...] [--only N] [-v] | "
		"refuse NEW start|middle|end | enobufs NEW\n");
	return 2;
}
