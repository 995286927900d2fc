/* bench/queue_peer.h - the plain-SQL peer phases of bench-queue */
#pragma once

#include "cpu_use.h"

typedef struct {
    double insert1, insert10, lease; /* rows/s, best over the connection counts */
    int insert1_conns, insert10_conns, lease_conns;
    cpu_use_t insert1_cpu, insert10_cpu, lease_cpu; /* of the best phase */
} peer_result_t;

/* Run the three peer phases for each connection count; 0 or -1. */
int peer_run(const char *conninfo, int body_bytes, const int *conns, int nconns, double seconds, peer_result_t *out);
