/* statemachine/internal_api.h - shared by api.c, the api_*.c files and
 * service.c only. */
#ifndef SY_STATEMACHINE_INTERNAL_API_H
#define SY_STATEMACHINE_INTERNAL_API_H
#include "statemachine/internal.h"

typedef int (*sfn_action_fn)(sfn_svc_t *svc, json_t *in, json_t **out, sy_err_t *err);
const char *sfn_req_str(json_t *in, const char *key, sy_err_t *err);
bool sfn_name_ok(const char *n);
int sfn_arn_check(const char *arn, const char *kind, sy_err_t *err);
int sfn_check_definition(const char *def, const char *type, sy_err_t *err);
/* The machine named by arn: InvalidArn, StateMachineDoesNotExist (api_machines.c). */
int sfn_machine_load(sfn_svc_t *svc, const char *arn, sfn_machine_t *m, sy_err_t *err);
json_t *sfn_machine_json(const sfn_machine_t *m);
/* The router (api.c): the handler of the AWSStepFunctions. route. */
void sfn_api_handle(sy_req_t *req, sy_resp_t *resp, void *udata);

int sfn_api_create_machine(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_describe_machine(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_update_machine(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_delete_machine(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_list_machines(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_validate_machine(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_tag_resource(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_untag_resource(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_list_tags(sfn_svc_t *, json_t *, json_t **, sy_err_t *);

int sfn_api_start_execution(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_start_sync(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_describe_execution(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_list_executions(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_history(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_stop_execution(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_redrive(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_describe_sm_for_execution(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_task_success(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_task_failure(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_task_heartbeat(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_describe_map_run(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_list_map_runs(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
int sfn_api_test_state(sfn_svc_t *, json_t *, json_t **, sy_err_t *);
#endif
