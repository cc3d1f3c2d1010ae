// SPDX-License-Identifier: Apache-2.0
/* Token bucket (see budget.h). */
#include "budget.h"

void agent_budget_init(struct agent_budget *b, uint64_t rate, uint64_t burst,
		       uint64_t now_ns)
{
	b->rate = rate;
	b->burst = burst ? burst : rate;
	b->tokens = (double)b->burst;
	b->last_ns = now_ns;
	b->granted_bytes = 0;
	b->deferred = 0;
}

/* Adds what was earned since the last call, up to the bucket size. */
static void refill(struct agent_budget *b, uint64_t now_ns)
{
	if (now_ns > b->last_ns) {
		b->tokens += (double)(now_ns - b->last_ns) * 1e-9 *
			     (double)b->rate;
		if (b->tokens > (double)b->burst)
			b->tokens = (double)b->burst;
	}
	b->last_ns = now_ns;
}

bool agent_budget_take(struct agent_budget *b, uint64_t bytes,
		       uint64_t now_ns)
{
	if (!b->rate) {
		b->granted_bytes += bytes;
		return true;
	}
	refill(b, now_ns);
	/* Enough tokens, or a file larger than the bucket and a full one. */
	if (b->tokens >= (double)bytes ||
	    (bytes > b->burst && b->tokens >= (double)b->burst)) {
		b->tokens -= (double)bytes;
		b->granted_bytes += bytes;
		return true;
	}
	b->deferred++;
	return false;
}
