/* SPDX-License-Identifier: MIT */
/*
 * Kubernetes objects as kubectl and the API server give them: a JSON
 * document, or a YAML stream of any number of documents, read into jansson
 * values so that one importer serves both.
 */
#ifndef SVCC_K8S_READ_H
#define SVCC_K8S_READ_H

#include <stddef.h>

#include <jansson.h>

/* Why a read failed; the caller owns it.  line 0: no position. */
struct k8s_read_error {
	int line, column;	/* 1-based */
	char text[160];
};

/* A file's documents (a JSON file has one; an empty YAML stream none). */
struct k8s_docs {
	json_t **v;
	size_t n, cap;
};

/*
 * Read path ("-": standard input), or len bytes of buf, into docs (appended).
 * JSON when the first non-blank character is '{' or '[', YAML otherwise.
 * Duplicate keys are errors, as a YAML or JSON parser in Kubernetes has them.
 * 0, or -1 with err filled and errno set: EBADMSG (not JSON or YAML), ENOMEM,
 * or what reading the file failed with.
 */
int k8s_read_file(const char *path, struct k8s_docs *docs, struct k8s_read_error *err);
int k8s_read_buffer(const char *buf, size_t len, struct k8s_docs *docs,
		    struct k8s_read_error *err);
void k8s_docs_free(struct k8s_docs *docs);

#endif
