/* SPDX-License-Identifier: MIT */
/*
 * A config made of parts (svcc_config_add_from) compiles to what the one
 * file holding them all compiles to; clashes change nothing; the changed
 * services between two configs are exactly those that differ; a part
 * replaced in the joined config (svcc_config_replace_from) gives what a new
 * join gives, and a refused replacement changes nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static struct svcc_ctx *ctx;

static struct svcc_config *parse(const char *text)
{
	struct svcc_config *cfg = NULL;

	if (svcc_parse_string(ctx, "t.svc", text, strlen(text), &cfg)) {
		svcc_diag_print(ctx, stderr);
		fprintf(stderr, "cannot parse:\n%s\n", text);
		exit(1);
	}
	return cfg;
}

#define CLUSTER "cluster { pod-cidr 10.244.0.0/16; node-ip 192.168.1.2; zone a; }\n"
#define WEB "service default/web { vip 10.96.0.10; port http 80/tcp -> 8080; nodeport http 30080;\n" \
	"  endpoint 10.244.1.5; endpoint 10.244.2.7 local weight 2 zone a; }\n"
#define DNS "service kube-system/dns { vip 10.96.0.53; vip fd00::53; port 53/udp;\n" \
	"  affinity client-ip timeout 60; endpoint 10.244.1.9; endpoint fd00:10:244::9; }\n"
#define MASQ "masquerade { all; from 10.0.0.0/8; }\n"

static void test_parts_compile_as_whole(void)
{
	struct svcc_config *whole = parse(CLUSTER MASQ WEB DNS);
	struct svcc_config *a = parse(CLUSTER), *b = parse(MASQ WEB), *c = parse(DNS);
	struct svcc_config *sum = svcc_config_new();
	char *w, *s;

	CHECK(svcc_config_add_from(sum, a) == 0);
	CHECK(svcc_config_add_from(sum, b) == 0);
	CHECK(svcc_config_add_from(sum, c) == 0);
	CHECK(svcc_config_service_count(sum) == 2);
	CHECK(svcc_config_same_cluster(sum, whole) == 1);
	w = compiled_text(ctx, whole);
	s = compiled_text(ctx, sum);
	CHECK(w && s && !strcmp(w, s));
	free(w);
	free(s);

	/* the same cluster part again: joined, not repeated */
	CHECK(svcc_config_add_from(sum, a) == 0);
	CHECK(svcc_config_same_cluster(sum, whole) == 1);

	/* a service twice, a second masquerade block, another zone: refused, nothing changed */
	errno = 0;
	CHECK(svcc_config_add_from(sum, c) == -1 && errno == EEXIST);
	errno = 0;
	CHECK(svcc_config_add_from(sum, b) == -1 && errno == EEXIST);
	{
		struct svcc_config *m = parse("masquerade { all; }\n"
					      "service x { vip 10.96.0.99; port 1; }\n");
		struct svcc_config *z = parse("cluster { zone b; pod-cidr 10.1.0.0/16; }\n");

		errno = 0;
		CHECK(svcc_config_add_from(sum, m) == -1 && errno == EINVAL);
		errno = 0;
		CHECK(svcc_config_add_from(sum, z) == -1 && errno == EINVAL);
		CHECK(svcc_config_service_count(sum) == 2);
		CHECK(svcc_config_same_cluster(sum, whole) == 1);
		s = compiled_text(ctx, sum);
		w = compiled_text(ctx, whole);
		CHECK(w && s && !strcmp(w, s));
		free(w);
		free(s);
		svcc_config_free(m);
		svcc_config_free(z);
	}
	svcc_config_free(whole);
	svcc_config_free(a);
	svcc_config_free(b);
	svcc_config_free(c);
	svcc_config_free(sum);
}

struct names {
	char text[512];
};

static int collect(const char *name, void *arg)
{
	struct names *n = arg;

	strcat(n->text, name);
	strcat(n->text, " ");
	return 0;
}

static const char *changed(const char *old, const char *new_text)
{
	static struct names n;
	struct svcc_config *o = old ? parse(old) : NULL, *c = parse(new_text);

	n.text[0] = 0;
	CHECK(svcc_config_each_changed_service(o, c, collect, &n) == 0);
	svcc_config_free(o);
	svcc_config_free(c);
	return n.text;
}

static void test_changed(void)
{
#define WEB2 "service default/web { vip 10.96.0.10; port http 80/tcp -> 8080; " \
	"nodeport http 30080; endpoint 10.244.1.5; endpoint 10.244.2.7 local weight 3 zone a; }\n"
#define WEB3 "service default/web { vip 10.96.0.10; port http 80/tcp -> 8080; " \
	"nodeport http 30080; endpoint 10.244.1.5; endpoint 10.244.2.7 local weight 2 zone b; }\n"

	/* comments, order and layout are no change */
	CHECK(!strcmp(changed(CLUSTER WEB DNS, "# x\n" DNS CLUSTER "\n" WEB), ""));
	CHECK(!strcmp(changed(NULL, WEB DNS), "default/web kube-system/dns "));
	CHECK(!strcmp(changed(WEB DNS, DNS), "default/web "));
	CHECK(!strcmp(changed(WEB DNS, DNS "service n { vip 10.96.0.7; port 9; }"), "n default/web "));
	CHECK(!strcmp(changed(WEB DNS, DNS), "default/web "));
	CHECK(!strcmp(changed(WEB DNS, WEB2 DNS), "default/web "));
	CHECK(!strcmp(changed(WEB DNS, WEB3 DNS), "default/web "));
	/* cluster settings are not a service's */
	CHECK(!strcmp(changed(WEB, CLUSTER WEB), ""));
	{
		struct svcc_config *x = parse(CLUSTER), *y = parse("cluster { pod-cidr 10.244.0.0/16; }");

		CHECK(svcc_config_same_cluster(x, y) == 0);
		svcc_config_free(x);
		svcc_config_free(y);
	}
}

/* sum compiles to what text compiles to */
static int compiles_as(const struct svcc_config *sum, const char *text)
{
	struct svcc_config *whole = parse(text);
	char *w = compiled_text(ctx, whole), *s = compiled_text(ctx, sum);
	int same = w && s && !strcmp(w, s);

	free(w);
	free(s);
	svcc_config_free(whole);
	return same;
}

static const char *name_at(const struct svcc_config *cfg, size_t i)
{
	const struct svcc_service *s = svcc_config_service_at(cfg, i);

	return s ? svcc_service_name(s) : "";
}

static void test_replace(void)
{
#define WEBX "service default/webx { vip 10.96.0.11; port 80; endpoint 10.244.1.6; }\n"
	struct svcc_config *a = parse(CLUSTER), *b = parse(WEB), *c = parse(DNS);
	struct svcc_config *b2 = parse(WEB2), *bx = parse(WEB2 WEBX), *sum = svcc_config_new();
	struct svcc_config *dns_again = parse(DNS), *b_cluster = parse(CLUSTER WEB2);

	CHECK(svcc_config_add_from(sum, a) == 0);
	CHECK(svcc_config_add_from(sum, b) == 0);
	CHECK(svcc_config_add_from(sum, c) == 0);

	/* an edited part: its service changed in place, the rest as they were */
	CHECK(svcc_config_replace_from(sum, b, b2) == 0);
	CHECK(svcc_config_service_count(sum) == 2);
	CHECK(!strcmp(name_at(sum, 0), "default/web") && !strcmp(name_at(sum, 1), "kube-system/dns"));
	CHECK(compiles_as(sum, CLUSTER WEB2 DNS));
	CHECK(!compiles_as(sum, CLUSTER WEB DNS));	/* the check can tell */

	/* a part that gains a service: it comes last */
	CHECK(svcc_config_replace_from(sum, b2, bx) == 0);
	CHECK(svcc_config_service_count(sum) == 3 && !strcmp(name_at(sum, 2), "default/webx"));
	CHECK(compiles_as(sum, CLUSTER WEB2 DNS WEBX));

	/* a part removed, then added again: the order of the parts does not matter */
	CHECK(svcc_config_replace_from(sum, c, NULL) == 0);
	CHECK(svcc_config_service_count(sum) == 2 && !svcc_config_find_service(sum, "kube-system/dns"));
	CHECK(compiles_as(sum, CLUSTER WEB2 WEBX));
	CHECK(svcc_config_replace_from(sum, NULL, c) == 0);
	CHECK(compiles_as(sum, CLUSTER DNS WEBX WEB2));

	/* a service another part has: EEXIST, nothing changed */
	errno = 0;
	CHECK(svcc_config_replace_from(sum, NULL, dns_again) == -1 && errno == EEXIST);
	errno = 0;
	CHECK(svcc_config_replace_from(sum, b, dns_again) == -1 && errno == EEXIST);
	/* cluster settings that change with the part: EINVAL, a new join */
	errno = 0;
	CHECK(svcc_config_replace_from(sum, bx, b_cluster) == -1 && errno == EINVAL);
	CHECK(svcc_config_service_count(sum) == 3);
	CHECK(compiles_as(sum, CLUSTER WEB2 DNS WEBX));

	/* a part that loses a service, and one whose service is renamed */
	CHECK(svcc_config_replace_from(sum, bx, b) == 0);
	CHECK(svcc_config_service_count(sum) == 2 && !svcc_config_find_service(sum, "default/webx"));
	CHECK(compiles_as(sum, CLUSTER WEB DNS));
	CHECK(svcc_config_replace_from(sum, a, a) == 0);	/* settings alone: no service */
	CHECK(compiles_as(sum, CLUSTER WEB DNS));

	svcc_config_free(a);
	svcc_config_free(b);
	svcc_config_free(c);
	svcc_config_free(b2);
	svcc_config_free(bx);
	svcc_config_free(dns_again);
	svcc_config_free(b_cluster);
	svcc_config_free(sum);
}

int main(void)
{
	ctx = svcc_ctx_new();
	if (!ctx)
		return 1;
	test_parts_compile_as_whole();
	test_changed();
	test_replace();
	svcc_ctx_free(ctx);
	return check_done("test_config_merge");
}
