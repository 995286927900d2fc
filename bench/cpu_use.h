/* bench/cpu_use.h - where the machine's cores went during a phase, read
 * from /proc: CPU seconds of the broker (processes named "switchyard"), of
 * PostgreSQL (every "postgres" process: the cluster's backends and its
 * background processes), of this load generator, of everything else, and
 * the idle time. A phase's figure per message is its CPU over its messages:
 * the measured cost each figure is bounded by, on a machine whose cores are
 * all busy. A process that exits during the phase takes its CPU time out of
 * /proc: what the machine's processes ran beyond the live ones' time is
 * counted as PostgreSQL's (the backends of the peer's connections, closed
 * at the end of each peer phase, are the processes that exit). */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum { CPU_BROKER, CPU_PG, CPU_CLIENT, CPU_OTHER, CPU_ROLES };

typedef struct {
    uint64_t ticks[CPU_ROLES]; /* utime + stime, clock ticks */
    uint64_t idle, total;      /* /proc/stat, all CPUs */
    uint64_t proc;             /* /proc/stat user + nice + system: what processes ran */
} cpu_mark_t;

typedef struct {
    double s[CPU_ROLES]; /* CPU seconds a role used since the mark */
    double idle_frac;    /* share of all cores' time left idle */
    double cores_busy;   /* average cores in use */
    double wall_s;       /* the phase's length */
} cpu_use_t;

void cpu_mark(cpu_mark_t *m);
void cpu_since(const cpu_mark_t *m, cpu_use_t *u);
/* "broker 61 us, postgres 84 us, client 30 us, other 2 us a message; idle 9 %" */
void cpu_print(const char *what, const cpu_use_t *u, double msgs);
/* ",\"<prefix>_cpu_us_per_msg\":{\"broker\":..,\"postgres\":..,\"client\":..,\"other\":..,\"idle_pct\":..}" */
int cpu_json(char *out, size_t cap, const char *prefix, const cpu_use_t *u, double msgs);
