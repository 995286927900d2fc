/* bus/eb_put_event.c - sy_bus_put_event: one event put by another service
 * (e.g. a Lambda destination record) inside the caller's open transaction */
#include "bus/internal.h"

#include <stdlib.h>
#include <string.h>

int sy_bus_put_event(sy_ctx_t *ctx, PGconn *c, const char *bus, const char *source, const char *detail_type,
                     const char *detail_json, char event_id_out[37], sy_err_t *err)
{
    eb_svc_t *svc = eb_svc(ctx);
    if (!svc) return sy_err_set(err, SY_E_INTERNAL, 500, "InternalException", "event buses are not running");
    json_t *detail = json_loads(detail_json, 0, NULL);
    if (!json_is_object(detail)) {
        json_decref(detail);
        return sy_err_set(err, SY_E_INVALID, 400, "ValidationException", "Detail is malformed.");
    }
    /* a bus ARN names the bus after "event-bus/" */
    const char *slash = strstr(bus, ":event-bus/");
    const char *name = slash ? slash + strlen(":event-bus/") : bus;
    char id[37];
    sy_uuid4(id);
    if (event_id_out) memcpy(event_id_out, id, sizeof id);
    json_t *env = eb_envelope(ctx, id, detail_type, source, sy_now_ms(), NULL, detail);
    json_decref(detail);
    int rc = 0;
    eb_snap_t *s = eb_snap_get(svc, c, err);
    if (!s) {
        rc = SY_E_DB;
    } else if (!eb_snap_bus(s, name)) {
        rc = sy_err_set(err, SY_E_NOTFOUND, 400, "ResourceNotFoundException", "Event bus %s does not exist.", name);
    } else {
        eb_route_t r = {.bus = name, .event = env, .archive = true};
        rc = eb_route(svc, s, c, &r, err);
        if (rc > 0) rc = 0;
    }
    if (s) eb_snap_release(svc, s);
    json_decref(env);
    return rc;
}
