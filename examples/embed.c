/* Build a service from code, compile it, print the nft transaction.
 *   cc embed.c $(pkg-config --cflags --libs svcc) -o embed
 */
#include <stdio.h>
#include <svcc.h>

int main(void)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = svcc_config_new();
	struct svcc_service *web;
	struct svcc_ruleset *rs;
	struct svcc_port ports[] = { { .name = "http", .port = 80, .proto = SVCC_TCP, .target_port = 8080 } };
	struct svcc_endpoint eps[] = { { .addr = "10.244.1.5" }, { .addr = "10.244.2.7" } };
	int rc = 1;

	if (!ctx || !cfg ||
	    svcc_config_add_pod_cidr(cfg, "10.244.0.0/16") ||
	    svcc_config_add_service(cfg, "default/web", &web) ||
	    svcc_service_set_vip(web, "10.96.0.10") ||
	    svcc_service_set_ports(web, ports, 1) ||
	    svcc_service_set_endpoints(web, eps, 2)) {
		perror("svcc");
		goto out;
	}
	if (svcc_compile(ctx, cfg, NULL, &rs) == 0) {
		rc = svcc_ruleset_write(rs, stdout) ? 1 : 0;
		svcc_ruleset_free(rs);
	}
	svcc_diag_print(ctx, stderr);
out:
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
	return rc;
}
