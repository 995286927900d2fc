/* `switchyard policy`: access policies for operators, without a broker.
 *   switchyard policy simulate --policies FILE --principal AKID|ARN
 *          --action sqs:SendMessage --resource ARN [--resource-policy FILE]
 *          [--context key=value]...     prints the decision; exit 0 allowed, 1 denied
 *   switchyard policy validate [--resource] FILE     exit 0 valid, 1 not */
#include "core/core.h"
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: switchyard policy simulate --policies FILE --principal AKID|ARN --action ACTION\n"
                    "                                  --resource ARN [--resource-policy FILE] [--context key=value]...\n"
                    "       switchyard policy validate [--resource] FILE\n");
    return 2;
}

static int validate(int argc, char **argv)
{
    bool resource = false;
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--resource")) resource = true;
        else if (!file) file = argv[i];
        else return usage();
    }
    if (!file) return usage();
    json_error_t je;
    json_t *doc = json_load_file(file, 0, &je);
    if (!doc) {
        fprintf(stderr, "%s: not valid JSON: %s (line %d)\n", file, je.text, je.line);
        return 1;
    }
    char *why = NULL;
    int rc = sy_policy_validate(doc, resource, &why) == 0 ? 0 : 1;
    if (rc) fprintf(stderr, "%s: %s\n", file, why);
    else printf("%s: valid %s policy\n", file, resource ? "resource" : "identity");
    free(why);
    json_decref(doc);
    return rc;
}

static int simulate(int argc, char **argv)
{
    const char *policies = NULL, *principal = NULL, *action = NULL, *resource = NULL, *rpfile = NULL;
    const char *account = "000000000000";
    json_t *context = json_object();
    int rc = 2;
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto out_usage;
        if (!strcmp(argv[i], "--policies")) policies = v;
        else if (!strcmp(argv[i], "--principal")) principal = v;
        else if (!strcmp(argv[i], "--action")) action = v;
        else if (!strcmp(argv[i], "--resource")) resource = v;
        else if (!strcmp(argv[i], "--resource-policy")) rpfile = v;
        else if (!strcmp(argv[i], "--account-id")) account = v;
        else if (!strcmp(argv[i], "--context")) {
            const char *eq = strchr(v, '=');
            if (!eq) goto out_usage;
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(eq - v), v);
            for (char *q = key; *q; q++) *q = (char)(*q >= 'A' && *q <= 'Z' ? *q + 32 : *q);
            json_object_set_new(context, key, json_string(eq + 1));
        } else goto out_usage;
        i++;
    }
    if (!policies || !principal || !action || !resource) goto out_usage;
    sy_err_t err;
    sy_authz_t *a = sy_authz_load(policies, account, &err);
    if (!a) {
        fprintf(stderr, "%s\n", err.message);
        rc = 1;
        goto out;
    }
    json_t *rp = NULL;
    if (rpfile) {
        json_error_t je;
        char *why = NULL;
        rp = json_load_file(rpfile, 0, &je);
        if (!rp || sy_policy_validate(rp, true, &why) < 0) {
            fprintf(stderr, "%s: %s\n", rpfile, rp ? why : je.text);
            free(why);
            json_decref(rp);
            sy_authz_destroy(&a);
            rc = 1;
            goto out;
        }
    }
    json_t *d = sy_authz_decide(a, principal, action, resource, rp, context);
    char *text = json_dumps(d, JSON_INDENT(2) | JSON_SORT_KEYS);
    printf("%s\n", text);
    free(text);
    rc = strcmp(sy_json_str(d, "decision"), "allowed") ? 1 : 0;
    json_decref(d);
    json_decref(rp);
    sy_authz_destroy(&a);
    goto out;
out_usage:
    rc = usage();
out:
    json_decref(context);
    return rc;
}

int sy_policy_main(int argc, char **argv)
{
    if (argc < 1) return usage();
    if (!strcmp(argv[0], "simulate")) return simulate(argc - 1, argv + 1);
    if (!strcmp(argv[0], "validate")) return validate(argc - 1, argv + 1);
    return usage();
}
