/* SPDX-License-Identifier: MIT */
/*
 * svcc import-k8s: svcc_import_k8s, then svcc_config_write.  The command's
 * own part is its options and how it prints; it uses the public API only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svcc.h"
#include "import_k8s.h"

enum { EXIT_INPUT = 1, EXIT_USAGE = 2 };

static void usage(FILE *f)
{
	fputs("usage: svcc import-k8s FILE... [--node NAME] [--zone ZONE]\n"
	      "                         [--pod-cidr CIDR]... [--service-cidr CIDR]... [--node-ip ADDR]...\n"
	      "\n"
	      "Writes the .svc config equivalent to the Services and EndpointSlices in the FILEs\n"
	      "(- is standard input), JSON or YAML, each a single object, a List of any kind or a\n"
	      "YAML stream of them: what `kubectl get services,endpointslices -A -o json` prints.\n"
	      "What it cannot map is a warning.\n"
	      "  --node NAME         this node's name: its endpoints are local\n"
	      "  --zone ZONE         this node's zone (topology.kubernetes.io/zone)\n"
	      "  --detect-local bridge=IFNAME | interface-prefix=PREFIX | node-cidr=CIDR\n"
	      "                      how pods are told from the rest (default: --pod-cidr)\n"
	      "  --pod-cidr CIDR     the cluster's pod networks (not in the JSON)\n"
	      "  --service-cidr CIDR the cluster's service networks\n"
	      "  --node-ip ADDR      this node's addresses\n", f);
}

/* The option values, borrowed from argv; each list as long as argc at most. */
struct args {
	struct svcc_import_options o;
	const char **pod, **svc, **ips, **node_pod;
};

/* --detect-local MODE=VALUE, kube-proxy's --detect-local-mode; 0 or EXIT_USAGE. */
static int detect_local(struct args *a, const char *arg, FILE *err)
{
	if (!strncmp(arg, "bridge=", 7) && !a->o.pod_bridge)
		a->o.pod_bridge = arg + 7;
	else if (!strncmp(arg, "interface-prefix=", 17) && !a->o.pod_interface_prefix)
		a->o.pod_interface_prefix = arg + 17;
	else if (!strncmp(arg, "node-cidr=", 10))
		a->node_pod[a->o.nnode_pod_cidrs++] = arg + 10;
	else {
		fprintf(err, "import-k8s: --detect-local: expected bridge=IFNAME, "
			"interface-prefix=PREFIX or node-cidr=CIDR, not '%s'\n", arg);
		return EXIT_USAGE;
	}
	if (!!a->o.pod_bridge + !!a->o.pod_interface_prefix + !!a->o.nnode_pod_cidrs > 1) {
		fputs("import-k8s: --detect-local: one mode only\n", err);
		return EXIT_USAGE;
	}
	return 0;
}

/* 0, -1 (--help), or EXIT_USAGE (said). */
static int parse_args(struct args *a, int argc, char **argv, FILE *out, FILE *err)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "zone", required_argument, NULL, 'z' },
		{ "detect-local", required_argument, NULL, 'd' },
		{ "pod-cidr", required_argument, NULL, 'p' },
		{ "service-cidr", required_argument, NULL, 's' },
		{ "node-ip", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, rc = 0, saved = opterr;

	opterr = 0;	/* our messages go to err */
	optind = 0;	/* argv[0] is the command: getopt starts after it */
	while (!rc && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': a->o.node_name = optarg; break;
		case 'z': a->o.zone = optarg; break;
		case 'd': rc = detect_local(a, optarg, err); break;
		case 'p': a->pod[a->o.npod_cidrs++] = optarg; break;
		case 's': a->svc[a->o.nservice_cidrs++] = optarg; break;
		case 'i': a->ips[a->o.nnode_ips++] = optarg; break;
		case 'h':
			usage(out);
			rc = -1;
			break;
		case ':':
			fprintf(err, "import-k8s: option '%s' needs an argument\n", argv[optind - 1]);
			rc = EXIT_USAGE;
			break;
		default:
			fprintf(err, "import-k8s: unknown option '%s'\n", argv[optind - 1]);
			rc = EXIT_USAGE;
		}
	}
	opterr = saved;
	if (!rc && argc == optind) {
		fputs("import-k8s: expected FILE...: Services and EndpointSlices, JSON or YAML\n", err);
		rc = EXIT_USAGE;
	}
	if (rc == EXIT_USAGE)
		usage(err);
	return rc;
}

/* "import-k8s: [warning: ]FILE[:LINE:COL]: message" */
static void print_diags(const struct svcc_ctx *ctx, FILE *err)
{
	for (size_t i = 0; i < svcc_diag_count(ctx); i++) {
		const struct svcc_diag *d = svcc_diag_get(ctx, i);

		fputs("import-k8s: ", err);
		if (d->severity == SVCC_WARNING)
			fputs("warning: ", err);
		if (d->file && d->line)
			fprintf(err, "%s:%d:%d: ", d->file, d->line, d->column);
		else if (d->file)
			fprintf(err, "%s: ", d->file);
		fprintf(err, "%s\n", d->message);
	}
}

static int import(struct args *a, char *const *files, size_t n, FILE *out, FILE *err)
{
	struct svcc_ctx *ctx = svcc_ctx_new();
	struct svcc_config *cfg = NULL;
	int rc = EXIT_INPUT;

	if (!ctx) {
		fputs("import-k8s: out of memory\n", err);
		return EXIT_INPUT;
	}
	if (svcc_import_k8s(ctx, (const char *const *)files, n, &a->o, &cfg)) {
		print_diags(ctx, err);
		if (errno == EINVAL) {	/* an option the library refused */
			usage(err);
			rc = EXIT_USAGE;
		}
		goto out;
	}
	print_diags(ctx, err);
	fputs("# Generated by svcc import-k8s from Kubernetes Services and EndpointSlices.\n", out);
	if (a->o.node_name)
		fprintf(out, "# Endpoints on node %s are local.\n", a->o.node_name);
	fputc('\n', out);
	if (svcc_config_write(cfg, out) || fflush(out) || ferror(out))
		fprintf(err, "import-k8s: cannot write the config: %s\n", strerror(errno));
	else
		rc = 0;
out:
	svcc_config_free(cfg);
	svcc_ctx_free(ctx);
	return rc;
}

int import_k8s_main(int argc, char **argv, FILE *out, FILE *err)
{
	size_t n = argc > 0 ? (size_t)argc : 1;
	struct args a = {
		.pod = calloc(n, sizeof(char *)), .svc = calloc(n, sizeof(char *)),
		.ips = calloc(n, sizeof(char *)), .node_pod = calloc(n, sizeof(char *)),
	};
	int rc = EXIT_INPUT;

	if (!a.pod || !a.svc || !a.ips || !a.node_pod)
		fputs("import-k8s: out of memory\n", err);
	else if (!(rc = parse_args(&a, argc, argv, out, err))) {
		a.o.pod_cidrs = a.pod;
		a.o.service_cidrs = a.svc;
		a.o.node_ips = a.ips;
		a.o.node_pod_cidrs = a.node_pod;
		rc = import(&a, argv + optind, (size_t)(argc - optind), out, err);
	} else if (rc < 0)
		rc = 0;		/* --help */
	free(a.pod);
	free(a.svc);
	free(a.ips);
	free(a.node_pod);
	return rc;
}
