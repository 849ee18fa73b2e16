// The SSH host key: the one the operator names (ssh_host_key), or an
// ed25519 key made on first start and kept in data_dir. Its fingerprint
// goes to the log, so the operator can publish it for users to check when
// ssh first asks them to trust the board.
#include <errno.h>
#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "base/dirs.h"
#include "base/log.h"
#include "net/ssh.h"

static ssh_bind g_bind;
static bool g_libssh; // ssh_init done: ssh_finalize at exit

// A new ed25519 key in path, 0600. Written beside it and linked into place,
// so that a start that dies half way leaves no half key, and of two
// processes starting at once on one data_dir the first one's stays.
static int make_key(const char *path, char *err, size_t errlen) {
    ssh_key key = NULL;
    char *b64 = NULL;
    if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK ||
        ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &b64) != SSH_OK) {
        ssh_key_free(key);
        snprintf(err, errlen, "ssh_host_key: cannot make an ed25519 key");
        return -1;
    }
    ssh_key_free(key);
    char tmp[640];
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    size_t n = strlen(b64);
    bool ok = fd >= 0 && write(fd, b64, n) == (ssize_t)n && fsync(fd) == 0;
    if (fd >= 0 && close(fd) < 0) ok = false;
    ssh_string_free_char(b64);
    if (ok && link(tmp, path) < 0 && errno != EEXIST) ok = false;
    int saved = errno;
    unlink(tmp);
    if (!ok) {
        snprintf(err, errlen, "ssh_host_key: cannot write %s: %s", path, strerror(saved));
        return -1;
    }
    log_info("ssh_host_key", "made an SSH host key (ed25519) in %s", path);
    return 0;
}

// "ED25519 SHA256:..." for the log.
static void describe(ssh_key key, char *out, size_t outlen) {
    ssh_key pub = NULL;
    unsigned char *hash = NULL;
    size_t hlen = 0;
    snprintf(out, outlen, "%s", ssh_key_type_to_char(ssh_key_type(key)));
    if (ssh_pki_export_privkey_to_pubkey(key, &pub) == SSH_OK &&
        ssh_get_publickey_hash(pub, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0) {
        char *fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
        if (fp) snprintf(out, outlen, "%s %s", ssh_key_type_to_char(ssh_key_type(key)), fp);
        ssh_string_free_char(fp);
    }
    ssh_clean_pubkey_hash(&hash);
    ssh_key_free(pub);
}

int sshd_init(uv_loop_t *loop, char *err, size_t errlen) {
    if (!g_cfg.ssh_port) return 0;
    sshd_conns_init(loop);
    if (ssh_init() != SSH_OK) {
        snprintf(err, errlen, "libssh failed to initialise");
        return -1;
    }
    g_libssh = true;
    char path[600];
    bool own = !g_cfg.ssh_host_key[0]; // ours to make (a key the operator names must be there)
    if (own) snprintf(path, sizeof path, "%s/ssh_host_ed25519_key", g_cfg.data_dir);
    else snprintf(path, sizeof path, "%s", g_cfg.ssh_host_key);
    // with a PostgreSQL store nothing else may have made data_dir
    if (own && dir_make(g_cfg.data_dir) < 0) {
        snprintf(err, errlen, "ssh_host_key: cannot make %s: %s", g_cfg.data_dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno != ENOENT || !own) {
            snprintf(err, errlen, "ssh_host_key: cannot read %s: %s", path, strerror(errno));
            return -1;
        }
        if (make_key(path, err, errlen)) return -1;
    } else if (st.st_mode & 077) {
        // a private key others can read is no secret: ours is made
        // private (as everything in data_dir is), the operator's is theirs
        // to mend, and said so
        if (own && chmod(path, st.st_mode & 0700) == 0)
            log_info("ssh_host_key", "made %s private to the server's user (it was %03o)", path, (unsigned)(st.st_mode & 0777));
        else log_warn("ssh_host_key", "%s can be read by other users of this machine (mode %03o)", path, (unsigned)(st.st_mode & 0777));
    }
    ssh_key key = NULL;
    if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key) != SSH_OK) {
        snprintf(err, errlen, "ssh_host_key: %s is not a private key this server can read (an unencrypted OpenSSH or PEM key file)", path);
        return -1;
    }
    char what[160];
    describe(key, what, sizeof what);
    g_bind = ssh_bind_new();
    bool no = false;
    // PL_SSH_LOG=<libssh verbosity, 1-4> shows libssh's own detail on stderr when chasing a bug
    const char *lv = getenv("PL_SSH_LOG");
    int quiet = lv ? atoi(lv) : SSH_LOG_NOLOG;
    // what a connection is accepted with is all here: no system-wide
    // libssh configuration file, no banner naming the library's version
    if (!g_bind || ssh_bind_options_set(g_bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no) != SSH_OK ||
        ssh_bind_options_set(g_bind, SSH_BIND_OPTIONS_LOG_VERBOSITY, &quiet) != SSH_OK ||
        ssh_bind_options_set(g_bind, SSH_BIND_OPTIONS_BANNER, "partyline") != SSH_OK ||
        ssh_bind_options_set(g_bind, SSH_BIND_OPTIONS_IMPORT_KEY, key) != SSH_OK) { // the bind owns the key now
        snprintf(err, errlen, "ssh_host_key: %s: %s", path, g_bind ? ssh_get_error(g_bind) : "out of memory");
        return -1;
    }
    log_info("ssh_host_key", "SSH host key %s: %s", path, what);
    return 0;
}

ssh_bind sshd_bind(void) { return g_bind; }

void sshd_free(void) {
    if (g_bind) ssh_bind_free(g_bind);
    g_bind = NULL;
    if (g_libssh) ssh_finalize();
    g_libssh = false;
}
