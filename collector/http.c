// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP on the collector's loop (see http.h).  h2o parses and answers; a
 * query request waits in a FIFO for the API's database connection.  The
 * request may go away first (the client hung up): a small record in its
 * memory pool clears our pointer to it when h2o disposes of it, and the
 * answer is then dropped.
 */
#define H2O_USE_LIBUV 1
#include "http.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <h2o.h>
#include <h2o/socket/uv-binding.h>

#include "log.h"
#include "pgconn.h"
#include "queries.h"
#include "sqlbuf.h"

#define MAX_PENDING 256

/* Lives in the request's pool; tells the pending entry it is gone. */
struct req_link {
	struct pending *p;
};

struct pending {
	struct pending *next;
	struct coll_http *h;
	h2o_req_t *req;              /* NULL once the client is gone */
	struct req_link *link;       /* in req's pool, while req lives */
	const struct coll_query *q;
	char *params[COLL_Q_NPARAMS];
};


struct api_handler {
	h2o_handler_t super;
	struct coll_http *h;
};

struct coll_http {
	uv_loop_t *loop;
	uv_tcp_t listener;
	h2o_globalconf_t config;
	h2o_context_t ctx;
	h2o_accept_ctx_t accept_ctx;
	struct coll_pg *pg;
	struct coll_metrics *metrics;
	struct pending *head, *tail;
	struct pending *running;
	size_t n_pending;
	int port;
};

static void respond(h2o_req_t *req, int status, const char *reason,
		    const char *type, const char *body, size_t len)
{
	req->res.status = status;
	req->res.reason = reason;
	req->res.content_length = len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
		       NULL, type, strlen(type));
	h2o_send_inline(req, body, len);
}

static void respond_error(h2o_req_t *req, int status, const char *reason,
			  const char *msg)
{
	struct coll_buf b = { 0 };

	coll_json_begin(&b);
	coll_json_str(&b, "error", msg);
	coll_json_end(&b);
	coll_buf_puts(&b, "\n");
	respond(req, status, reason, "application/json", b.oom ? "" : b.p,
		b.oom ? 0 : b.len);
	coll_buf_free(&b);
}

static void pending_free(struct pending *p)
{
	if (p->link != NULL)
		p->link->p = NULL;
	for (int i = 0; i < COLL_Q_NPARAMS; i++)
		free(p->params[i]);
	free(p);
}

static void on_req_gone(void *arg)
{
	struct req_link *l = arg;

	if (l->p != NULL) {
		l->p->req = NULL;
		l->p->link = NULL;
	}
}

static void run_next(struct coll_http *h);

static void on_query_done(void *arg, PGresult *res)
{
	struct pending *p = arg;
	struct coll_http *h = p->h;

	h->running = NULL;
	if (p->req != NULL) {
		if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1) {
			const char *json = PQgetvalue(res, 0, 0);

			respond(p->req, 200, "OK", "application/json", json,
				strlen(json));
		} else {
			char msg[512];

			snprintf(msg, sizeof(msg), "%s",
				 res != NULL ? PQresultErrorMessage(res) :
					       "database connection lost");
			msg[strcspn(msg, "\n")] = '\0';
			/* A malformed since/until is the client's fault. */
			respond_error(p->req, res != NULL &&
				      coll_pg_error_is_permanent(res) ? 400 : 503,
				      "Query failed", msg);
		}
	}
	pending_free(p);
	run_next(h);
}

/* Sends the next waiting query when the connection is free. */
static void run_next(struct coll_http *h)
{
	char sql[8192];

	while (h->running == NULL && h->head != NULL && coll_pg_ready(h->pg)) {
		struct pending *p = h->head;

		h->head = p->next;
		if (h->head == NULL)
			h->tail = NULL;
		h->n_pending--;
		if (p->req == NULL ||
		    coll_query_sql(p->q, true, sql, sizeof(sql)) < 0 ||
		    coll_pg_query_text(h->pg, sql, COLL_Q_NPARAMS,
				       (const char *const *)p->params,
				       on_query_done, p) < 0) {
			if (p->req != NULL)
				respond_error(p->req, 503, "Unavailable",
					      "database unavailable");
			pending_free(p);
			continue;
		}
		h->running = p;
	}
}

static void on_db_ready(void *arg)
{
	run_next(arg);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes <n> bytes of <s> ('+' is a space); NULL on bad input. */
static char *url_decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else if (s[i] == '%' || s[i] == '\0') {
			free(out);
			return NULL;
		} else {
			*o++ = s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Fills p->params from the query string <qs> (without '?'); -EINVAL for
 * an unknown or malformed parameter (named in <bad>). */
static int parse_params(struct pending *p, const char *qs, size_t len,
			char *bad, size_t badlen)
{
	size_t i = 0;

	while (i < len) {
		size_t end = i, eq;
		int k;

		while (end < len && qs[end] != '&')
			end++;
		for (eq = i; eq < end && qs[eq] != '='; eq++)
			;
		for (k = 0; k < COLL_Q_NPARAMS; k++)
			if (strlen(coll_qparam_names[k]) == eq - i &&
			    memcmp(coll_qparam_names[k], qs + i, eq - i) == 0)
				break;
		if (eq == i && end == i) {
			i = end + 1;
			continue;
		}
		if (k == COLL_Q_NPARAMS || eq == end) {
			snprintf(bad, badlen, "unknown or empty parameter '%.*s'",
				 (int)(eq - i), qs + i);
			return -EINVAL;
		}
		free(p->params[k]);
		p->params[k] = url_decode(qs + eq + 1, end - eq - 1);
		if (p->params[k] == NULL) {
			snprintf(bad, badlen, "malformed value of '%s'",
				 coll_qparam_names[k]);
			return -EINVAL;
		}
		i = end + 1;
	}
	return 0;
}

static void api(struct coll_http *h, h2o_req_t *req, const char *name,
		size_t name_len)
{
	size_t qa = req->query_at;
	struct req_link *link;
	struct pending *p;
	char qname[64], bad[160];
	const char *why;

	snprintf(qname, sizeof(qname), "%.*s", (int)name_len, name);
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		respond_error(req, 503, "Unavailable", "out of memory");
		return;
	}
	p->h = h;
	p->q = coll_query_find(qname);
	if (p->q == NULL) {
		respond_error(req, 404, "Not Found", "no such query");
		goto err_free;
	}
	if (qa != SIZE_MAX &&
	    parse_params(p, req->path.base + qa + 1, req->path.len - qa - 1,
			 bad, sizeof(bad)) < 0) {
		respond_error(req, 400, "Bad Request", bad);
		goto err_free;
	}
	why = coll_query_missing(p->q, (const char *const *)p->params);
	if (why != NULL) {
		respond_error(req, 400, "Bad Request", why);
		goto err_free;
	}
	if (!coll_pg_ready(h->pg) && h->running == NULL) {
		respond_error(req, 503, "Unavailable", "database unavailable");
		goto err_free;
	}
	if (h->n_pending >= MAX_PENDING) {
		respond_error(req, 503, "Unavailable", "too many queries waiting");
		goto err_free;
	}
	link = h2o_mem_alloc_shared(&req->pool, sizeof(*link), on_req_gone);
	link->p = p;
	p->link = link;
	p->req = req;
	if (h->tail != NULL)
		h->tail->next = p;
	else
		h->head = p;
	h->tail = p;
	h->n_pending++;
	run_next(h);
	return;

err_free:
	pending_free(p);
}

static bool path_is(const h2o_req_t *req, const char *path)
{
	size_t n = req->query_at != SIZE_MAX ? req->query_at : req->path.len;

	return n == strlen(path) && memcmp(req->path.base, path, n) == 0;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct coll_http *h = ((struct api_handler *)self)->h;
	static const char prefix[] = "/api/v1/";
	size_t n = req->query_at != SIZE_MAX ? req->query_at : req->path.len;

	if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET"))) {
		respond_error(req, 405, "Method Not Allowed", "read-only API: GET only");
		return 0;
	}
	if (path_is(req, "/healthz")) {
		if (coll_pg_ready(h->pg) || h->running != NULL)
			respond(req, 200, "OK", "text/plain", "ok\n", 3);
		else
			respond(req, 503, "Unavailable", "text/plain",
				"database unreachable\n", 21);
		return 0;
	}
	if (path_is(req, "/metrics")) {
		struct coll_buf b = { 0 };

		coll_metrics_render(h->metrics, &b);
		if (b.oom)
			respond_error(req, 503, "Unavailable", "out of memory");
		else
			respond(req, 200, "OK", "text/plain; version=0.0.4",
				b.p, b.len);
		coll_buf_free(&b);
		return 0;
	}
	if (n > sizeof(prefix) - 1 &&
	    memcmp(req->path.base, prefix, sizeof(prefix) - 1) == 0) {
		api(h, req, req->path.base + sizeof(prefix) - 1,
		    n - (sizeof(prefix) - 1));
		return 0;
	}
	respond_error(req, 404, "Not Found", "try /healthz, /metrics or /api/v1/<query>");
	return 0;
}

static void on_accept(uv_stream_t *listener, int status)
{
	struct coll_http *h = listener->data;
	h2o_socket_t *sock;
	uv_tcp_t *conn;

	if (status != 0)
		return;
	conn = malloc(sizeof(*conn));
	if (conn == NULL)
		return;
	uv_tcp_init(listener->loop, conn);
	if (uv_accept(listener, (uv_stream_t *)conn) != 0) {
		uv_close((uv_handle_t *)conn, (uv_close_cb)free);
		return;
	}
	sock = h2o_uv_socket_create((uv_stream_t *)conn, (uv_close_cb)free);
	h2o_accept(&h->accept_ctx, sock);
}

/* Splits "host:port" into a sockaddr. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss)
{
	char host[128];
	const char *colon = strrchr(listen, ':');

	if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
		return -EINVAL;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	if (uv_ip4_addr(host, atoi(colon + 1), (struct sockaddr_in *)ss) == 0)
		return 0;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	return uv_ip6_addr(host, atoi(colon + 1), (struct sockaddr_in6 *)ss);
}

struct coll_http *coll_http_start(const struct coll_http_config *cfg,
				  char *err, size_t errlen)
{
	struct coll_http *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss = { 0 };
	struct api_handler *handler;
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	int namelen = sizeof(ss), r;

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (parse_listen(cfg->listen, &ss) < 0) {
		snprintf(err, errlen, "'%s' is not host:port", cfg->listen);
		free(h);
		return NULL;
	}
	h->loop = cfg->loop;
	h->metrics = cfg->metrics;
	uv_tcp_init(cfg->loop, &h->listener);
	h->listener.data = h;
	r = uv_tcp_bind(&h->listener, (struct sockaddr *)&ss, 0);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&h->listener, 128, on_accept);
	if (r != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen,
			 uv_strerror(r));
		uv_close((uv_handle_t *)&h->listener, (uv_close_cb)free);
		return NULL;
	}
	uv_tcp_getsockname(&h->listener, (struct sockaddr *)&ss, &namelen);
	h->port = ntohs(ss.ss_family == AF_INET6 ?
			((struct sockaddr_in6 *)&ss)->sin6_port :
			((struct sockaddr_in *)&ss)->sin_port);

	h2o_config_init(&h->config);
	host = h2o_config_register_host(&h->config,
					h2o_iovec_init(H2O_STRLIT("default")),
					65535);
	path = h2o_config_register_path(host, "/", 0);
	handler = (struct api_handler *)h2o_create_handler(path,
							   sizeof(*handler));
	handler->super.on_req = on_req;
	handler->h = h;
	h2o_context_init(&h->ctx, cfg->loop, &h->config);
	h->accept_ctx.ctx = &h->ctx;
	h->accept_ctx.hosts = h->config.hosts;
	h->pg = coll_pg_new(cfg->loop, cfg->dsn, on_db_ready, h);
	return h;
}

int coll_http_port(const struct coll_http *h)
{
	return h->port;
}

static void on_listener_closed(uv_handle_t *handle)
{
	struct coll_http *h = handle->data;

	h2o_context_dispose(&h->ctx);
	h2o_config_dispose(&h->config);
	free(h);
}

/* XXX: connections still open at stop are not closed first; h2o frees
 * them with the context. */
void coll_http_stop(struct coll_http *h)
{
	struct pending *p, *next;

	if (h == NULL)
		return;
	for (p = h->head; p != NULL; p = next) {
		next = p->next;
		pending_free(p);
	}
	if (h->running != NULL)
		pending_free(h->running);
	h->head = h->tail = h->running = NULL;
	coll_pg_free(h->pg);
	uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}
