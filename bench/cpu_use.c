/* bench/cpu_use.c - CPU time by role from /proc (see cpu_use.h) */
#include "cpu_use.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int role_of(const char *comm, long pid)
{
    if (pid == (long)getpid()) return CPU_CLIENT;
    if (!strcmp(comm, "switchyard")) return CPU_BROKER;
    if (!strcmp(comm, "postgres")) return CPU_PG;
    return CPU_OTHER;
}

void cpu_mark(cpu_mark_t *m)
{
    memset(m, 0, sizeof *m);
    DIR *d = opendir("/proc");
    struct dirent *e;
    char path[64], buf[1024];
    while (d && (e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char *lp = strchr(buf, '('), *rp = strrchr(buf, ')');
        if (!lp || !rp || rp < lp) continue;
        char comm[64];
        snprintf(comm, sizeof comm, "%.*s", (int)(rp - lp - 1), lp + 1);
        /* after ")": state (field 3) ... utime (14), stime (15) */
        unsigned long long ut = 0, st = 0;
        if (sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) continue;
        m->ticks[role_of(comm, pid)] += ut + st;
    }
    if (d) closedir(d);
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[10] = {0};
    if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                    &v[6], &v[7]) == 8) {
        m->idle = v[3] + v[4];
        m->proc = v[0] + v[1] + v[2];
        for (int i = 0; i < 8; i++) m->total += v[i];
    }
    if (f) fclose(f);
}

void cpu_since(const cpu_mark_t *m, cpu_use_t *u)
{
    cpu_mark_t now;
    cpu_mark(&now);
    double hz = (double)sysconf(_SC_CLK_TCK);
    double live = 0;
    for (int i = 0; i < CPU_ROLES; i++) {
        u->s[i] = now.ticks[i] >= m->ticks[i] ? (double)(now.ticks[i] - m->ticks[i]) / hz : 0;
        live += u->s[i];
    }
    double ran = (double)(now.proc - m->proc) / hz;
    if (ran > live) u->s[CPU_PG] += ran - live; /* processes that exited: the peer's backends */
    double tot = (double)(now.total - m->total), idle = (double)(now.idle - m->idle);
    u->idle_frac = tot > 0 ? idle / tot : 0;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double wall = tot / hz / (double)(ncpu > 0 ? ncpu : 1);
    u->cores_busy = wall > 0 ? (tot - idle) / hz / wall : 0;
    u->wall_s = wall;
}

static double per_msg_us(double s, double msgs)
{
    return msgs > 0 ? s * 1e6 / msgs : 0;
}

void cpu_print(const char *what, const cpu_use_t *u, double msgs)
{
    printf("  cpu, %s: broker %.0f us, postgres %.0f us, client %.0f us, other %.0f us a message; "
           "%.2f cores busy, idle %.0f %%\n",
           what, per_msg_us(u->s[CPU_BROKER], msgs), per_msg_us(u->s[CPU_PG], msgs),
           per_msg_us(u->s[CPU_CLIENT], msgs), per_msg_us(u->s[CPU_OTHER], msgs), u->cores_busy,
           100 * u->idle_frac);
}

int cpu_json(char *out, size_t cap, const char *prefix, const cpu_use_t *u, double msgs)
{
    return snprintf(out, cap,
                    ",\"%s_cpu_us_per_msg\":{\"broker\":%.1f,\"postgres\":%.1f,\"client\":%.1f,\"other\":%.1f,"
                    "\"idle_pct\":%.1f}",
                    prefix, per_msg_us(u->s[CPU_BROKER], msgs), per_msg_us(u->s[CPU_PG], msgs),
                    per_msg_us(u->s[CPU_CLIENT], msgs), per_msg_us(u->s[CPU_OTHER], msgs), 100 * u->idle_frac);
}
