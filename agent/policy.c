// SPDX-License-Identifier: Apache-2.0
/*
 * The watch policy's events: a syscall from the watch list made by a
 * process in the tree of the watched executable becomes a PolicyViolation
 * (action "alert").  The kernel reports each (process, syscall) once.
 */
#include <inttypes.h>
#include <stdio.h>

#include "agent.h"
#include "emit.h"
#include "events.h"
#include "proctab.h"

void agent_policy_event(struct agent_ctx *ctx,
			const struct px_policy_event *pe, const char *exe)
{
	const struct px_proc_ctx *c = &pe->hdr.ctx;
	char id[AGENT_EXEC_ID_LEN], text[PX_EXE_LEN + 64];
	Parallax__V1__PolicyViolation *v;
	Parallax__V1__Event *ev;

	ev = agent_ev_new(pe->hdr.ts + ctx->wall_offset_ns,
			  PARALLAX__V1__EVENT__KIND_VIOLATION);
	if (!ev)
		return;
	v = ev->violation;
	agent_exec_id(id, sizeof(id), ctx->host.host_id,
		      ctx->host.kernel_boot_id, c->tgid, c->start_time);
	v->proc = agent_ev_ref(c->tgid, c->start_time, id);
	snprintf(text, sizeof(text), "watch:%s", exe ? exe : "");
	v->policy = agent_ev_str(text);
	snprintf(text, sizeof(text), "syscall:%" PRIu32, pe->syscall_nr);
	v->rule = agent_ev_str(text);
	v->action = agent_ev_str("alert");
	snprintf(text, sizeof(text), "comm=%.16s syscall=%" PRIu32, c->comm,
		 pe->syscall_nr);
	v->detail = agent_ev_str(text);
	ctx->cnt.violations++;
	agent_emit_event(ctx->emit, ev);
}
