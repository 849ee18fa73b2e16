// The lws context on our libuv loop, with one vhost per listener
// (LWS-NOTES.md: foreign loop, explicit vhosts, raw-socket telnet).
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "transport.h"

static struct lws_context *g_ctx;
static void *g_foreign[1];

static const struct lws_protocols g_web_protocols[] = {
    g_ws_protocol, // first: clients that name no subprotocol are bound to it
    g_http_protocol,
    {NULL, NULL, 0, 0, 0, NULL, 0},
};
static const struct lws_protocols g_telnet_protocols[] = {
    g_telnet_protocol,
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

// lws serves only a short built-in list of types; the rest would be 415
static const struct lws_protocol_vhost_options g_mime[] = {
    {&g_mime[1], NULL, ".js", "text/javascript"},
    {&g_mime[2], NULL, ".mjs", "text/javascript"},
    {&g_mime[3], NULL, ".svg", "image/svg+xml"},
    {&g_mime[4], NULL, ".woff2", "font/woff2"},
    {&g_mime[5], NULL, ".json", "application/json"},
    {&g_mime[6], NULL, ".webmanifest", "application/manifest+json"},
    {&g_mime[7], NULL, ".wasm", "application/wasm"},
    {&g_mime[8], NULL, ".txt", "text/plain; charset=utf-8"},
    {NULL, NULL, ".wav", "audio/wav"},
};

static struct lws_http_mount g_mount_metrics, g_mount_health, g_mount_www;

static void emit(int level, const char *line) {
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n') n--;
    log_event(level & LLL_ERR ? LOG_ERROR : LOG_WARN, "lws", 0, NULL, "%.*s", (int)n, line);
}

int server_start(uv_loop_t *loop) {
    // PL_LWS_LOG=<lws level bits> shows lws's own detail when chasing a transport bug
    const char *lv = getenv("PL_LWS_LOG");
    lws_set_log_level(lv ? atoi(lv) : (LLL_ERR | LLL_WARN), emit);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    g_foreign[0] = loop;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    info.foreign_loops = g_foreign;
    g_ctx = lws_create_context(&info);
    if (!g_ctx) {
        log_error("listen", "lws_create_context failed (is libwebsockets-evlib-uv installed?)");
        return -1;
    }

    g_mount_www.mountpoint = "/";
    g_mount_www.mountpoint_len = 1;
    g_mount_www.origin = g_cfg.www_dir;
    g_mount_www.def = "index.html";
    g_mount_www.origin_protocol = LWSMPRO_FILE;
    g_mount_www.extra_mimetypes = g_mime;
    g_mount_www.cache_max_age = 0;

    g_mount_health.mountpoint = "/healthz";
    g_mount_health.mountpoint_len = 8;
    g_mount_health.origin = "partyline-http";
    g_mount_health.origin_protocol = LWSMPRO_CALLBACK;
    g_mount_health.mount_next = &g_mount_www;

    g_mount_metrics.mountpoint = "/metrics";
    g_mount_metrics.mountpoint_len = 8;
    g_mount_metrics.origin = "partyline-http";
    g_mount_metrics.origin_protocol = LWSMPRO_CALLBACK;
    g_mount_metrics.mount_next = &g_mount_health;

    memset(&info, 0, sizeof info);
    info.vhost_name = "web";
    info.port = g_cfg.ws_port;
    info.iface = g_cfg.bind[0] ? g_cfg.bind : NULL;
    info.protocols = g_web_protocols;
    info.mounts = &g_mount_metrics;
    info.options = LWS_SERVER_OPTION_LIBUV;
    if (!lws_create_vhost(g_ctx, &info)) {
        log_error("listen", "cannot listen for HTTP/WebSocket on port %d", g_cfg.ws_port);
        return -1;
    }

    memset(&info, 0, sizeof info);
    info.vhost_name = "telnet";
    info.port = g_cfg.telnet_port;
    info.iface = g_cfg.bind[0] ? g_cfg.bind : NULL;
    info.protocols = g_telnet_protocols;
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_ADOPT_APPLY_LISTEN_ACCEPT_CONFIG;
    info.listen_accept_role = "raw-skt";
    info.listen_accept_protocol = "telnet";
    if (!lws_create_vhost(g_ctx, &info)) {
        log_error("listen", "cannot listen for telnet on port %d", g_cfg.telnet_port);
        return -1;
    }
    log_info("listen", "listening: http://%s:%d/ (WebSocket /ws), telnet %s:%d", g_cfg.bind[0] ? g_cfg.bind : "*",
             g_cfg.ws_port, g_cfg.bind[0] ? g_cfg.bind : "*", g_cfg.telnet_port);
    return 0;
}

bool g_server_stopping;

void server_stop(void) {
    g_server_stopping = true;
    if (g_ctx) lws_context_destroy(g_ctx); // first call: starts closing everything
}

void server_free(void) {
    if (g_ctx) lws_context_destroy(g_ctx); // second call, after the loop drained: frees
    g_ctx = NULL;
}
