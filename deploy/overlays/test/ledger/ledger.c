/* ledger.c - the test fleet's `ledger` function (a C handler,
 * include/switchyard/handler.h; built into localhost/switchyard-test-worker
 * by deploy/podman/test-worker.Containerfile).
 *
 * For every id it handles it appends a "start" line before the work and a
 * "done" line after to $LEDGER_DIR/ledger.log, shared by all worker pods
 * (one write(2) per line on an O_APPEND descriptor, so lines never mix):
 *   <unix time> start|done <worker id> <request id> <id>
 * An event is {"id": ID, "sleep": SECONDS} (Invoke, a state machine Task) or
 * an SQS event-source batch whose records' bodies are such objects. The
 * result is {"id": ID, "worker": <worker id>, "input": <event>}. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <switchyard/handler.h>

static int note(const char *what, const char *rid, const char *id)
{
    const char *dir = getenv("LEDGER_DIR"), *me = getenv("SWITCHYARD_WORKER_ID");
    char path[512], line[512];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(path, sizeof path, "%s/ledger.log", dir ? dir : "/tmp");
    int n = snprintf(line, sizeof line, "%lld.%09ld %s %s %s %s\n", (long long)ts.tv_sec, ts.tv_nsec, what,
                     me ? me : "?", rid, id);
    if (n <= 0 || (size_t)n >= sizeof line) return -1;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return -1;
    int rc = write(fd, line, (size_t)n) == n ? 0 : -1;
    close(fd);
    return rc;
}

/* the ids of the event (one, or one per SQS record); its sleep */
static json_t *ids_of(json_t *in, double *sleep_s)
{
    json_t *ids = json_array(), *recs = json_object_get(in, "Records");
    *sleep_s = 0;
    if (json_is_array(recs)) {
        size_t i;
        json_t *rec;
        json_array_foreach(recs, i, rec) {
            json_t *body = json_loads(json_string_value(json_object_get(rec, "body")) ?: "null", 0, NULL);
            if (json_is_string(json_object_get(body, "id"))) json_array_append(ids, json_object_get(body, "id"));
            if (i == 0) *sleep_s = json_number_value(json_object_get(body, "sleep"));
            json_decref(body);
        }
    } else if (json_is_string(json_object_get(in, "id"))) {
        json_array_append(ids, json_object_get(in, "id"));
        *sleep_s = json_number_value(json_object_get(in, "sleep"));
    }
    return ids;
}

int ledger(const sy_handler_ctx_t *ctx, const char *event, size_t len)
{
    json_t *in = json_loadb(event, len, 0, NULL);
    if (!in) {
        ctx->fail(ctx, "InvalidEvent", "the event is not JSON");
        return 1;
    }
    double sleep_s;
    json_t *ids = ids_of(in, &sleep_s), *id;
    size_t i;
    int bad = 0;
    json_array_foreach(ids, i, id) bad |= note("start", ctx->request_id, json_string_value(id));
    if (sleep_s > 0) usleep((useconds_t)(sleep_s * 1e6));
    json_array_foreach(ids, i, id) bad |= note("done", ctx->request_id, json_string_value(id));
    json_decref(ids);
    if (bad) {
        json_decref(in);
        ctx->fail(ctx, "LedgerError", "could not write the ledger");
        return 1;
    }
    const char *me = getenv("SWITCHYARD_WORKER_ID");
    json_t *out = json_pack("{s:O?,s:s,s:O}", "id", json_object_get(in, "id"), "worker", me ? me : "?", "input", in);
    char *s = json_dumps(out, JSON_COMPACT);
    ctx->respond(ctx, s, strlen(s));
    free(s);
    json_decref(out);
    json_decref(in);
    return 0;
}
