/* SPDX-License-Identifier: MIT */
/*
 * The library's version at run time: a program linked against libsvcc.so.0
 * may run with a newer library than the SVCC_VERSION it was compiled with.
 */
#include "svcc.h"

const char *svcc_version(void)
{
	return SVCC_VERSION;
}
