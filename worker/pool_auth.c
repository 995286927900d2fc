/* worker/pool_auth.c - ZAP (RFC 27) handler with an allow-list of worker
 * Curve public keys read from a directory. Curve alone admits any key. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/internal.h"

/* A bare 40-char Z85 line, or czmq's `public-key = "..."`. */
static bool parse_key_line(const char *line, uint8_t out[32])
{
    const char *q = strstr(line, "public-key");
    if (q) {
        q = strchr(q, '"');
        if (!q) return false;
        q++;
    } else {
        q = line;
        while (*q == ' ' || *q == '\t') q++;
    }
    char key[41];
    size_t n = 0;
    while (n < 40 && q[n] && q[n] != '"' && q[n] != '\n' && q[n] != '\r' && q[n] != ' ') {
        key[n] = q[n];
        n++;
    }
    key[n] = 0;
    if (n != 40) return false;
    return zmq_z85_decode(out, key) != NULL;
}

int pool_auth_load(sy_pool_t *p, const char *dir, sy_err_t *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return sy_err_set(err, SY_E_INVALID, 500, "InvalidConfiguration",
                          "could not open worker keys dir %s", dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        char line[512];
        bool secret = strstr(de->d_name, "_secret") != NULL, have_key = false;
        uint8_t key[32];
        char *fns = NULL;
        while (!secret && fgets(line, sizeof line, f)) {
            if (line[0] == '#') continue;
            if (strstr(line, "secret-key")) { /* never trust a secret cert file */
                have_key = false;
                break;
            }
            const char *fl = line;
            while (*fl == ' ' || *fl == '\t') fl++;
            if (!strncmp(fl, "functions", 9) && strchr(fl, '=')) { /* functions = orders-*, payments */
                free(fns);
                fns = sy_strdup(strchr(fl, '=') + 1);
                fns[strcspn(fns, "\r\n")] = 0;
            } else if (!have_key && parse_key_line(line, key)) {
                have_key = true;
            }
        }
        if (have_key) {
            p->allowed = sy_realloc(p->allowed, (p->nallowed + 1) * sizeof *p->allowed);
            p->allowed_fns = sy_realloc(p->allowed_fns, (p->nallowed + 1) * sizeof *p->allowed_fns);
            memcpy(p->allowed[p->nallowed], key, 32);
            p->allowed_fns[p->nallowed++] = fns;
            fns = NULL;
        }
        free(fns);
        fclose(f);
    }
    closedir(d);
    char n[16];
    snprintf(n, sizeof n, "%zu", p->nallowed);
    sy_log(SY_LOG_INFO, "pool", NULL, "worker allow-list loaded", "dir", dir, "keys", n);
    return 0;
}

/* One comma-separated glob list ('*' only) against a function name. */
static bool listed(const char *list, const char *name)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        size_t n = strcspn(p, ", \t");
        if (!n) break;
        char pat[256];
        snprintf(pat, sizeof pat, "%.*s", (int)n, p);
        char *star = strchr(pat, '*');
        if (star ? !strncmp(pat, name, (size_t)(star - pat)) &&
                       strlen(name) >= strlen(pat) - 1 &&
                       !strcmp(name + strlen(name) - strlen(star + 1), star + 1)
                 : !strcmp(pat, name))
            return true;
        p += n;
    }
    return false;
}

bool pool_auth_may_host(const sy_pool_t *p, const char *user, const char *function)
{
    if (!p->zap) return true;
    uint8_t key[32];
    if (!user || strlen(user) != 40 || !zmq_z85_decode(key, user)) return false;
    for (size_t i = 0; i < p->nallowed; i++)
        if (!memcmp(p->allowed[i], key, 32)) return !p->allowed_fns[i] || listed(p->allowed_fns[i], function);
    return false;
}

static void send_str(void *s, const char *v, int more)
{
    zmq_send(s, v, strlen(v), more ? ZMQ_SNDMORE : 0);
}

/* One ZAP request: version, request id, domain, address, identity,
 * mechanism, credentials... Reply 200 for an allowed CURVE key, else 400. */
void pool_auth_handle(sy_pool_t *p)
{
    zmq_msg_t parts[8];
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, p->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (n == 0) return;
            break;
        }
        more = zmq_msg_more(&m);
        if (n < 8)
            parts[n++] = m;
        else
            zmq_msg_close(&m);
    }
    bool allowed = false;
    char user[41] = "";
    if (n >= 7 && zmq_msg_size(&parts[5]) == 5 && memcmp(zmq_msg_data(&parts[5]), "CURVE", 5) == 0 &&
        zmq_msg_size(&parts[6]) == 32) {
        const uint8_t *key = zmq_msg_data(&parts[6]);
        for (size_t i = 0; i < p->nallowed; i++)
            if (memcmp(p->allowed[i], key, 32) == 0) allowed = true;
        zmq_z85_encode(user, key, 32);
    }
    if (!allowed)
        sy_log(SY_LOG_WARN, "pool", NULL, "refused worker key", "key", user);
    send_str(p->zap, "1.0", 1);
    if (n >= 2)
        zmq_send(p->zap, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), ZMQ_SNDMORE);
    else
        send_str(p->zap, "", 1);
    send_str(p->zap, allowed ? "200" : "400", 1);
    send_str(p->zap, allowed ? "OK" : "worker key not allowed", 1);
    send_str(p->zap, allowed ? user : "", 1);
    send_str(p->zap, "", 0);
    for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
}
