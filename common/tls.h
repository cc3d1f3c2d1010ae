/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gRPC credentials from PEM files: plaintext when no file is named, mutual
 * TLS when all three are.
 */
#ifndef PX_TLS_H
#define PX_TLS_H

#include <stddef.h>

#include <grpc/grpc_security.h>

/* NULL ca, cert and key: insecure credentials.  All three: mTLS.  Anything
 * else, or an unreadable file: NULL with the reason in <err>. */
grpc_channel_credentials *px_tls_channel_creds(const char *ca,
					       const char *cert,
					       const char *key, char *err,
					       size_t errlen);
grpc_server_credentials *px_tls_server_creds(const char *ca, const char *cert,
					     const char *key, char *err,
					     size_t errlen);

#endif
