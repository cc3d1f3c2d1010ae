// SPDX-License-Identifier: Apache-2.0
/*
 * Network events: turns the socket state program's records (bpf/net.bpf.c)
 * into NetworkEvent messages.  The process is the one the kernel noted as
 * the socket's owner.  Listeners older than the agent get theirs from the
 * listener pass at start and on resync; an accept that still has none (a
 * listener opened and accepted on between two passes while its LISTEN was
 * lost) is only counted (net_unowned, in the health log line).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "emit.h"
#include "events.h"
#include "proctab.h"

#define AF_INET_ 2

/* A bytes field holding the first <len> bytes of <addr>. */
static ProtobufCBinaryData addr_bytes(const uint8_t *addr, size_t len)
{
	ProtobufCBinaryData b = { 0, NULL };

	b.data = malloc(len);
	if (b.data) {
		memcpy(b.data, addr, len);
		b.len = len;
	}
	return b;
}

void agent_net_event(struct agent_ctx *ctx, const struct px_net_event *ne)
{
	const struct px_proc_ctx *c = &ne->hdr.ctx;
	size_t alen = ne->family == AF_INET_ ? 4 : 16;
	Parallax__V1__NetworkEvent *n;
	char id[AGENT_EXEC_ID_LEN];
	Parallax__V1__Event *ev;

	/* Every event names its process on the wire; an accept on a
	 * listener the kernel never saw open (older than the agent) is
	 * counted instead. */
	if (!c->tgid) {
		ctx->cnt.net_unowned++;
		return;
	}
	ev = agent_ev_new(ne->hdr.ts + ctx->wall_offset_ns,
			  PARALLAX__V1__EVENT__KIND_NET);
	if (!ev)
		return;
	n = ev->net;
	agent_exec_id(id, sizeof(id), ctx->host.host_id,
		      ctx->host.kernel_boot_id, c->tgid, c->start_time);
	n->proc = agent_ev_ref(c->tgid, c->start_time, id);
	n->kind = (Parallax__V1__NetKind)ne->kind;
	n->protocol = ne->protocol;
	n->local_addr = addr_bytes(ne->saddr, alen);
	n->local_port = ne->sport;
	if (ne->kind == PX_NET_CONNECT || ne->kind == PX_NET_ACCEPT) {
		n->remote_addr = addr_bytes(ne->daddr, alen);
		n->remote_port = ne->dport;
	}
	ctx->cnt.net_events++;
	agent_emit_event(ctx->emit, ev);
}
