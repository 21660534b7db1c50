/* The self-signed certificate: an EC key and an X.509 v3 certificate from OpenSSL, each written
 * to a temporary file beside its final name and renamed, so a crash leaves no half-written PEM. */
#include "tls_cert.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define TLS_PATH_MAX 4096

/* Writes "what: OpenSSL's reason" to err and clears OpenSSL's error queue. */
static int tls_fail_ssl(char *err, size_t len, const char *what)
{
    char reason[256] = "unknown error";
    unsigned long e = ERR_peek_last_error();
    if (e != 0)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    snprintf(err, len, "%s: %s", what, reason);
    return -EIO;
}

static int tls_fail_errno(char *err, size_t len, int e, const char *what, const char *path)
{
    snprintf(err, len, "%s %s: %s", what, path, strerror(e));
    return -e;
}

static int cert_ext_add(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (ext == NULL)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : -1;
}

/* A random positive 127-bit serial: RFC 5280 wants serials unique per issuer, and a fresh key
 * is its own issuer, but browsers that remember an exception do so by issuer and serial. */
static int cert_serial_set(X509 *x)
{
    unsigned char raw[16];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -1;
    raw[0] &= 0x7f;
    raw[0] |= 0x01; /* never zero, and always 16 bytes long */
    BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? 0 : -1;
}

static int cert_make(EVP_PKEY **key_out, X509 **cert_out, char *err, size_t len)
{
    X509V3_CTX v3;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();
    int rc = 0;
    if (key == NULL || x == NULL) {
        rc = tls_fail_ssl(err, len, "making the key");
        goto out;
    }
    X509_NAME *name = X509_get_subject_name(x);
    /* Valid from a day ago, so a clock a little behind the one that made it still accepts it. */
    bool ok = X509_set_version(x, X509_VERSION_3) == 1 && cert_serial_set(x) == 0 &&
              X509_gmtime_adj(X509_getm_notBefore(x), -86400L) != NULL &&
              X509_gmtime_adj(X509_getm_notAfter(x), (long)TLS_CERT_DAYS * 86400L) != NULL &&
              X509_set_pubkey(x, key) == 1 &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                         (const unsigned char *)"localhost", -1, -1, 0) == 1 &&
              X509_set_issuer_name(x, name) == 1;
    if (ok) {
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        /* Browsers match the name in subjectAltName only; the CN is for people reading it. */
        ok = cert_ext_add(x, &v3, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
             cert_ext_add(x, &v3, NID_key_usage, "critical,digitalSignature") == 0 &&
             cert_ext_add(x, &v3, NID_ext_key_usage, "serverAuth") == 0 &&
             cert_ext_add(x, &v3, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1") == 0 &&
             cert_ext_add(x, &v3, NID_subject_key_identifier, "hash") == 0;
    }
    if (ok)
        ok = X509_sign(x, key, EVP_sha256()) > 0;
    if (!ok) {
        rc = tls_fail_ssl(err, len, "making the certificate");
        goto out;
    }
    *key_out = key;
    *cert_out = x;
    return 0;
out:
    EVP_PKEY_free(key);
    X509_free(x);
    return rc;
}

/* The directory part of path ("." when there is none), for the temporary file's sync. */
static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        buf += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes data (n bytes) to path with mode: a temporary file made by mkostemp (mode 0600 from
 * its creation), fchmod to mode, fsync, rename over path, fsync of the directory so the rename
 * survives a power cut. */
static int file_put(const char *path, mode_t mode, const char *data, size_t n, char *err,
                    size_t len)
{
    char tmp[TLS_PATH_MAX], dir[TLS_PATH_MAX];
    int rc = 0;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp)) {
        snprintf(err, len, "path too long: %s", path);
        return -ENAMETOOLONG;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return tls_fail_errno(err, len, errno, "cannot create a file beside", path);
    if (fchmod(fd, mode) < 0) {
        rc = tls_fail_errno(err, len, errno, "cannot set the mode of", tmp);
        goto out;
    }
    rc = write_all(fd, data, n);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (rc < 0) {
        tls_fail_errno(err, len, -rc, "cannot write", tmp);
        goto out;
    }
    if (close(fd) < 0) {
        fd = -1;
        rc = tls_fail_errno(err, len, errno, "cannot write", tmp);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        rc = tls_fail_errno(err, len, errno, "cannot rename a temporary file to", path);
        goto out;
    }
    dir_of(path, dir, sizeof(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        /* Best effort: the files are whole either way; only their names could be lost. */
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
out:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return rc;
}

/* PEM of the key (PKCS#8, unencrypted: the service must start unattended) or the certificate,
 * written to path. The key's PEM is wiped from memory after. */
static int pem_put(const char *path, mode_t mode, EVP_PKEY *key, X509 *cert, char *err, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    int rc;
    if (b == NULL ||
        (key != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1) ||
        (cert != NULL && PEM_write_bio_X509(b, cert) != 1)) {
        rc = tls_fail_ssl(err, len, "encoding PEM");
        goto out;
    }
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    rc = n > 0 ? file_put(path, mode, data, (size_t)n, err, len) : -EIO;
    if (n > 0)
        OPENSSL_cleanse(data, (size_t)n);
out:
    BIO_free(b);
    return rc;
}

/* *yes tells whether path names something; 0, or -errno when that cannot be known. */
static int path_exists(const char *path, bool *yes)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        *yes = true;
        return 0;
    }
    if (errno == ENOENT) {
        *yes = false;
        return 0;
    }
    return -errno;
}

int tls_cert_ensure(const char *cert_path, const char *key_path, char *err, size_t err_len)
{
    char scratch[8];
    bool have_cert = false, have_key = false;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    int rc;

    if (err == NULL || err_len == 0) {
        err = scratch;
        err_len = sizeof(scratch);
    }
    err[0] = '\0';
    if (cert_path == NULL || key_path == NULL || cert_path[0] == '\0' || key_path[0] == '\0') {
        snprintf(err, err_len, "certificate and key paths are needed");
        return -EINVAL;
    }
    rc = path_exists(cert_path, &have_cert);
    if (rc < 0)
        return tls_fail_errno(err, err_len, -rc, "cannot look at", cert_path);
    rc = path_exists(key_path, &have_key);
    if (rc < 0)
        return tls_fail_errno(err, err_len, -rc, "cannot look at", key_path);
    if (have_cert && have_key)
        return 0;
    if (have_cert || have_key) {
        snprintf(err, err_len,
                 "%s exists but %s does not; remove it to have a new pair made, or supply both",
                 have_cert ? cert_path : key_path, have_cert ? key_path : cert_path);
        return -EEXIST;
    }

    rc = cert_make(&key, &cert, err, err_len);
    if (rc < 0)
        return rc;
    /* Key first: a crash between the two leaves a key without a certificate, which the next
     * start reports, never a certificate whose key is lost. */
    rc = pem_put(key_path, 0600, key, NULL, err, err_len);
    if (rc == 0) {
        rc = pem_put(cert_path, 0644, NULL, cert, err, err_len);
        if (rc < 0)
            unlink(key_path); /* so the next start makes a whole pair again */
    }
    EVP_PKEY_free(key);
    X509_free(cert);
    return rc;
}
