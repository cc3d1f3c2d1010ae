// SPDX-License-Identifier: Apache-2.0
/*
 * Test batch builder (see tbatch.h).  Every allocation is recorded in a
 * small arena so that one call frees the whole message.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "tbatch.h"

#define TB_MAX_ALLOCS 1024
#define TB_MAX_ITEMS 128

struct tbatch {
	Parallax__V1__Batch b;
	Parallax__V1__Source src;
	Parallax__V1__HostFacts host;
	Parallax__V1__Event *events[TB_MAX_ITEMS];
	Parallax__V1__Finding *findings[TB_MAX_ITEMS];
	void *allocs[TB_MAX_ALLOCS];
	int n_allocs;
	uint64_t ts;
};

static void *tb_alloc(struct tbatch *t, size_t n)
{
	void *p = calloc(1, n);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_lt(t->n_allocs, TB_MAX_ALLOCS);
	t->allocs[t->n_allocs++] = p;
	return p;
}

static char *tb_str(struct tbatch *t, const char *s)
{
	char *p = tb_alloc(t, strlen(s) + 1);

	memcpy(p, s, strlen(s) + 1);
	return p;
}

struct tbatch *tb_new(const char *host_id, const char *source_id,
		      const char *boot_id, uint64_t seq, bool scanner)
{
	struct tbatch *t = calloc(1, sizeof(*t));

	ck_assert_ptr_nonnull(t);
	parallax__v1__batch__init(&t->b);
	parallax__v1__source__init(&t->src);
	parallax__v1__host_facts__init(&t->host);
	t->host.host_id = tb_str(t, host_id);
	t->host.hostname = tb_str(t, host_id);
	t->host.os = tb_str(t, "Debian GNU/Linux 12 (bookworm)");
	t->src.source_id = tb_str(t, source_id);
	t->src.boot_id = tb_str(t, boot_id);
	t->src.kind = scanner ? PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_SCANNER :
				PARALLAX__V1__SOURCE_KIND__SOURCE_KIND_AGENT;
	t->src.version = tb_str(t, "test");
	t->src.host = &t->host;
	t->b.source = &t->src;
	t->b.seq = seq;
	t->b.events = t->events;
	t->b.findings = t->findings;
	t->ts = 1700000000000000000ull + seq * 1000000000ull;
	return t;
}

static Parallax__V1__ProcessRef *tb_ref(struct tbatch *t, uint32_t pid,
					const char *exec_id)
{
	Parallax__V1__ProcessRef *r = tb_alloc(t, sizeof(*r));

	parallax__v1__process_ref__init(r);
	r->pid = pid;
	r->start_time_ns = 1000 + pid;
	r->exec_id = tb_str(t, exec_id);
	return r;
}

static Parallax__V1__Event *tb_event(struct tbatch *t)
{
	Parallax__V1__Event *e = tb_alloc(t, sizeof(*e));

	ck_assert_uint_lt(t->b.n_events, TB_MAX_ITEMS);
	parallax__v1__event__init(e);
	e->ts_ns = t->ts++;
	t->events[t->b.n_events++] = e;
	return e;
}

void tb_exec(struct tbatch *t, uint32_t pid, const char *exec_id,
	     const char *exe, const char *arg1)
{
	Parallax__V1__Event *e = tb_event(t);
	Parallax__V1__ProcessExec *x = tb_alloc(t, sizeof(*x));
	char **argv = tb_alloc(t, 2 * sizeof(char *));

	parallax__v1__process_exec__init(x);
	x->proc = tb_ref(t, pid, exec_id);
	x->ppid = 1;
	x->exe = tb_str(t, exe);
	argv[0] = tb_str(t, exe);
	argv[1] = tb_str(t, arg1);
	x->argv = argv;
	x->n_argv = 2;
	x->comm = tb_str(t, "java");
	x->loginuid = 4294967295u;
	x->cgroup_id = 18446744073709551615ull;
	e->kind_case = PARALLAX__V1__EVENT__KIND_EXEC;
	e->exec = x;
}

void tb_load(struct tbatch *t, uint32_t pid, const char *exec_id,
	     const char *path, const char *sha256)
{
	Parallax__V1__Event *e = tb_event(t);
	Parallax__V1__ArtifactLoaded *a = tb_alloc(t, sizeof(*a));

	parallax__v1__artifact_loaded__init(a);
	a->proc = tb_ref(t, pid, exec_id);
	a->path = tb_str(t, path);
	a->sha256 = tb_str(t, sha256);
	a->dev = 2049;
	a->inode = 4242;
	a->size = 1234;
	a->kind = PARALLAX__V1__LOAD_KIND__LOAD_KIND_OPEN_FILE;
	e->kind_case = PARALLAX__V1__EVENT__KIND_ARTIFACT;
	e->artifact = a;
}

void tb_exit(struct tbatch *t, uint32_t pid, const char *exec_id, int code)
{
	Parallax__V1__Event *e = tb_event(t);
	Parallax__V1__ProcessExit *x = tb_alloc(t, sizeof(*x));

	parallax__v1__process_exit__init(x);
	x->proc = tb_ref(t, pid, exec_id);
	x->exit_code = code;
	e->kind_case = PARALLAX__V1__EVENT__KIND_EXIT;
	e->exit = x;
}

void tb_net(struct tbatch *t, uint32_t pid, const char *exec_id)
{
	static uint8_t lo[4] = { 127, 0, 0, 1 };
	Parallax__V1__Event *e = tb_event(t);
	Parallax__V1__NetworkEvent *n = tb_alloc(t, sizeof(*n));

	parallax__v1__network_event__init(n);
	n->proc = tb_ref(t, pid, exec_id);
	n->kind = PARALLAX__V1__NET_KIND__NET_KIND_CONNECT;
	n->protocol = 6;
	n->remote_addr.data = lo;
	n->remote_addr.len = sizeof(lo);
	n->remote_port = 389;
	e->kind_case = PARALLAX__V1__EVENT__KIND_NET;
	e->net = n;
}

void tb_finding(struct tbatch *t, const char *path, const char *inner,
		const char *sha256, const char *name, const char *version,
		const char *cve)
{
	Parallax__V1__Finding *f = tb_alloc(t, sizeof(*f));
	Parallax__V1__PackageFinding *p = tb_alloc(t, sizeof(*p));

	ck_assert_uint_lt(t->b.n_findings, TB_MAX_ITEMS);
	parallax__v1__finding__init(f);
	parallax__v1__package_finding__init(p);
	f->type = PARALLAX__V1__FINDING_TYPE__FINDING_TYPE_PACKAGE;
	f->path = tb_str(t, path);
	f->inner = tb_str(t, inner);
	f->sha256 = tb_str(t, sha256);
	f->severity = PARALLAX__V1__SEVERITY__SEVERITY_HIGH;
	p->ecosystem = tb_str(t, "maven");
	p->name = tb_str(t, name);
	p->version = tb_str(t, version);
	p->purl = tb_str(t, "pkg:maven/org.apache.logging.log4j/log4j-core");
	p->evidence = tb_str(t, "pom.properties");
	if (cve != NULL) {
		Parallax__V1__CveEvidence *c = tb_alloc(t, sizeof(*c));
		Parallax__V1__CveEvidence **cv = tb_alloc(t, sizeof(*cv));

		parallax__v1__cve_evidence__init(c);
		c->id = tb_str(t, cve);
		c->severity = PARALLAX__V1__SEVERITY__SEVERITY_CRITICAL;
		c->evidence = tb_str(t, "JndiLookup.class present");
		cv[0] = c;
		p->cves = cv;
		p->n_cves = 1;
	}
	f->detail_case = PARALLAX__V1__FINDING__DETAIL_PACKAGE;
	f->package = p;
	t->findings[t->b.n_findings++] = f;
}

Parallax__V1__Batch *tb_batch(struct tbatch *t)
{
	return &t->b;
}

void tb_free(struct tbatch *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->n_allocs; i++)
		free(t->allocs[i]);
	free(t);
}
