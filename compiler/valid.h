/* SPDX-License-Identifier: MIT */
/*
 * What Kubernetes' own validation and nftables accept: which addresses may
 * be endpoints or service addresses, and how long names may be.  One copy,
 * for the checker, the builder API and svcc import-k8s alike (model.c).
 */
#ifndef SVCC_VALID_H
#define SVCC_VALID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most specific class an address is in. */
enum addr_class {
	ADDR_UNICAST,		/* none of the below */
	ADDR_UNSPECIFIED,	/* 0.0.0.0, :: */
	ADDR_LOOPBACK,		/* 127.0.0.0/8, ::1 */
	ADDR_LINK_LOCAL,	/* 169.254.0.0/16, fe80::/10 */
	ADDR_LL_MULTICAST,	/* 224.0.0.0/24, ff02::/16 */
	ADDR_MULTICAST,		/* 224.0.0.0/4, ff00::/8 */
	ADDR_BROADCAST,		/* 255.255.255.255 */
};

/* What an address is used as: Kubernetes takes fewer classes for endpoints. */
enum addr_use {
	USE_ENDPOINT,		/* no class but unicast */
	USE_SERVICE,		/* vip, external-ip, load-balancer: link-local allowed */
};

/* family 4 or 6, bytes in network order (IPv4 in the first 4); ::ffff:a.b.c.d as a.b.c.d */
enum addr_class addr_classify(int family, const uint8_t *bytes);
/* ADDR_UNICAST when the address may be used so; else its class. */
enum addr_class addr_unusable(int family, const uint8_t *bytes, enum addr_use use);
/* "a loopback address", "the broadcast address", ... */
const char *addr_class_name(enum addr_class c);

/*
 * Names.  A service is [NAMESPACE/]NAME: the namespace a DNS-1123 label,
 * the name a DNS-1035 label, both at most 63 characters; a port name an
 * IANA_SVC_NAME, at most 15.  nftables takes names of at most 255 bytes
 * (NFT_NAME_MAXLEN 256 with the NUL): the chains named after services
 * must fit (lw_longest_chain).
 */
#define K8S_LABEL_MAX		63
#define K8S_NAMESPACE_RULE	"a Kubernetes namespace is a DNS-1123 label"
#define K8S_SERVICE_NAME_RULE	"a Kubernetes service name is a DNS-1035 label"
#define K8S_PORT_NAME_MAX	15
#define NFT_NAME_MAX		255

/*
 * NULL when the service name is within Kubernetes' limits; else why not
 * ("a namespace is a DNS-1123 label"), with the part's length and limit.
 */
const char *service_name_too_long(const char *name, size_t *len, size_t *max);

/*
 * Words the language takes.  A name: letters, digits, '-', '_', '.', and
 * with slash_ok one '/' between two such parts ([namespace/]name).  A
 * topology name (zone, node): letters, digits, '-', '_', '.', 1 to max
 * (what Kubernetes takes as a label value, or a node name).  An interface
 * name or prefix: what the kernel takes, 1 to 15 bytes, no '/', '*',
 * quote nor blank.
 */
#define TOPO_ZONE_MAX		63
#define TOPO_NODE_MAX		253
#define IFNAME_MAX		15
#define AFFINITY_TIMEOUT_MAX	86400
bool name_valid(const char *s, bool slash_ok);
/*
 * A word the language can say where a name goes: one word of the scanner
 * ([A-Za-z0-9_.:/] and '-' inside, not at either end), not a keyword
 * (but "all", "from" and "non-pod", which the grammar takes as a word;
 * with attr, "port" and "zone" too, as an endpoint's attributes take them).
 */
bool lang_word(const char *s, bool attr);
bool topo_name_valid(const char *s, size_t max);
bool iface_name_valid(const char *s);

#endif
