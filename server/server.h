/* server/server.h - the binary's own pieces: the embedded PostgreSQL launcher */
#ifndef SY_SERVER_H
#define SY_SERVER_H
#include "core/core.h"

/* Start (or adopt) the embedded PostgreSQL in <data_dir>/pg on a unix socket;
 * *conninfo_out receives a libpq conninfo for the `switchyard` database. */
int sy_pg_embed_start(const char *data_dir, char **conninfo_out, sy_err_t *err);
void sy_pg_embed_stop(const char *data_dir);
int sy_worker_main(int argc, char **argv);
#endif
