/* server/server.h - internal declarations of the switchyard binary. */
#ifndef SY_SERVER_H
#define SY_SERVER_H

#include "core/core.h"

/* Embedded PostgreSQL (server/pg_embed.c).
 *
 * Runs a private cluster in <data_dir>/pg on a unix socket in <data_dir>/run
 * (no TCP: listen_addresses=''), initdb'ing it on first start and reusing it
 * afterwards. As root, initdb and postgres run as the `postgres` user. A stale
 * postmaster.pid is cleaned up; a live postmaster of this data dir left over
 * by a killed broker is reused. Creates the `switchyard` database if missing.
 *
 * On success returns 0 and sets *conninfo_out to a libpq conninfo string for
 * the `switchyard` database (caller frees). On failure returns a negative
 * SY_E_* and fills *err with a message that says what to fix.
 *
 * pg_bin (the --pg-bin setting) is the directory of initdb/pg_ctl; NULL:
 * the newest /usr/lib/postgresql/N/bin, else PATH. */
int sy_pg_embed_start(const char *data_dir, const char *pg_bin, char **conninfo_out, sy_err_t *err);
/* Stop the cluster started (or reused) by sy_pg_embed_start: pg_ctl stop -m
 * fast, waiting for the postmaster to exit. Safe to call when not running. */
void sy_pg_embed_stop(const char *data_dir, const char *pg_bin);

int sy_worker_main(int argc, char **argv);
/* `switchyard policy simulate|validate` (server/policy_cmd.c) */
int sy_policy_main(int argc, char **argv);
/* Connect the services' seams (server/wiring.c). */
void sy_server_wire(sy_ctx_t *ctx);
/* SIGTERM drain (server/drain.c): readiness fails, serve on for
 * --drain-delay-s, then a watchdog bounds the rest (--drain-timeout-s). */
void sy_server_drain_begin(sy_ctx_t *ctx);
void sy_server_drain_end(void);

/* The web console (server/console.c): its files at /console/ and its own
 * read-only endpoints at POST /console/api/<name>. An endpoint belongs to the
 * service that has the data (a public sy_<module>_console_<verb> of that
 * signature: a JSON object in, *out a JSON object); server/wiring.c adds them. */
typedef int (*sy_console_fn)(sy_ctx_t *ctx, const json_t *in, json_t **out, sy_err_t *err);
void sy_server_console_add(const char *name, sy_console_fn fn);
void sy_server_console_start(sy_ctx_t *ctx);

#endif
