/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Facts about this host and this process's identity on the wire.
 */
#ifndef PX_HOST_H
#define PX_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "parallax.pb-c.h"

#define PX_VERSION "0.1.0"

/* Strings filled by px_host_probe(); all NUL-terminated, possibly empty. */
struct px_host {
	char host_id[64];        /* /etc/machine-id, else the hostname */
	char hostname[256];
	char kernel[128];
	char os[128];
	char arch[32];
	char kernel_boot_id[40];
};

/* Reads the facts of the running host.  Never fails: what cannot be read
 * stays empty. */
void px_host_probe(struct px_host *h);

/* A fresh random UUID (version 4) string, used as a source's boot_id. */
void px_uuid4(char out[37]);

/* Points the fields of <pb> at the strings of <h> (borrowed: <h> must
 * outlive <pb>). */
void px_host_to_pb(const struct px_host *h, Parallax__V1__HostFacts *pb);

/* Wall clock in nanoseconds since the Unix epoch. */
uint64_t px_now_ns(void);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t px_mono_ns(void);

#endif
