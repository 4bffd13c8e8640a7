/* SPDX-License-Identifier: MIT */
/* svcc import-k8s: Kubernetes Services and EndpointSlices (JSON, YAML) to .svc (import_cmd.c). */
#ifndef SVCC_IMPORT_K8S_H
#define SVCC_IMPORT_K8S_H

#include <stdio.h>

/*
 * svcc import-k8s FILE... [--node NAME] [--zone ZONE] [--detect-local MODE=VALUE]
 *		   [--pod-cidr CIDR]... [--service-cidr CIDR]... [--node-ip ADDR]...
 *
 * argv[0] is "import-k8s".  Writes the .svc config to out, warnings and
 * errors to err.  Returns 0, 1 (bad input: unreadable, neither JSON nor
 * YAML, not objects or Lists) or 2 (bad usage).
 */
int import_k8s_main(int argc, char **argv, FILE *out, FILE *err);

#endif
