/* SPDX-License-Identifier: MIT */
/* C side of the Go binding: what cgo cannot do by itself (FILE * into a
 * string, callbacks into a list).  Only svcc.h's public calls are used. */
#ifndef GOSVCC_HELPERS_H
#define GOSVCC_HELPERS_H

#include <stdio.h>
#include <svcc.h>

/* An open_memstream kept in C memory: the stream writes data and len when
 * closed, after the cgo call that made it has returned. */
struct gosvcc_buf {
	char *data;
	size_t len;
	FILE *f;
};
struct gosvcc_buf *gosvcc_buf_open(void);
int gosvcc_buf_close(struct gosvcc_buf *b);	/* 0, or EOF with errno */
void gosvcc_buf_free(struct gosvcc_buf *b);

/* Names collected by svcc_config_each_changed_service (strdup'ed). */
struct gosvcc_names {
	char **v;
	size_t n, cap;
};
int gosvcc_changed_services(const struct svcc_config *old, const struct svcc_config *new_cfg,
			    struct gosvcc_names *out);
void gosvcc_names_free(struct gosvcc_names *names);

#endif
