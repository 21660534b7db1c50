/* The self-signed certificate: a pair OpenSSL loads into a TLS context, whose key matches, valid
 * for localhost and the loopback addresses for about 13 months, the key never readable by
 * others; made once, and a half pair refused rather than overwritten. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "harness.h"
#include "tls_cert.h"

struct tmp {
    char dir[64];
    char cert[96];
    char key[96];
};

static int tmp_make(struct tmp *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/gpsfu-cert-XXXXXX");
    if (mkdtemp(t->dir) == NULL)
        return -1;
    snprintf(t->cert, sizeof(t->cert), "%s/cert.pem", t->dir);
    snprintf(t->key, sizeof(t->key), "%s/key.pem", t->dir);
    return 0;
}

static void tmp_remove(struct tmp *t)
{
    unlink(t->cert);
    unlink(t->key);
    rmdir(t->dir);
}

static int file_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* The number of entries in dir other than . and .. (temporary files must not linger). */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (d == NULL)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = calloc(1, 16384);
    if (buf != NULL && fread(buf, 1, 16383, f) == 0) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    return buf;
}

/* Days from now to t (negative: in the past). */
static int days_from_now(const ASN1_TIME *t)
{
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, NULL, t) != 1)
        return -100000;
    return days;
}

static int test_tls_cert_pair(void)
{
    struct tmp t;
    char err[256];
    CHECK_EQ(tmp_make(&t), 0);
    /* A permissive umask must not make the key readable by others. */
    mode_t old = umask(0);
    int rc = tls_cert_ensure(t.cert, t.key, err, sizeof(err));
    umask(old);
    CHECK_EQ(rc, 0);
    CHECK(strcmp(err, "") == 0);
    CHECK_EQ(file_mode(t.key), 0600);
    CHECK_EQ(file_mode(t.cert), 0644);
    CHECK_EQ(dir_entries(t.dir), 2);

    /* A TLS server context accepts the pair. */
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    CHECK(ctx != NULL);
    int loaded = SSL_CTX_use_certificate_chain_file(ctx, t.cert) == 1 &&
                 SSL_CTX_use_PrivateKey_file(ctx, t.key, SSL_FILETYPE_PEM) == 1 &&
                 SSL_CTX_check_private_key(ctx) == 1;
    SSL_CTX_free(ctx);
    CHECK(loaded);

    FILE *f = fopen(t.cert, "r");
    CHECK(f != NULL);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    f = fopen(t.key, "r");
    CHECK(f != NULL);
    EVP_PKEY *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    CHECK(x != NULL && key != NULL);

    char group[64] = "";
    size_t glen = 0;
    int ok = X509_check_private_key(x, key) == 1 && X509_verify(x, key) == 1 && /* self-signed */
             EVP_PKEY_is_a(key, "EC") &&
             EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) == 1 &&
             strcmp(group, "prime256v1") == 0 && X509_get_version(x) == X509_VERSION_3 &&
             /* The names browsers will match. */
             X509_check_host(x, "localhost", 0, 0, NULL) == 1 &&
             X509_check_ip_asc(x, "127.0.0.1", 0) == 1 && X509_check_ip_asc(x, "::1", 0) == 1 &&
             X509_check_host(x, "example.com", 0, 0, NULL) == 0 &&
             X509_check_ip_asc(x, "10.0.0.1", 0) == 0 &&
             /* From a day ago to 397 days ahead. */
             days_from_now(X509_get0_notBefore(x)) == -1 &&
             days_from_now(X509_get0_notAfter(x)) >= TLS_CERT_DAYS - 1 &&
             days_from_now(X509_get0_notAfter(x)) <= TLS_CERT_DAYS &&
             X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0) == 1 &&
             (X509_get_extension_flags(x) & EXFLAG_CA) == 0;
    char cn[64] = "";
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn));
    ok = ok && strcmp(cn, "localhost") == 0;
    X509_free(x);
    EVP_PKEY_free(key);
    CHECK(ok);
    tmp_remove(&t);
    return 0;
}

static int test_tls_cert_made_once(void)
{
    struct tmp t;
    char err[256];
    CHECK_EQ(tmp_make(&t), 0);
    CHECK_EQ(tls_cert_ensure(t.cert, t.key, err, sizeof(err)), 0);
    char *cert1 = slurp(t.cert), *key1 = slurp(t.key);
    CHECK(cert1 != NULL && key1 != NULL);

    /* Both there: nothing is touched, so a certificate a browser was told to trust stays. */
    CHECK_EQ(tls_cert_ensure(t.cert, t.key, err, sizeof(err)), 0);
    char *cert2 = slurp(t.cert), *key2 = slurp(t.key);
    int same =
        cert2 != NULL && key2 != NULL && strcmp(cert1, cert2) == 0 && strcmp(key1, key2) == 0;
    free(cert2);
    free(key2);
    CHECK(same);

    /* Only the key: -EEXIST naming both files, and the key is left alone. */
    CHECK_EQ(unlink(t.cert), 0);
    CHECK_EQ(tls_cert_ensure(t.cert, t.key, err, sizeof(err)), -EEXIST);
    CHECK(strstr(err, t.key) != NULL && strstr(err, t.cert) != NULL);
    key2 = slurp(t.key);
    same = key2 != NULL && strcmp(key1, key2) == 0;
    free(key2);
    CHECK(same);
    CHECK_EQ(access(t.cert, F_OK), -1);
    /* Only the certificate: the same. */
    CHECK_EQ(rename(t.key, t.cert), 0);
    CHECK_EQ(tls_cert_ensure(t.cert, t.key, err, sizeof(err)), -EEXIST);
    CHECK_EQ(access(t.key, F_OK), -1);
    /* Both gone: a new pair, different from the first. */
    CHECK_EQ(unlink(t.cert), 0);
    CHECK_EQ(tls_cert_ensure(t.cert, t.key, NULL, 0), 0);
    key2 = slurp(t.key);
    same = key2 != NULL && strcmp(key1, key2) == 0;
    free(key2);
    CHECK(!same);
    free(cert1);
    free(key1);
    tmp_remove(&t);
    return 0;
}

static int test_tls_cert_errors(void)
{
    struct tmp t;
    char err[256];
    CHECK_EQ(tmp_make(&t), 0);
    char cert[128], key[128];
    snprintf(cert, sizeof(cert), "%s/missing/cert.pem", t.dir);
    snprintf(key, sizeof(key), "%s/missing/key.pem", t.dir);
    CHECK_EQ(tls_cert_ensure(cert, key, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "missing/key.pem") != NULL);
    CHECK_EQ(tls_cert_ensure(NULL, key, err, sizeof(err)), -EINVAL);
    CHECK_EQ(tls_cert_ensure(t.cert, "", err, sizeof(err)), -EINVAL);
    CHECK(err[0] != '\0');

    /* A directory nobody may write into: the error names the file, and nothing is left. */
    if (geteuid() != 0) {
        CHECK_EQ(chmod(t.dir, 0500), 0);
        CHECK(tls_cert_ensure(t.cert, t.key, err, sizeof(err)) == -EACCES);
        CHECK(strstr(err, t.key) != NULL);
        CHECK_EQ(chmod(t.dir, 0700), 0);
    }
    /* The certificate cannot be written after the key was: the key is removed again, so the
     * next start makes a whole pair instead of refusing a half one. */
    CHECK_EQ(tls_cert_ensure(cert, t.key, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "missing/cert.pem") != NULL);
    CHECK_EQ(access(t.key, F_OK), -1);
    CHECK_EQ(dir_entries(t.dir), 0); /* no temporary file left */
    tmp_remove(&t);
    return 0;
}

static const struct test_case cases[] = {
    {"tls_cert_pair", test_tls_cert_pair},
    {"tls_cert_made_once", test_tls_cert_made_once},
    {"tls_cert_errors", test_tls_cert_errors},
};

TEST_MAIN(cases)
