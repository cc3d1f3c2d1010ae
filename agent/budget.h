/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A token bucket for the agent's I/O budget: hashing may read <rate>
 * bytes per second on average, in bursts of up to <burst> bytes.  A file
 * larger than the burst is let through when the bucket is full, and the
 * debt it leaves is paid back before anything else is read.  Time is given
 * by the caller (monotonic ns), so the bucket is easy to test.
 */
#ifndef AGENT_BUDGET_H
#define AGENT_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

struct agent_budget {
	uint64_t rate;		/* bytes per second; 0: no limit */
	uint64_t burst;		/* bucket size in bytes */
	double tokens;		/* may go negative: debt */
	uint64_t last_ns;
	uint64_t granted_bytes;
	uint64_t deferred;	/* requests refused */
};

/* A full bucket at time <now_ns>. */
void agent_budget_init(struct agent_budget *b, uint64_t rate, uint64_t burst,
		       uint64_t now_ns);

/* True (and the bytes taken) when <bytes> may be read now. */
bool agent_budget_take(struct agent_budget *b, uint64_t bytes,
		       uint64_t now_ns);

#endif
