// TLS: HTTPS and wss:// on the web port, telnet over TLS on its own port,
// one certificate (tls_cert, tls_key) for both, read again on SIGHUP.
//
// libwebsockets makes each TLS vhost's SSL_CTX and hands it to us
// (LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS); the certificate is
// not loaded into it. Each handshake takes the certificate in force at that
// moment (SSL_CTX_set_cert_cb), so a renewal swaps one pointer: the next
// handshake gets the new certificate, connections already up keep theirs,
// and a bad file on disk changes nothing.
#pragma once
#include <stddef.h>
#include <uv.h>

typedef struct ssl_ctx_st SSL_CTX;

// Whether TLS is configured (tls_cert and tls_key).
bool tls_on(void);
// Reads and checks the certificate and key, and watches for SIGHUP. -1 with
// a reason in err: a file that cannot be read, a key that is not the
// certificate's, a TLS port without a certificate.
int tls_init(uv_loop_t *loop, char *err, size_t errlen);
// Our settings on a vhost's SSL_CTX: TLS 1.2 and 1.3 only, modern ciphers,
// no renegotiation, and the certificate from tls_cert. 0, or -1 (no vhost).
int tls_setup_ctx(SSL_CTX *ctx);
// SIGHUP: the certificate and key are read again; on any fault the ones in
// force stay, and the log says why.
void tls_reload(void);
// Stops watching for SIGHUP (shutdown); tls_free lets go of the certificate.
void tls_stop(void);
void tls_free(void);

// What the web vhost offers in ALPN: HTTP/1.1 alone, so that a browser's
// wss:// is the same HTTP/1.1 upgrade as ws:// (no WebSocket over HTTP/2).
#define TLS_ALPN_WEB "http/1.1"
// The telnet vhost's: a name no lws role answers to, so that a client
// offering http/1.1 or h2 is not turned into one.
#define TLS_ALPN_TELNET "telnet"
