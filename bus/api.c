/* bus/api.c - the AWSEvents.* router (JSON 1.1): one table from action name
 * to the action in its api_*.c file; encodes the result or the AWS error. */
#include "bus/internal.h"

#include <string.h>

#define ACTION(fn) int fn(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err)
/* api_buses.c */
ACTION(eb_create_event_bus);
ACTION(eb_delete_event_bus);
ACTION(eb_describe_event_bus);
ACTION(eb_list_event_buses);
ACTION(eb_put_permission);
ACTION(eb_remove_permission);
ACTION(eb_tag_resource);
ACTION(eb_untag_resource);
ACTION(eb_list_tags_for_resource);
/* api_rules.c */
ACTION(eb_put_rule);
ACTION(eb_describe_rule);
ACTION(eb_list_rules);
ACTION(eb_delete_rule);
ACTION(eb_enable_rule);
ACTION(eb_disable_rule);
ACTION(eb_put_targets);
ACTION(eb_remove_targets);
ACTION(eb_list_targets_by_rule);
ACTION(eb_list_rule_names_by_target);
ACTION(eb_test_event_pattern);
/* api_events.c */
ACTION(eb_put_events);
/* api_archive.c */
ACTION(eb_create_archive);
ACTION(eb_describe_archive);
ACTION(eb_list_archives);
ACTION(eb_update_archive);
ACTION(eb_delete_archive);
ACTION(eb_start_replay);
ACTION(eb_describe_replay);
ACTION(eb_list_replays);
ACTION(eb_cancel_replay);
/* api_dest.c */
ACTION(eb_create_connection);
ACTION(eb_describe_connection);
ACTION(eb_list_connections);
ACTION(eb_update_connection);
ACTION(eb_delete_connection);
ACTION(eb_create_api_destination);
ACTION(eb_describe_api_destination);
ACTION(eb_list_api_destinations);
ACTION(eb_update_api_destination);
ACTION(eb_delete_api_destination);
#undef ACTION

static const struct {
    const char *name;
    int (*fn)(eb_svc_t *svc, json_t *in, json_t **out, sy_err_t *err);
} ACTIONS[] = {
    {"CreateEventBus", eb_create_event_bus},
    {"DeleteEventBus", eb_delete_event_bus},
    {"DescribeEventBus", eb_describe_event_bus},
    {"ListEventBuses", eb_list_event_buses},
    {"PutPermission", eb_put_permission},
    {"RemovePermission", eb_remove_permission},
    {"TagResource", eb_tag_resource},
    {"UntagResource", eb_untag_resource},
    {"ListTagsForResource", eb_list_tags_for_resource},
    {"PutRule", eb_put_rule},
    {"DescribeRule", eb_describe_rule},
    {"ListRules", eb_list_rules},
    {"DeleteRule", eb_delete_rule},
    {"EnableRule", eb_enable_rule},
    {"DisableRule", eb_disable_rule},
    {"PutTargets", eb_put_targets},
    {"RemoveTargets", eb_remove_targets},
    {"ListTargetsByRule", eb_list_targets_by_rule},
    {"ListRuleNamesByTarget", eb_list_rule_names_by_target},
    {"TestEventPattern", eb_test_event_pattern},
    {"PutEvents", eb_put_events},
    {"CreateArchive", eb_create_archive},
    {"DescribeArchive", eb_describe_archive},
    {"ListArchives", eb_list_archives},
    {"UpdateArchive", eb_update_archive},
    {"DeleteArchive", eb_delete_archive},
    {"StartReplay", eb_start_replay},
    {"DescribeReplay", eb_describe_replay},
    {"ListReplays", eb_list_replays},
    {"CancelReplay", eb_cancel_replay},
    {"CreateConnection", eb_create_connection},
    {"DescribeConnection", eb_describe_connection},
    {"ListConnections", eb_list_connections},
    {"UpdateConnection", eb_update_connection},
    {"DeleteConnection", eb_delete_connection},
    {"CreateApiDestination", eb_create_api_destination},
    {"DescribeApiDestination", eb_describe_api_destination},
    {"ListApiDestinations", eb_list_api_destinations},
    {"UpdateApiDestination", eb_update_api_destination},
    {"DeleteApiDestination", eb_delete_api_destination},
};

void eb_api_handle(sy_req_t *req, sy_resp_t *resp, void *udata)
{
    eb_svc_t *svc = udata;
    sy_err_t err;
    sy_err_clear(&err);
    json_t *in = json_is_object(req->json) ? json_incref(req->json) : json_object();
    json_t *out = NULL;
    const char *action = req->action ? req->action : "";
    size_t i = 0;
    while (i < sizeof ACTIONS / sizeof *ACTIONS && strcmp(action, ACTIONS[i].name)) i++;
    int rc = i < sizeof ACTIONS / sizeof *ACTIONS
                 ? (svc->ctx->authz && eb_authorize(req, in, &err) < 0 ? SY_E_INVALID : ACTIONS[i].fn(svc, in, &out, &err))
                 : sy_err_set(&err, SY_E_INVALID, 400, "UnknownOperationException", "Unknown operation %s", action);
    if (rc < 0) {
        if (!err.code[0]) sy_err_set(&err, rc, 500, "InternalException", "internal error");
        if (err.sqlstate[0]) sy_err_set(&err, rc, 500, "InternalException", "%s", "database error");
        sy_metric_inc("switchyard_events_errors_total", NULL, 1);
        sy_resp_error(resp, req, &err, NULL);
    } else {
        json_t *o = out ? json_incref(out) : json_object();
        sy_resp_json(resp, req, o);
        json_decref(o);
    }
    json_decref(out);
    json_decref(in);
}
