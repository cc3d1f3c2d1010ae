// SPDX-License-Identifier: Apache-2.0
/* Bounds derived from the memory cap (see memcap.h). */
#include "memcap.h"

/* <configured> lowered to what <share> bytes hold at <cost> each, never
 * below <floor> (0 configured: that bound); *<clamped> says whether a
 * configured value was lowered. */
static uint64_t clamp(uint64_t configured, uint64_t share, uint64_t cost,
		      uint64_t floor, bool *clamped)
{
	uint64_t derived = share / cost;

	if (derived < floor)
		derived = floor;
	*clamped = configured && configured > derived;
	return configured && !*clamped ? configured : derived;
}

void agent_mem_bounds(uint64_t cap_bytes, uint64_t max_processes,
		      uint64_t queue_max_events, struct agent_mem_bounds *out)
{
	out->max_processes = max_processes ? max_processes :
			     AGENT_UNCAPPED_PROCESSES;
	out->queue_max_events = queue_max_events ? queue_max_events :
				AGENT_UNCAPPED_QUEUE_EVENTS;
	out->clamped_processes = false;
	out->clamped_queue = false;
	if (!cap_bytes)
		return;
	out->max_processes = clamp(max_processes, cap_bytes / 4,
				   AGENT_PROC_COST_BYTES, AGENT_MIN_PROCESSES,
				   &out->clamped_processes);
	out->queue_max_events = clamp(queue_max_events, cap_bytes / 4,
				      AGENT_EVENT_COST_BYTES,
				      AGENT_MIN_QUEUE_EVENTS,
				      &out->clamped_queue);
}
