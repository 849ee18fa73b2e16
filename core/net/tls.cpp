#include "net/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"

// TLS 1.2's suites where 1.3 is not spoken: forward secret and AEAD only
// (Mozilla's "intermediate" list, less the DHE ones that need parameters).
#define TLS12_CIPHERS                                                                                              \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"                     \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

// The certificate in force: its leaf, the chain after it, and its key.
struct Cert {
    X509 *leaf;
    STACK_OF(X509) *chain;
    EVP_PKEY *key;
};

static Cert g_cert;
static uv_signal_t g_sighup;
static bool g_watching;

bool tls_on(void) { return g_cfg.tls_cert[0] || g_cfg.tls_key[0]; }

static void cert_free(Cert *c) {
    X509_free(c->leaf);
    sk_X509_pop_free(c->chain, X509_free);
    EVP_PKEY_free(c->key);
    memset(c, 0, sizeof *c);
}

// OpenSSL's reason for the last failure, or a default.
static const char *ssl_why(const char *dflt) {
    static char buf[256];
    unsigned long e = ERR_peek_last_error();
    ERR_clear_error();
    if (!e) return dflt;
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

// A key with a passphrase would make OpenSSL ask on the terminal: refused.
static int no_passphrase(char *, int, int, void *asked) {
    *(bool *)asked = true;
    return -1;
}

static BIO *open_pem(const char *key, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: cannot read %s: %s", key, path, strerror(errno));
        return NULL;
    }
    BIO *b = BIO_new_fp(f, BIO_CLOSE);
    if (!b) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", key);
    }
    return b;
}

// Reads tls_cert (the leaf, then any chain) and tls_key into c, and checks
// that they belong together. 0, or -1 with a reason.
static int cert_read(Cert *c, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    ERR_clear_error();
    BIO *b = open_pem("tls_cert", g_cfg.tls_cert, err, errlen);
    if (!b) return -1;
    c->leaf = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
    if (!c->leaf) {
        snprintf(err, errlen, "tls_cert: no PEM certificate in %s (%s)", g_cfg.tls_cert, ssl_why("empty"));
        BIO_free(b);
        return -1;
    }
    c->chain = sk_X509_new_null();
    for (X509 *x; c->chain && (x = PEM_read_bio_X509(b, NULL, NULL, NULL));)
        if (!sk_X509_push(c->chain, x)) X509_free(x);
    unsigned long e = ERR_peek_last_error(); // the end of the file, or a broken chain certificate
    BIO_free(b);
    if (!c->chain || (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))) {
        snprintf(err, errlen, "tls_cert: a certificate after the first in %s is broken (%s)", g_cfg.tls_cert,
                 ssl_why("out of memory"));
        cert_free(c);
        return -1;
    }
    ERR_clear_error();
    b = open_pem("tls_key", g_cfg.tls_key, err, errlen);
    if (!b) {
        cert_free(c);
        return -1;
    }
    bool asked = false;
    c->key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, &asked);
    BIO_free(b);
    if (!c->key) {
        if (asked) snprintf(err, errlen, "tls_key: %s is protected by a passphrase; give the server a key without one", g_cfg.tls_key);
        else snprintf(err, errlen, "tls_key: no PEM private key in %s (%s)", g_cfg.tls_key, ssl_why("empty"));
        cert_free(c);
        return -1;
    }
    if (X509_check_private_key(c->leaf, c->key) != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "tls_key: %s is not the key of the certificate in %s", g_cfg.tls_key, g_cfg.tls_cert);
        cert_free(c);
        return -1;
    }
    return 0;
}

// "CN=board.example.org, valid until Jun  1 12:00:00 2026 GMT" for the log;
// *expired when that time has passed.
static void cert_describe(const Cert *c, char *out, size_t outlen, bool *expired) {
    char subject[256] = "?", until[64] = "?";
    X509_NAME_oneline(X509_get_subject_name(c->leaf), subject, sizeof subject);
    BIO *m = BIO_new(BIO_s_mem());
    if (m && ASN1_TIME_print(m, X509_get0_notAfter(c->leaf))) {
        int n = BIO_read(m, until, sizeof until - 1);
        until[n > 0 ? n : 0] = 0;
    }
    BIO_free(m);
    *expired = X509_cmp_current_time(X509_get0_notAfter(c->leaf)) < 0;
    snprintf(out, outlen, "%s, %d more in the chain, valid until %s", subject, sk_X509_num(c->chain), until);
}

static void install(Cert *c, const char *event, const char *what) {
    char desc[400];
    bool expired;
    cert_describe(c, desc, sizeof desc, &expired);
    cert_free(&g_cert);
    g_cert = *c;
    memset(c, 0, sizeof *c);
    if (expired) log_warn(event, "%s: %s (it has EXPIRED: clients will refuse it)", what, desc);
    else log_info(event, "%s: %s", what, desc);
}

void tls_reload(void) {
    if (!tls_on()) return;
    Cert c;
    char err[600];
    if (cert_read(&c, err, sizeof err)) {
        log_error("tls_reload", "%s; the certificate in use stays", err);
        return;
    }
    install(&c, "tls_reload", "certificate read again; new connections get it");
}

static void on_sighup(uv_signal_t *, int) { tls_reload(); }

int tls_init(uv_loop_t *loop, char *err, size_t errlen) {
    if (!tls_on()) {
        const char *need = g_cfg.telnet_tls_port ? "telnet_tls_port" : g_cfg.http_redirect_port ? "http_redirect_port" : NULL;
        if (!need) return 0;
        snprintf(err, errlen, "%s needs a certificate: set tls_cert and tls_key", need);
        return -1;
    }
    if (!g_cfg.tls_cert[0] || !g_cfg.tls_key[0]) {
        snprintf(err, errlen, "tls_cert and tls_key go together: set both (they may name the same file)");
        return -1;
    }
    Cert c;
    if (cert_read(&c, err, errlen)) return -1;
    install(&c, "tls", "certificate");
    uv_signal_init(loop, &g_sighup);
    uv_signal_start(&g_sighup, on_sighup, SIGHUP);
    g_watching = true;
    return 0;
}

// lws would move a connection to another vhost whose name starts like the
// name the client asked for (SNI): ours are not named for host names, and
// one certificate serves every name.
static int any_name(SSL *, int *, void *) { return SSL_TLSEXT_ERR_OK; }

static int use_cert(SSL *ssl, void *) {
    if (!g_cert.leaf) return 0;
    return SSL_use_cert_and_key(ssl, g_cert.leaf, g_cert.key, g_cert.chain, 1) == 1;
}

int tls_setup_ctx(SSL_CTX *ctx) {
    if (!ctx) return -1;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    // a client asking for renegotiation again and again costs us handshakes
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    if (SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) != 1) return -1;
    SSL_CTX_set_tlsext_servername_callback(ctx, any_name);
    SSL_CTX_set_cert_cb(ctx, use_cert, NULL);
    return 0;
}

void tls_stop(void) {
    if (!g_watching) return;
    g_watching = false;
    uv_signal_stop(&g_sighup);
    uv_close((uv_handle_t *)&g_sighup, NULL);
}

void tls_free(void) { cert_free(&g_cert); }
