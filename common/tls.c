// SPDX-License-Identifier: Apache-2.0
/*
 * Credentials for the transport.  With TLS on, the server requires and
 * verifies a client certificate, so every stream has a verified identity.
 */
#include "tls.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEM_MAX (1 << 20)

static bool is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Reads a whole PEM file into a NUL-terminated buffer the caller frees. */
static char *read_pem(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 strerror(errno));
		return NULL;
	}
	buf = malloc(PEM_MAX + 1);
	n = buf != NULL ? fread(buf, 1, PEM_MAX, f) : 0;
	fclose(f);
	if (buf == NULL || n == 0 || n == PEM_MAX) {
		snprintf(err, errlen, "%s is empty or larger than 1 MiB", path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Loads the three files; 1 when none is named, 0 when all loaded, -1 on
 * error. */
static int load_three(const char *ca, const char *cert, const char *key,
		      char *pem[3], char *err, size_t errlen)
{
	const char *paths[3] = { ca, cert, key };
	int set = is_set(ca) + is_set(cert) + is_set(key);

	if (set == 0)
		return 1;
	if (set != 3) {
		snprintf(err, errlen,
			 "TLS needs all of tls_ca, tls_cert and tls_key");
		return -1;
	}
	for (int i = 0; i < 3; i++) {
		pem[i] = read_pem(paths[i], err, errlen);
		if (pem[i] == NULL) {
			while (i-- > 0)
				free(pem[i]);
			return -1;
		}
	}
	return 0;
}

/* The PEM files of one side, loaded; pair points into pem[]. */
struct pems {
	char *pem[3];
	grpc_ssl_pem_key_cert_pair pair;
};

static int load_pems(const char *ca, const char *cert, const char *key,
		     struct pems *p, char *err, size_t errlen)
{
	int r = load_three(ca, cert, key, p->pem, err, errlen);

	if (r == 0) {
		p->pair.private_key = p->pem[2];
		p->pair.cert_chain = p->pem[1];
	}
	return r;
}

static void free_pems(struct pems *p)
{
	for (int i = 0; i < 3; i++)
		free(p->pem[i]);
}

grpc_channel_credentials *px_tls_channel_creds(const char *ca,
					       const char *cert,
					       const char *key, char *err,
					       size_t errlen)
{
	grpc_channel_credentials *creds;
	struct pems p;
	int r = load_pems(ca, cert, key, &p, err, errlen);

	if (r < 0)
		return NULL;
	if (r == 1)
		return grpc_insecure_credentials_create();
	creds = grpc_ssl_credentials_create(p.pem[0], &p.pair, NULL, NULL);
	free_pems(&p);
	if (creds == NULL)
		snprintf(err, errlen, "gRPC refused the TLS credentials");
	return creds;
}

grpc_server_credentials *px_tls_server_creds(const char *ca, const char *cert,
					     const char *key, char *err,
					     size_t errlen)
{
	grpc_server_credentials *creds;
	struct pems p;
	int r = load_pems(ca, cert, key, &p, err, errlen);

	if (r < 0)
		return NULL;
	if (r == 1)
		return grpc_insecure_server_credentials_create();
	creds = grpc_ssl_server_credentials_create_ex(
		p.pem[0], &p.pair, 1,
		GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
	free_pems(&p);
	if (creds == NULL)
		snprintf(err, errlen, "gRPC refused the TLS credentials");
	return creds;
}
