/* A self-signed TLS certificate for local use, made on first start when no tls-cert and tls-key
 * are configured (browsers warn about it; it is for a developer's machine, not for patients). */
#ifndef SIG_TLS_CERT_H
#define SIG_TLS_CERT_H

#include <stddef.h>

/* Days the certificate is valid after it is made: 397, within the 398 days browsers accept. */
#define TLS_CERT_DAYS 397

/* Makes an ECDSA P-256 self-signed certificate (CN=localhost, subjectAltName DNS:localhost,
 * IP:127.0.0.1, IP:::1, serverAuth, valid from 1 day before now to TLS_CERT_DAYS days after)
 * and writes cert_path (mode 0644) and key_path (mode 0600, created with that mode: at no moment
 * readable by others, whatever the umask), each PEM, each by writing and syncing a temporary
 * file in the same directory and renaming it over the final name. The key is written first.
 * Does nothing and returns 0 when both files already exist; -EEXIST when only one does (a
 * half-made or half-deleted pair: the caller reports it rather than overwrite a real key).
 * Returns 0 or a negative errno (-EINVAL for a NULL or empty path, the errno of a failed file
 * operation, -EIO when OpenSSL fails), with a message naming the file in err (err_len bytes,
 * "" on success). */
int tls_cert_ensure(const char *cert_path, const char *key_path, char *err, size_t err_len);

#endif
