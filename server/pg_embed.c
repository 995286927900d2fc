/* server/pg_embed.c - the embedded PostgreSQL: a private cluster in
 * <data-dir>/pg, reached on a unix socket only, started and stopped by the
 * broker. As root, initdb and the postmaster run as the `postgres` user (they
 * refuse root), in a forked child that drops privileges before exec. */
#include "server/server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG_USER "postgres"
#define PG_PORT "5432"
#define START_TIMEOUT_S "120"

/* Who runs the PostgreSQL programs. */
typedef struct {
    bool drop;      /* we are root: switch to uid/gid below */
    uid_t uid;
    gid_t gid;
    gid_t groups[64];
    int ngroups;
} pg_user_t;

typedef struct {
    char data[PATH_MAX - 64]; /* absolute data dir */
    char pg[PATH_MAX];    /* <data>/pg: PGDATA */
    char sock[PATH_MAX];  /* socket directory */
    char log[PATH_MAX];   /* <data>/pg.log */
    char bin[PATH_MAX];   /* directory of initdb, pg_ctl */
    pg_user_t user;
} embed_t;

/* ---------------------------------------------------------------- helpers */

static void logi(const char *msg, const char *k, const char *v)
{
    sy_log(SY_LOG_INFO, "pg", NULL, msg, k, v);
}

static void logw(const char *msg, const char *k, const char *v)
{
    sy_log(SY_LOG_WARN, "pg", NULL, msg, k, v);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST) return -1;
    return is_dir(tmp) ? 0 : -1;
}

/* Version-sorted newest /usr/lib/postgresql/N/bin, else initdb on PATH. */
static int find_bin(embed_t *e, const char *env, sy_err_t *err)
{
    char probe[PATH_MAX + 16];
    if (env && *env) {
        snprintf(e->bin, sizeof e->bin, "%s", env);
        snprintf(probe, sizeof probe, "%s/initdb", e->bin);
        if (access(probe, X_OK) == 0) return 0;
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                          "--pg-bin %s has no initdb", env);
    }
    glob_t g;
    int best = -1;
    if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            int v = atoi(g.gl_pathv[i] + strlen("/usr/lib/postgresql/"));
            if (v > best && access(g.gl_pathv[i], X_OK) == 0) {
                best = v;
                snprintf(e->bin, sizeof e->bin, "%.*s", (int)(strlen(g.gl_pathv[i]) - 7),
                         g.gl_pathv[i]);
            }
        }
        globfree(&g);
    }
    if (best >= 0) return 0;
    char *dir = sy_path_find("initdb");
    if (dir) {
        snprintf(e->bin, sizeof e->bin, "%s", dir);
        free(dir);
        return 0;
    }
    return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                      "PostgreSQL server programs not found (no initdb in /usr/lib/postgresql/*/bin "
                      "or PATH): install the postgresql package, set --pg-bin (SWITCHYARD_PG_BIN), or pass "
                      "--database-url");
}

static int resolve_user(pg_user_t *u, sy_err_t *err)
{
    memset(u, 0, sizeof *u);
    if (geteuid() != 0) return 0;
    struct passwd *pw = getpwnam(PG_USER);
    if (!pw)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                          "running as root, but there is no \"" PG_USER "\" user to run PostgreSQL "
                          "as (PostgreSQL refuses root): create it or run as another user");
    u->drop = true;
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    u->ngroups = (int)(sizeof u->groups / sizeof u->groups[0]);
    if (getgrouplist(PG_USER, pw->pw_gid, u->groups, &u->ngroups) < 0) {
        u->groups[0] = pw->pw_gid;
        u->ngroups = 1;
    }
    return 0;
}

/* In a forked child: become the PostgreSQL user. */
static void child_drop(const pg_user_t *u)
{
    if (!u->drop) return;
    if (setgroups((size_t)u->ngroups, u->groups) != 0 || setgid(u->gid) != 0 ||
        setuid(u->uid) != 0) {
        static const char m[] = "pg_embed: could not switch to the postgres user\n";
        ssize_t w = write(2, m, sizeof m - 1);
        (void)w;
        _exit(126);
    }
}

static void close_from(int lowfd)
{
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = lowfd; fd < max; fd++) close(fd);
}

/* Run argv as the PostgreSQL user, stdout/stderr appended to the log file.
 * Detached into its own session so that a terminal's ^C reaches only the
 * broker, which then stops PostgreSQL itself. Returns the exit status, or -1. */
static int run_pg(const embed_t *e, char *const argv[])
{
    int logfd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    pid_t pid = fork();
    if (pid < 0) {
        if (logfd >= 0) close(logfd);
        return -1;
    }
    if (pid == 0) {
        /* the broker blocks SIGTERM/SIGINT for sigwait and ignores SIGPIPE:
         * both survive exec, so give PostgreSQL a clean slate */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        setsid();
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) dup2(nul, 0);
        if (logfd >= 0) {
            dup2(logfd, 1);
            dup2(logfd, 2);
        }
        close_from(3);
        child_drop(&e->user);
        if (chdir("/") != 0) _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    if (logfd >= 0) close(logfd);
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* As the PostgreSQL user, find the first of `path`'s directories (from the
 * root down) it cannot enter. Returns 0 when all are fine, else 1 and the
 * offending directory in bad. */
static int check_traversable(const pg_user_t *u, const char *path, char *bad, size_t badn)
{
    if (!u->drop) return 0;
    int fds[2];
    if (pipe(fds) != 0) return 0;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return 0;
    }
    if (pid == 0) {
        close(fds[0]);
        child_drop(u);
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s", path);
        size_t len = strlen(tmp);
        for (size_t i = 1; i <= len; i++) {
            if (tmp[i] != '/' && tmp[i] != '\0') continue;
            char c = tmp[i];
            tmp[i] = '\0';
            if (access(tmp, X_OK) != 0) {
                ssize_t w = write(fds[1], tmp, strlen(tmp));
                (void)w;
                _exit(1);
            }
            tmp[i] = c;
        }
        _exit(0);
    }
    close(fds[1]);
    ssize_t n = read(fds[0], bad, badn - 1);
    close(fds[0]);
    bad[n > 0 ? n : 0] = '\0';
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return n > 0 ? 1 : 0;
}

static int chown_tree(const pg_user_t *u, const char *path)
{
    if (!u->drop) return 0;
    struct stat st;
    if (lstat(path, &st) != 0) return -1;
    if (st.st_uid != u->uid || st.st_gid != u->gid) {
        if (lchown(path, u->uid, u->gid) != 0) return -1;
    }
    if (!S_ISDIR(st.st_mode)) return 0;
    DIR *d = opendir(path);
    if (!d) return -1;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char sub[PATH_MAX];
        if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, de->d_name) >= sizeof sub) continue;
        if (chown_tree(u, sub) != 0) rc = -1;
    }
    closedir(d);
    return rc;
}

static int rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return -1;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            char sub[PATH_MAX];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            rm_tree(sub);
        }
        closedir(d);
        return rmdir(path);
    }
    return unlink(path);
}

/* ------------------------------------------------------- postmaster.pid */

typedef struct {
    pid_t pid;
    char datadir[PATH_MAX];
    char port[16];
    char sockdir[PATH_MAX];
    char status[32];
} pidfile_t;

static int read_pidfile(const char *pgdir, pidfile_t *pf)
{
    memset(pf, 0, sizeof *pf);
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/postmaster.pid", pgdir);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[PATH_MAX];
    for (int i = 1; i <= 8 && fgets(line, sizeof line, f); i++) {
        line[strcspn(line, "\r\n")] = '\0';
        switch (i) {
        case 1: pf->pid = (pid_t)atol(line); break;
        case 2: snprintf(pf->datadir, sizeof pf->datadir, "%s", line); break;
        case 4: snprintf(pf->port, sizeof pf->port, "%.15s", line); break;
        case 5: snprintf(pf->sockdir, sizeof pf->sockdir, "%s", line); break;
        case 8: snprintf(pf->status, sizeof pf->status, "%.31s", line); break;
        default: break;
        }
    }
    fclose(f);
    return 0;
}

static bool pid_alive(pid_t pid)
{
    if (pid <= 0) return false;
    if (kill(pid, 0) == 0 || errno == EPERM) {
        /* a zombie counts as dead */
        char p[64], buf[512];
        snprintf(p, sizeof p, "/proc/%ld/stat", (long)pid);
        FILE *f = fopen(p, "r");
        if (!f) return true;
        bool zombie = false;
        if (fgets(buf, sizeof buf, f)) {
            char *rp = strrchr(buf, ')');
            zombie = rp && rp[1] == ' ' && rp[2] == 'Z';
        }
        fclose(f);
        return !zombie;
    }
    return false;
}

/* Is pid a live postgres whose working directory is pgdir (the postmaster
 * chdir()s into its data directory)? Guards against a recycled pid. */
static bool postmaster_is_ours(pid_t pid, const char *pgdir)
{
    if (!pid_alive(pid)) return false;
    char p[64], comm[64] = "", cwd[PATH_MAX];
    snprintf(p, sizeof p, "/proc/%ld/comm", (long)pid);
    FILE *f = fopen(p, "r");
    if (f) {
        if (!fgets(comm, sizeof comm, f)) comm[0] = '\0';
        fclose(f);
    }
    comm[strcspn(comm, "\n")] = '\0';
    if (strcmp(comm, "postgres") != 0 && strcmp(comm, "postmaster") != 0) return false;
    snprintf(p, sizeof p, "/proc/%ld/cwd", (long)pid);
    ssize_t n = readlink(p, cwd, sizeof cwd - 1);
    if (n < 0) return true; /* cannot tell (no /proc access): trust comm */
    cwd[n] = '\0';
    return strcmp(cwd, pgdir) == 0;
}

static bool wait_exit(pid_t pid, int seconds)
{
    for (int i = 0; i < seconds * 10; i++) {
        if (!pid_alive(pid)) return true;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return !pid_alive(pid);
}

static char *conninfo_for(const char *sockdir, const char *port, const char *db)
{
    return sy_asprintf("host=%s port=%s user=" PG_USER " dbname=%s connect_timeout=10", sockdir,
                       port, db);
}

static PGconn *try_connect(const char *sockdir, const char *port, const char *db)
{
    char *ci = conninfo_for(sockdir, port, db);
    PGconn *c = PQconnectdb(ci);
    free(ci);
    if (PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* Remove socket lock files left by a dead postmaster. */
static void clean_socket_dir(const char *sockdir)
{
    char lock[PATH_MAX + 32], sock[PATH_MAX + 32];
    snprintf(lock, sizeof lock, "%s/.s.PGSQL." PG_PORT ".lock", sockdir);
    snprintf(sock, sizeof sock, "%s/.s.PGSQL." PG_PORT, sockdir);
    FILE *f = fopen(lock, "r");
    if (!f) return;
    char line[64] = "";
    if (!fgets(line, sizeof line, f)) line[0] = '\0';
    fclose(f);
    long pid = atol(line);
    if (pid > 0 && pid_alive((pid_t)pid)) return;
    unlink(lock);
    unlink(sock);
}

/* --------------------------------------------------------------- phases */

static int paths_init(embed_t *e, const char *data_dir, sy_err_t *err)
{
    if (!data_dir || !*data_dir)
        return sy_err_set(err, SY_E_INVALID, 500, "InternalFailure", "no data directory given");
    if (mkdir_p(data_dir, 0755) != 0)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                          "could not create data directory \"%s\": %s", data_dir, strerror(errno));
    char real[PATH_MAX];
    if (!realpath(data_dir, real))
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                          "could not resolve data directory \"%s\": %s", data_dir, strerror(errno));
    if (strlen(real) >= sizeof e->data)
        return sy_err_set(err, SY_E_INVALID, 500, "InternalFailure", "data directory path too long");
    memcpy(e->data, real, strlen(real) + 1);
    if (strchr(e->data, '\'') || strchr(e->data, '\\'))
        return sy_err_set(err, SY_E_INVALID, 500, "InternalFailure",
                          "data directory \"%s\" must not contain quotes or backslashes", e->data);
    snprintf(e->pg, sizeof e->pg, "%s/pg", e->data);
    snprintf(e->log, sizeof e->log, "%s/pg.log", e->data);
    snprintf(e->sock, sizeof e->sock, "%s/run", e->data);
    /* sun_path holds 108 bytes: fall back to a short per-data-dir path. */
    if (strlen(e->sock) + sizeof("/.s.PGSQL." PG_PORT) > sizeof(((struct sockaddr_un *)0)->sun_path)) {
        unsigned long h = 5381;
        for (const char *p = e->data; *p; p++) h = h * 33 + (unsigned char)*p;
        snprintf(e->sock, sizeof e->sock, "/tmp/switchyard-pg-%lx", h & 0xffffffffffUL);
        logi("data directory path too long for a unix socket, using a socket in /tmp", "socket_dir",
             e->sock);
    }
    return 0;
}

/* Data dir enterable, pg/ and the socket dir owned by the PostgreSQL user. */
static int prepare_dirs(embed_t *e, sy_err_t *err)
{
    const pg_user_t *u = &e->user;
    struct stat st;
    if (u->drop && stat(e->data, &st) == 0 && st.st_uid == geteuid() && !(st.st_mode & S_IXOTH)) {
        /* our own data dir: let the postgres user through (x only, no listing) */
        if (chmod(e->data, (st.st_mode & 07777) | S_IXOTH) == 0)
            logi("made data directory traversable for the postgres user", "path", e->data);
    }
    char bad[PATH_MAX];
    if (check_traversable(u, e->data, bad, sizeof bad))
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                          "directory \"%s\" is not traversable by the \"" PG_USER "\" user, which "
                          "runs the embedded PostgreSQL (data directory \"%s\"): run \"chmod o+x "
                          "%s\", choose another --data-dir, or pass --database-url",
                          bad, e->data, bad);
    if (mkdir_p(e->pg, 0700) != 0 || mkdir_p(e->sock, 0700) != 0)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                          "could not create \"%s\" or \"%s\": %s", e->pg, e->sock, strerror(errno));
    if (lstat(e->sock, &st) != 0 || !S_ISDIR(st.st_mode) ||
        (st.st_uid != geteuid() && !(u->drop && st.st_uid == u->uid)))
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                          "socket directory \"%s\" is not a directory owned by us", e->sock);
    if (u->drop) {
        if (chown_tree(u, e->pg) != 0 || chown(e->sock, u->uid, u->gid) != 0)
            return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                              "could not give \"%s\" to the \"" PG_USER "\" user: %s", e->pg,
                              strerror(errno));
    }
    chmod(e->pg, 0700);
    chmod(e->sock, 0700);
    if (u->drop && check_traversable(u, e->sock, bad, sizeof bad))
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                          "directory \"%s\" is not traversable by the \"" PG_USER "\" user (socket "
                          "directory \"%s\"): run \"chmod o+x %s\"",
                          bad, e->sock, bad);
    return 0;
}

static int initdb(embed_t *e, sy_err_t *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/PG_VERSION", e->pg);
    if (is_file(path)) return 0;
    DIR *d = opendir(e->pg);
    bool empty = true;
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) empty = false;
        closedir(d);
    }
    if (!empty) {
        /* no PG_VERSION: an initdb that was interrupted; it never held data */
        logw("removing an incomplete cluster left by an interrupted initdb", "path", e->pg);
        rm_tree(e->pg);
        if (mkdir_p(e->pg, 0700) != 0 || chown_tree(&e->user, e->pg) != 0)
            return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not recreate \"%s\"",
                              e->pg);
    }
    logi("initializing a new PostgreSQL cluster", "path", e->pg);
    char prog[PATH_MAX + 16];
    snprintf(prog, sizeof prog, "%s/initdb", e->bin);
    char *argv[] = {prog, "-D", e->pg, "-U", PG_USER, "--auth=trust", "-E", "UTF8",
                    "--locale=C.UTF-8", NULL};
    int rc = run_pg(e, argv);
    if (rc != 0)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                          "initdb failed with status %d: see %s", rc, e->log);
    /* settings the broker owns live in switchyard.conf, rewritten each start */
    snprintf(path, sizeof path, "%s/postgresql.conf", e->pg);
    FILE *f = fopen(path, "a");
    if (!f)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not open %s: %s", path,
                          strerror(errno));
    fprintf(f, "\n# managed by switchyard\ninclude_if_exists = 'switchyard.conf'\n");
    fclose(f);
    logi("initialized PostgreSQL cluster", "path", e->pg);
    return 0;
}

static int write_conf(embed_t *e, sy_err_t *err)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/switchyard.conf", e->pg);
    FILE *f = fopen(path, "w");
    if (!f)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not write %s: %s", path,
                          strerror(errno));
    fprintf(f,
            "# written by switchyard at every start; edit postgresql.conf instead\n"
            "listen_addresses = ''\n"
            "port = " PG_PORT "\n"
            "unix_socket_directories = '%s'\n"
            "unix_socket_permissions = 0700\n"
            "max_connections = 200\n",
            e->sock);
    fclose(f);
    if (e->user.drop && chown(path, e->user.uid, e->user.gid) != 0)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure", "could not chown %s", path);
    return 0;
}

/* Deal with a postmaster.pid left behind. Returns 1 when a live postmaster
 * of ours answers (reuse it: *conninfo set), 0 when a fresh start is due. */
static int handle_pidfile(embed_t *e, char **reuse_sock, char **reuse_port)
{
    pidfile_t pf;
    if (read_pidfile(e->pg, &pf) != 0) {
        clean_socket_dir(e->sock);
        return 0;
    }
    char pids[32];
    snprintf(pids, sizeof pids, "%ld", (long)pf.pid);
    if (postmaster_is_ours(pf.pid, e->pg)) {
        /* left over by a broker that died: reuse it once it accepts connections */
        const char *sock = pf.sockdir[0] ? pf.sockdir : e->sock;
        const char *port = pf.port[0] ? pf.port : PG_PORT;
        for (int i = 0; i < 300; i++) {
            PGconn *c = try_connect(sock, port, "postgres");
            if (c) {
                PQfinish(c);
                logi("reusing the running postmaster of this data directory", "pid", pids);
                *reuse_sock = sy_strdup(sock);
                *reuse_port = sy_strdup(port);
                return 1;
            }
            if (!pid_alive(pf.pid)) break;
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        if (pid_alive(pf.pid)) {
            logw("postmaster of this data directory does not answer, stopping it", "pid", pids);
            kill(pf.pid, SIGQUIT); /* immediate shutdown */
            if (!wait_exit(pf.pid, 30)) {
                kill(pf.pid, SIGKILL);
                wait_exit(pf.pid, 10);
            }
        }
    } else {
        logw("removing stale postmaster.pid", "pid", pids);
    }
    /* the postmaster is gone; its backends may linger for a moment */
    if (!pid_alive(pf.pid)) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/postmaster.pid", e->pg);
        unlink(path);
    }
    clean_socket_dir(e->sock);
    if (pf.sockdir[0] && strcmp(pf.sockdir, e->sock) != 0) clean_socket_dir(pf.sockdir);
    return 0;
}

static int pg_start(embed_t *e, sy_err_t *err)
{
    char prog[PATH_MAX + 16];
    snprintf(prog, sizeof prog, "%s/pg_ctl", e->bin);
    char *argv[] = {prog, "-D", e->pg, "-w", "-t", START_TIMEOUT_S, "start", NULL};
    logi("starting PostgreSQL", "socket_dir", e->sock);
    int rc = run_pg(e, argv);
    if (rc != 0)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalFailure",
                          "PostgreSQL did not start (pg_ctl status %d): see %s", rc, e->log);
    return 0;
}

static int ensure_database(const char *sock, const char *port, sy_err_t *err)
{
    PGconn *c = try_connect(sock, port, "postgres");
    if (!c)
        return sy_err_set(err, SY_E_DB, 500, "InternalFailure",
                          "could not connect to the embedded PostgreSQL on %s", sock);
    int rc = 0;
    PGresult *r = PQexec(c, "SELECT 1 FROM pg_database WHERE datname = 'switchyard'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = sy_err_set(err, SY_E_DB, 500, "InternalFailure", "could not list databases: %s",
                        PQerrorMessage(c));
    } else if (PQntuples(r) == 0) {
        PQclear(r);
        r = PQexec(c, "CREATE DATABASE switchyard");
        const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (PQresultStatus(r) == PGRES_COMMAND_OK)
            logi("created database", "database", "switchyard");
        else if (!st || strcmp(st, "42P04") != 0) /* duplicate_database: someone beat us */
            rc = sy_err_set(err, SY_E_DB, 500, "InternalFailure",
                            "could not create database switchyard: %s", PQerrorMessage(c));
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* ------------------------------------------------------------------ API */

int sy_pg_embed_start(const char *data_dir, const char *pg_bin, char **conninfo_out, sy_err_t *err)
{
    embed_t *e = sy_calloc(1, sizeof *e);
    char *rsock = NULL, *rport = NULL;
    int lockfd = -1, rc;
    *conninfo_out = NULL;

    if ((rc = paths_init(e, data_dir, err)) != 0) goto done;
    if ((rc = find_bin(e, pg_bin, err)) != 0) goto done;
    if ((rc = resolve_user(&e->user, err)) != 0) goto done;
    /* one starter at a time per data directory */
    char lockpath[PATH_MAX + 32];
    snprintf(lockpath, sizeof lockpath, "%s/.pg-embed.lock", e->data);
    lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd >= 0) while (flock(lockfd, LOCK_EX) != 0 && errno == EINTR) {}

    if ((rc = prepare_dirs(e, err)) != 0) goto done;
    if ((rc = initdb(e, err)) != 0) goto done;
    if ((rc = write_conf(e, err)) != 0) goto done;
    if (handle_pidfile(e, &rsock, &rport) == 0) {
        if ((rc = pg_start(e, err)) != 0) goto done;
        rsock = sy_strdup(e->sock);
        rport = sy_strdup(PG_PORT);
    }
    if ((rc = ensure_database(rsock, rport, err)) != 0) goto done;
    *conninfo_out = conninfo_for(rsock, rport, "switchyard");
    logi("embedded PostgreSQL ready", "socket_dir", rsock);
done:
    if (rc != 0)
        sy_log(SY_LOG_ERROR, "pg", NULL, "embedded PostgreSQL failed to start", "error",
               err ? err->message : "");
    if (lockfd >= 0) close(lockfd);
    free(rsock);
    free(rport);
    free(e);
    return rc;
}

void sy_pg_embed_stop(const char *data_dir, const char *pg_bin)
{
    embed_t *e = sy_calloc(1, sizeof *e);
    sy_err_t err;
    pidfile_t pf;
    if (paths_init(e, data_dir, &err) != 0 || find_bin(e, pg_bin, &err) != 0 ||
        resolve_user(&e->user, &err) != 0)
        goto done;
    if (read_pidfile(e->pg, &pf) != 0 || !postmaster_is_ours(pf.pid, e->pg)) goto done;
    char pids[32];
    snprintf(pids, sizeof pids, "%ld", (long)pf.pid);
    logi("stopping PostgreSQL", "pid", pids);
    char prog[PATH_MAX + 16];
    snprintf(prog, sizeof prog, "%s/pg_ctl", e->bin);
    char *argv[] = {prog, "-D", e->pg, "-m", "fast", "-w", "-t", "60", "stop", NULL};
    int rc = run_pg(e, argv);
    if (rc != 0 || !wait_exit(pf.pid, 10)) {
        logw("pg_ctl stop failed, sending SIGQUIT", "pid", pids);
        kill(pf.pid, SIGQUIT);
        wait_exit(pf.pid, 30);
    }
    logi("PostgreSQL stopped", "pid", pids);
done:
    free(e);
}
