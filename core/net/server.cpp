// The lws context on our libuv loop, with one vhost per kind of listener
// (libwebsockets on a foreign libuv loop with explicit vhosts; telnet as a raw-socket role).
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "net/net.h"
#include "net/telnet_ws.h"
#include "net/ssh.h"
#include "net/tls.h"
#include "net/transport.h"

static struct lws_context *g_ctx;
static void *g_foreign[1];

static const struct lws_protocols g_web_protocols[] = {
    g_ws_protocol, // first: clients that name no subprotocol are bound to it
    g_http_protocol,
    // telnet over WebSocket (/telnet), one protocol per framing
    g_tws_protocols[0], g_tws_protocols[1], g_tws_protocols[2], g_tws_protocols[3],
    {NULL, NULL, 0, 0, 0, NULL, 0},
};
static const struct lws_protocols g_redirect_protocols[] = {
    g_redirect_protocol,
    {NULL, NULL, 0, 0, 0, NULL, 0},
};
static const struct lws_protocols g_telnet_protocols[] = {
    g_telnet_protocol,
    {NULL, NULL, 0, 0, 0, NULL, 0},
};
static const struct lws_protocols g_ssh_protocols[] = {
    g_ssh_protocol,
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

// Every path is answered by net/http.cpp: the web client's files, /healthz and
// /metrics. lws's own file mount is not used: it follows symbolic links out
// of www_dir, and after serving a file it misparses the next pipelined
// request on the connection (403, then a close).
static struct lws_http_mount g_mount;

// Request limits. lws keeps a request's headers in one buffer per
// connection while they arrive, and drops a head that overflows it without
// an answer. The first head on a connection is measured before lws reads it
// (net/net.cpp: 431, 414); the buffer holds any head that passes, with room for
// lws's own bookkeeping (8 bytes per unknown header). On a kept-alive
// connection lws reads the next heads itself: a request target is cut at
// HTTP_URI_MAX and answered 414 (net/http.cpp); a bigger head is dropped.
// Over TLS the first head arrives encrypted and cannot be measured before
// lws decrypts it: it is held to the same buffer and the same cut of the
// target (414), and one that overflows the buffer is closed unanswered.
#define HEADER_BUF (HTTP_HEAD_MAX + 16 * HTTP_HEADERS_MAX + 1024)
static struct lws_token_limits g_token_limits;

// lws's own keepalive off: by default lws 4.1 pings a WebSocket silent for
// 300 s and drops it at 310 s, and re-arms that timer at every pong by an
// insertion into one sorted list of every connection's timers, which is
// O(n): with our pings answered at 10,000 idle sessions that insertion took
// nearly all of a core. net/keepalive.cpp does the same job in O(1), on
// ping_s. No hang-up time means no validity timer at all.
static const lws_retry_bo_t g_no_validity = {NULL, 0, 0, 0, 0, 0};

static void emit(int level, const char *line) {
    if (strstr(line, "exceeds limit")) return; // a request target cut at HTTP_URI_MAX: logged as its 414
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n') n--;
    log_event(level & LLL_ERR ? LOG_ERROR : LOG_WARN, "lws", 0, NULL, "%.*s", (int)n, line);
}

// A vhost that speaks TLS: lws makes its SSL_CTX and hands it to
// net/tls.cpp (LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS), which
// sets it up and serves the certificate.
#define TLS_VHOST (LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX)

int server_start(uv_loop_t *loop) {
    char terr[700];
    if (tls_init(loop, terr, sizeof terr)) {
        log_error("tls", "%s", terr);
        return -1;
    }
    if (sshd_init(loop, terr, sizeof terr)) {
        log_error("ssh", "%s", terr);
        return -1;
    }
    bool tls = tls_on();
    // PL_LWS_LOG=<lws level bits> shows lws's own detail when chasing a transport bug
    const char *lv = getenv("PL_LWS_LOG");
    lws_set_log_level(lv ? atoi(lv) : (LLL_ERR | LLL_WARN), emit);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    g_foreign[0] = loop;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS | (tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    info.foreign_loops = g_foreign;
    info.max_http_header_data = HEADER_BUF;
    static const int targets[] = {WSI_TOKEN_GET_URI,     WSI_TOKEN_POST_URI,  WSI_TOKEN_OPTIONS_URI,
                                  WSI_TOKEN_PUT_URI,     WSI_TOKEN_PATCH_URI, WSI_TOKEN_DELETE_URI,
                                  WSI_TOKEN_CONNECT,     WSI_TOKEN_HEAD_URI};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) g_token_limits.token_limit[targets[i]] = HTTP_URI_MAX;
    info.token_limits = &g_token_limits;
    g_ctx = lws_create_context(&info);
    if (!g_ctx) {
        log_error("listen", "lws_create_context failed (is libwebsockets-evlib-uv installed?)");
        return -1;
    }

    g_mount.mountpoint = "/";
    g_mount.mountpoint_len = 1;
    g_mount.origin = g_http_protocol.name;
    g_mount.origin_protocol = LWSMPRO_CALLBACK;

    // the vhosts listen nowhere: net/net.cpp accepts and hands sockets over
    NetVhosts vh;
    memset(&vh, 0, sizeof vh);
    memset(&info, 0, sizeof info);
    info.vhost_name = "web";
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = g_web_protocols;
    info.mounts = &g_mount;
    info.options = LWS_SERVER_OPTION_LIBUV | (tls ? TLS_VHOST : 0);
    info.alpn = TLS_ALPN_WEB;
    info.retry_and_idle_policy = &g_no_validity;
    vh.web = lws_create_vhost(g_ctx, &info);

    memset(&info, 0, sizeof info);
    // lws moves an HTTP request to a vhost of the same port whose name
    // starts with its Host header (or ends it, after a dot): a name that
    // starts with a dot is no real host's
    info.vhost_name = ".telnet";
    info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
    info.protocols = g_telnet_protocols;
    info.options = LWS_SERVER_OPTION_LIBUV;
    info.retry_and_idle_policy = &g_no_validity;
    vh.telnet = lws_create_vhost(g_ctx, &info);
    bool ok = vh.web && vh.telnet;

    if (g_cfg.telnet_tls_port) {
        info.vhost_name = ".telnet-tls";
        info.options = LWS_SERVER_OPTION_LIBUV | TLS_VHOST;
        info.alpn = TLS_ALPN_TELNET;
        // the session starts when the handshake is done (net/telnet_conn.cpp)
        info.ssl_info_event_mask = SSL_CB_HANDSHAKE_DONE;
        ok = ok && (vh.telnet_tls = lws_create_vhost(g_ctx, &info));
    }
    if (g_cfg.ssh_port) { // SSH connections are raw descriptors to lws (net/ssh_conn.cpp)
        memset(&info, 0, sizeof info);
        info.vhost_name = ".ssh";
        info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
        info.protocols = g_ssh_protocols;
        info.options = LWS_SERVER_OPTION_LIBUV;
        ok = ok && (vh.ssh = lws_create_vhost(g_ctx, &info));
    }
    if (tls) { // plain HTTP on the HTTPS port, and on http_redirect_port
        memset(&info, 0, sizeof info);
        info.vhost_name = "redirect";
        // failing a name, lws moves an HTTP request to the first vhost of
        // the same "port" (the web one): this one has a port value of its
        // own so that its requests stay here (it never listens either way)
        info.port = CONTEXT_PORT_NO_LISTEN;
        info.protocols = g_redirect_protocols;
        info.options = LWS_SERVER_OPTION_LIBUV;
        ok = ok && (vh.redirect = lws_create_vhost(g_ctx, &info));
    }
    char err[300];
    http_init(g_ctx);
    if (!ok) {
        log_error("listen", "lws_create_vhost failed");
        return -1;
    }
    if (net_listen(loop, &vh, err, sizeof err)) {
        log_error("listen", "%s", err);
        return -1;
    }
    char w[512], t[512], ts[512], r[512], sh[512];
    net_describe(NET_WEB, w, sizeof w);
    net_describe(NET_TELNET, t, sizeof t);
    net_describe(NET_TELNET_TLS, ts, sizeof ts);
    net_describe(NET_REDIRECT, r, sizeof r);
    net_describe(NET_SSH, sh, sizeof sh);
    log_info("listen", "listening: %s and WebSocket (/ws) on %s; telnet on %s%s%s%s%s%s%s", tls ? "HTTPS" : "HTTP", w, t,
             ts[0] ? "; telnet over TLS on " : "", ts, r[0] ? "; HTTP redirecting to HTTPS on " : "", r,
             sh[0] ? "; SSH on " : "", sh);
    // a line of its own: the one above is what tools and tests look for
    if (g_cfg.telnet_ws) log_info("listen_telnet_ws", "telnet over WebSocket at /telnet on %s", w);
    return 0;
}

void server_stop(void) {
    tls_stop();
    sshd_stop();
    net_stop();
    if (g_ctx) lws_context_destroy(g_ctx); // first call: starts closing everything
}

void server_free(void) {
    if (g_ctx) lws_context_destroy(g_ctx); // second call, after the loop drained: frees
    g_ctx = NULL;
    net_free();
    tls_free();
    sshd_free();
}
