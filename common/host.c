// SPDX-License-Identifier: Apache-2.0
/*
 * Host facts (machine id, kernel, OS) and identity helpers.
 */
#include "host.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

/* Reads the first line of <path> into <out> without its newline. */
static void read_line(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "re");

	out[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(out, (int)cap, f) != NULL)
		out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

/* PRETTY_NAME from os-release, without its quotes. */
static void read_os(char *out, size_t cap)
{
	char line[256];
	FILE *f = fopen("/etc/os-release", "re");

	out[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *v;

		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		v = line + 12;
		v[strcspn(v, "\n")] = '\0';
		if (*v == '"') {
			v++;
			v[strcspn(v, "\"")] = '\0';
		}
		snprintf(out, cap, "%s", v);
		break;
	}
	fclose(f);
}

void px_host_probe(struct px_host *h)
{
	struct utsname u;

	memset(h, 0, sizeof(*h));
	if (uname(&u) == 0) {
		snprintf(h->hostname, sizeof(h->hostname), "%s", u.nodename);
		snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);
		snprintf(h->arch, sizeof(h->arch), "%s", u.machine);
	}
	read_line("/etc/machine-id", h->host_id, sizeof(h->host_id));
	if (h->host_id[0] == '\0')
		snprintf(h->host_id, sizeof(h->host_id), "%s", h->hostname);
	read_line("/proc/sys/kernel/random/boot_id", h->kernel_boot_id,
		  sizeof(h->kernel_boot_id));
	read_os(h->os, sizeof(h->os));
}

void px_uuid4(char out[37])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got < sizeof(b)) {
		/* No entropy source at all: fall back to time and pid, still
		 * unique enough to tell two runs of one source apart. */
		uint64_t t = px_now_ns() ^ ((uint64_t)getpid() << 32);

		memcpy(b, &t, sizeof(t));
		t = px_mono_ns();
		memcpy(b + 8, &t, sizeof(t));
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

void px_host_to_pb(const struct px_host *h, Parallax__V1__HostFacts *pb)
{
	parallax__v1__host_facts__init(pb);
	pb->host_id = (char *)h->host_id;
	pb->hostname = (char *)h->hostname;
	pb->kernel = (char *)h->kernel;
	pb->os = (char *)h->os;
	pb->arch = (char *)h->arch;
	pb->kernel_boot_id = (char *)h->kernel_boot_id;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t px_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

uint64_t px_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}
