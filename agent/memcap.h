/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The memory cap (agent.memory_max_bytes) turned into bounds on the two
 * structures that grow with the host's activity: the process table and
 * the queue of events waiting for the collector.  Each may take a quarter
 * of the cap at its estimated cost per entry; the other half is left to
 * the digest cache (which the health tick cuts past the cap), libbpf,
 * gRPC and the code.  A configured bound below the derived one is kept.
 */
#ifndef AGENT_MEMCAP_H
#define AGENT_MEMCAP_H

#include <stdbool.h>
#include <stdint.h>

/* Estimated bytes held per tracked process (its entry, exec id and a few
 * artifact marks, with malloc overhead) and per queued event (an exec with
 * its argv, exe and ids as protobuf-c messages). */
#define AGENT_PROC_COST_BYTES 1024u
#define AGENT_EVENT_COST_BYTES 1024u
/* Floors, so that a tiny cap still leaves a working agent. */
#define AGENT_MIN_PROCESSES 1024u
#define AGENT_MIN_QUEUE_EVENTS 1024u
/* The bounds of an agent with neither a cap nor a configured bound. */
#define AGENT_UNCAPPED_PROCESSES 131072u
#define AGENT_UNCAPPED_QUEUE_EVENTS 65536u

struct agent_mem_bounds {
	uint64_t max_processes;
	uint64_t queue_max_events;
	bool clamped_processes;		/* a configured value was lowered */
	bool clamped_queue;
};

/*
 * Derives the bounds from <cap_bytes> (0: no cap, the configured values
 * stand) and the configured <max_processes> and <queue_max_events> (0 in
 * either, the default: the bound derived from the cap, or the uncapped
 * default when there is no cap).  Only a configured value above the
 * derived bound counts as clamped.
 */
void agent_mem_bounds(uint64_t cap_bytes, uint64_t max_processes,
		      uint64_t queue_max_events, struct agent_mem_bounds *out);

#endif
