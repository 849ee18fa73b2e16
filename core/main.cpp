// partyline: a BBS-style chat server. One libuv loop runs everything.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <sodium.h>
#include <uv.h>

#include "base/cp437.h"
#include "board/accounts.h"
#include "board/addrban.h"
#include "board/auth.h"
#include "cli_store.h"
#include "cli_user.h"
#include "cluster/cluster.h"
#include "wire.h"
#include "base/config.h"
#include "net/conn.h"
#include "net/keepalive.h"
#include "board/hashpool.h"
#include "board/lifecycle.h"
#include "board/login.h"
#include "board/limits.h"
#include "base/log.h"
#include "script/host.h"
#include "net/pace.h"
#include "board/policy.h"
#include "model/roster.h"
#include "model/session.h"
#include "model/up.h"
#include "board/db.h"
#include "board/store.h"
#include "net/transport.h"
#include "base/version.h"

static uv_loop_t g_loop;
static uv_signal_t g_sigint, g_sigterm;
static uv_timer_t g_drain;
static uint64_t g_drain_started;

// --help lists every key (from the table in base/config_keys.h); a mistake
// gets the short form, so the error stays on the screen.
static void usage(FILE *f, bool keys) {
    fprintf(f,
            "usage: partyline [options]\n"
            "       partyline user COMMAND ...  (accounts: add, list, lock, unlock, reset; user --help)\n"
            "       partyline --copy-store DATA_DIR postgresql://...  (move a board from SQLite to PostgreSQL)\n"
            "  --config FILE       read settings from FILE (key = value lines; see etc/partyline.conf)\n"
            "  --set KEY=VALUE     set any configuration key%s; flags win over the file\n"
            "  --ws-port N         --set ws_port=N\n"
            "  --telnet-port N     --set telnet_port=N\n"
            "  --ssh-port N        --set ssh_port=N\n"
            "  --data DIR          --set data_dir=DIR\n"
            "  --scripts DIR       --set scripts_dir=DIR\n"
            "  --www DIR           --set www_dir=DIR\n"
            "  --help, -h          this, with every configuration key\n"
            "  --version           print the version and exit (after reading the settings before it)\n",
            keys ? " (below)" : " (partyline --help lists them)");
    if (keys) config_print_keys(f);
}

static void finish_stop(void) {
    uv_timer_stop(&g_drain);
    uv_close((uv_handle_t *)&g_drain, NULL);
    uv_close((uv_handle_t *)&g_sigint, NULL);
    uv_close((uv_handle_t *)&g_sigterm, NULL);
    script_stop_watching();
    lifecycle_stop();
    conn_batch_stop();
    pace_stop();
    keepalive_stop();
    roster_stop();
    hashpool_stop();
    store_stop();
    db_stop();
    cluster_stop();
    server_stop();
}

static void on_drain(uv_timer_t *) {
    // every connection writes its goodbye, or gets 3 s to take it
    if (g_conn_count == 0 || uv_now(&g_loop) - g_drain_started > 3000) finish_stop();
}

static void on_stop_signal(uv_signal_t *, int signum) {
    if (lifecycle_state() != BOARD_RUNNING) {
        log_warn("shutdown", "second signal: stopping now");
        finish_stop();
        return;
    }
    log_info("shutdown", "signal %d: shutting down", signum);
    script_hook_global("shutdown"); // the scripts tell everyone
    lifecycle_drain();
    g_drain_started = uv_now(&g_loop);
    uv_timer_start(&g_drain, on_drain, 20, 50);
}

// jwt_secret = auto: a random key made once and kept beside the database, so
// tokens survive restarts without anyone choosing a secret.
// On PostgreSQL it is kept in the store instead (board_keys): processes
// that share nothing on disk accept each other's tokens.
static int load_token_key(char *err, size_t errlen) {
    if (strcmp(g_cfg.jwt_secret, "auto")) return 0;
    if (db_kind() == DB_POSTGRES) {
        unsigned char raw[32];
        char made[65];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(made, sizeof made, raw, sizeof raw);
        return db_board_key("jwt", made, g_cfg.jwt_secret, sizeof g_cfg.jwt_secret, err, errlen);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/jwt.key", g_cfg.data_dir);
    FILE *f = fopen(path, "r");
    if (f) {
        bool ok = fgets(g_cfg.jwt_secret, sizeof g_cfg.jwt_secret, f) != NULL;
        fclose(f);
        g_cfg.jwt_secret[strcspn(g_cfg.jwt_secret, "\r\n")] = 0;
        if (ok && strlen(g_cfg.jwt_secret) >= 32) return 0;
        snprintf(err, errlen, "%s holds no usable key", path);
        return -1;
    }
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(g_cfg.jwt_secret, sizeof g_cfg.jwt_secret, raw, sizeof raw);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || write(fd, g_cfg.jwt_secret, strlen(g_cfg.jwt_secret)) < 0 || close(fd) < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    log_info("token_key", "made a token key in %s", path);
    return 0;
}

static void raise_fd_limit(void) {
    // lws sizes its fd table from this when the context is created
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int parse_args(int argc, char **argv) {
    char err[600];
    // the config file first, so flags given beside it win whatever their order
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--config") && i + 1 < argc && config_load_file(&g_cfg, argv[i + 1], err, sizeof err)) {
            fprintf(stderr, "partyline: %s\n", err);
            return -1;
        }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *key = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout, true);
            exit(0);
        }
        if (!strcmp(a, "--version")) {
            printf("partyline %s\n", PARTYLINE_VERSION);
            exit(0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "partyline: unknown or incomplete option '%s'\n", a);
            usage(stderr, false);
            return -1;
        }
        const char *v = argv[++i];
        if (!strcmp(a, "--config")) continue;
        if (!strcmp(a, "--ws-port")) key = "ws_port";
        else if (!strcmp(a, "--telnet-port")) key = "telnet_port";
        else if (!strcmp(a, "--ssh-port")) key = "ssh_port";
        else if (!strcmp(a, "--data")) key = "data_dir";
        else if (!strcmp(a, "--scripts")) key = "scripts_dir";
        else if (!strcmp(a, "--www")) key = "www_dir";
        else if (!strcmp(a, "--set")) {
            char k[64];
            const char *eq = strchr(v, '=');
            if (!eq || eq - v >= (int)sizeof k) {
                fprintf(stderr, "partyline: --set wants KEY=VALUE\n");
                return -1;
            }
            memcpy(k, v, (size_t)(eq - v));
            k[eq - v] = 0;
            if (config_set(&g_cfg, k, eq + 1, err, sizeof err)) {
                fprintf(stderr, "partyline: --set %s\n", err);
                return -1;
            }
            continue;
        } else {
            fprintf(stderr, "partyline: unknown option '%s'\n", a);
            usage(stderr, false);
            return -1;
        }
        if (config_set(&g_cfg, key, v, err, sizeof err)) {
            fprintf(stderr, "partyline: %s: %s\n", a, err);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (sodium_init() < 0) {
        fprintf(stderr, "partyline: libsodium failed to initialise\n");
        return 1;
    }
    config_defaults(&g_cfg);
    if (argc > 1 && !strcmp(argv[1], "user")) return cli_user_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "--copy-store")) return cli_store_main(argc - 1, argv + 1);
    if (parse_args(argc, argv)) return 2;
    log_set_level(g_cfg.log_level);
    log_set_json(g_cfg.log_json);
    if (g_cfg.log_file[0] && log_open_file(g_cfg.log_file) < 0) {
        fprintf(stderr, "partyline: log_file: cannot open %s: %s\n", g_cfg.log_file, strerror(errno));
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    // everything the server creates (database, its -wal and -shm, the token
    // key, the log) is for the server's user alone
    umask(077);
    raise_fd_limit();
    // CP437 terminals (base/cp437.h): without glibc's converter they get UTF-8
    if (!cp437_init()) log_warn("cp437", "the C library cannot convert to CP437 (gconv IBM437): CP437 terminals get UTF-8");
    uv_loop_init(&g_loop);
    wire_up();
    lifecycle_init(&g_loop);
    conn_batch_init(&g_loop);
    pace_init(&g_loop);
    keepalive_init(&g_loop);
    roster_start(&g_loop);
    if (auth_init(&g_loop)) return 1;

    char err[2048];
    int common = policy_load_passwords(g_cfg.password_list, err, sizeof err);
    if (common < 0) log_warn("password_list", "%s: common passwords are not refused (install john-data, or set password_list)", err);
    else if (common) log_info("password_list", "%d common passwords are refused", common);
    if (db_open(g_cfg.store, g_cfg.data_dir, err, sizeof err)) {
        log_error("db_error", "%s", err);
        return 1;
    }
    db_start(&g_loop);
    accounts_open();
    login_poll(); // notes where the queue of `partyline user` actions stands
    store_start(&g_loop);
    if (load_token_key(err, sizeof err)) {
        log_error("token_key", "%s", err);
        return 1;
    }
    if (g_cfg.require_token && !g_cfg.jwt_secret[0]) log_warn("config", "require_token is set but jwt_secret is empty: no WebSocket client can connect");
    db_set_starting(true); // the scripts load and make their tables: nobody waits yet
    int loaded = script_init(&g_loop, err, sizeof err);
    db_set_starting(false);
    if (loaded) {
        log_error("script_load", "%s", err);
        return 1;
    }
    if (cluster_start(&g_loop, &g_up, err, sizeof err)) {
        log_error("cluster", "%s", err);
        return 1;
    }
    if (server_start(&g_loop)) return 1;

    uv_signal_init(&g_loop, &g_sigint);
    uv_signal_init(&g_loop, &g_sigterm);
    uv_signal_start(&g_sigint, on_stop_signal, SIGINT);
    uv_signal_start(&g_sigterm, on_stop_signal, SIGTERM);
    uv_timer_init(&g_loop, &g_drain);
    log_info("ready", "partyline %s ready", PARTYLINE_VERSION);

    uv_run(&g_loop, UV_RUN_DEFAULT);

    hashpool_free();
    server_free();
    sessions_free_all();
    script_close();
    store_close();
    db_close();
    limits_free();
    addrban_free();
    policy_free();
    cp437_close();
    int rc = uv_loop_close(&g_loop);
    if (rc) log_warn("shutdown", "loop closed with handles still open: %s", uv_strerror(rc));
    log_info("stopped", "stopped");
    return 0;
}
