/* Access decisions: identities (an access key, its principal ARN and its
 * identity policies) loaded from the `--policies` file, combined with a
 * resource's own policy by IAM's evaluation logic:
 *   - an explicit Deny in any applicable policy refuses;
 *   - same account: an Allow in the identity's policies OR in the resource
 *     policy (naming the principal) allows;
 *   - another account: both must allow;
 *   - otherwise refused (implicit deny).
 * An account root ("arn:aws:iam::ACCOUNT:root") is allowed everything in its
 * own account, as on AWS. Keys of the credentials file that the policies file
 * does not list act as the broker account's root (what they were before
 * policies existed). */
#include "core.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *akid;
    char *arn;
    char *account;
    char *user; /* "alice" for ...:user/alice, "" otherwise */
    bool root;
    json_t *policies; /* array of documents */
} identity_t;

struct sy_authz {
    identity_t *ids;
    size_t n;
    char *account; /* the broker's */
};

static int fail(sy_err_t *err, const char *path, const char *what, const char *detail)
{
    sy_err_set(err, SY_E_INVALID, 500, "InvalidConfiguration", "policies file \"%s\": %s%s%s", path, what,
               detail ? ": " : "", detail ? detail : "");
    return -1;
}

static int identity_parse(identity_t *id, const json_t *e, const char *path, sy_err_t *err)
{
    const char *akid = sy_json_str(e, "AccessKeyId"), *arn = sy_json_str(e, "Arn");
    if (!akid || !arn) return fail(err, path, "each identity needs AccessKeyId and Arn", NULL);
    char *buf = sy_strdup(arn);
    sy_arn_parts_t p;
    if (sy_arn_parse(buf, &p) < 0 || strcmp(p.service, "iam") || !*p.account) {
        free(buf);
        return fail(err, path, "Arn is not an IAM principal ARN", arn);
    }
    id->akid = sy_strdup(akid);
    id->arn = sy_strdup(arn);
    id->account = sy_strdup(p.account);
    id->root = !strcmp(p.resource, "root");
    const char *slash = strrchr(p.resource, '/');
    id->user = sy_strdup(!strncmp(p.resource, "user/", 5) && slash ? slash + 1 : "");
    free(buf);
    const json_t *pol = json_object_get(e, "Policies");
    if (pol && !json_is_array(pol)) return fail(err, path, "Policies must be a list of policy documents", akid);
    id->policies = pol ? json_incref((json_t *)pol) : json_array();
    size_t i;
    const json_t *doc;
    json_array_foreach(id->policies, i, doc) {
        char *why = NULL;
        if (sy_policy_validate(doc, false, &why) < 0) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s, policy %zu: %s", akid, i + 1, why);
            free(why);
            return fail(err, path, "invalid identity policy", detail);
        }
    }
    return 0;
}

sy_authz_t *sy_authz_load(const char *path, const char *account_id, sy_err_t *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        char detail[256];
        snprintf(detail, sizeof detail, "%s (line %d)", je.text, je.line);
        fail(err, path, "not valid JSON", detail);
        return NULL;
    }
    sy_authz_t *a = sy_calloc(1, sizeof *a);
    a->account = sy_strdup(account_id ? account_id : "000000000000");
    const json_t *ids = json_object_get(root, "Identities");
    if (!json_is_array(ids)) {
        fail(err, path, "expected {\"Identities\": [...]}", NULL);
        goto bad;
    }
    a->ids = sy_calloc(json_array_size(ids) + 1, sizeof *a->ids);
    size_t i;
    const json_t *e;
    json_array_foreach(ids, i, e) {
        if (identity_parse(&a->ids[a->n], e, path, err) < 0) {
            a->n++;
            goto bad;
        }
        a->n++;
        for (size_t j = 0; j + 1 < a->n; j++)
            if (!strcmp(a->ids[j].akid, a->ids[a->n - 1].akid)) {
                fail(err, path, "duplicate AccessKeyId", a->ids[j].akid);
                goto bad;
            }
    }
    json_decref(root);
    return a;
bad:
    json_decref(root);
    sy_authz_destroy(&a);
    return NULL;
}

void sy_authz_destroy(sy_authz_t **self_p)
{
    if (!self_p || !*self_p) return;
    sy_authz_t *a = *self_p;
    for (size_t i = 0; i < a->n; i++) {
        free(a->ids[i].akid);
        free(a->ids[i].arn);
        free(a->ids[i].account);
        free(a->ids[i].user);
        json_decref(a->ids[i].policies);
    }
    free(a->ids);
    free(a->account);
    free(a);
    *self_p = NULL;
}

static const identity_t *find(const sy_authz_t *a, const char *key)
{
    for (size_t i = 0; i < a->n; i++)
        if (!strcmp(a->ids[i].akid, key) || !strcmp(a->ids[i].arn, key)) return &a->ids[i];
    return NULL;
}

/* The service's way of saying no. */
static void denied(sy_err_t *err, const char *action, const char *who, const char *resource, const char *because)
{
    const char *code = "AccessDeniedException";
    int status = 400;
    if (!strncasecmp(action, "sqs:", 4)) code = "AccessDenied", status = 403;
    else if (!strncasecmp(action, "sns:", 4)) code = "AuthorizationError", status = 403;
    else if (!strncasecmp(action, "lambda:", 7)) status = 403;
    sy_err_set(err, SY_E_INVALID, status, code, "User: %s is not authorized to perform: %s on resource: %s %s", who,
               action, resource, because);
    if (!strncasecmp(action, "sqs:", 4)) snprintf(err->query_code, sizeof err->query_code, "AccessDenied");
}

json_t *sy_authz_decide(const sy_authz_t *a, const char *key, const char *action, const char *resource,
                        const json_t *resource_policy, json_t *context)
{
    identity_t broker_root = {.akid = (char *)key, .account = a->account, .root = true, .user = ""};
    char root_arn[96];
    snprintf(root_arn, sizeof root_arn, "arn:aws:iam::%s:root", a->account);
    broker_root.arn = root_arn;
    const identity_t *id = find(a, key);
    if (!id) id = &broker_root;

    json_t *ctx = context ? json_incref(context) : json_object();
    json_object_set_new(ctx, "aws:principalarn", json_string(id->arn));
    json_object_set_new(ctx, "aws:principalaccount", json_string(id->account));
    json_object_set_new(ctx, "aws:principaltype", json_string(id->root ? "Account" : "User"));
    json_object_set_new(ctx, "aws:userid", json_string(id->akid));
    if (*id->user) json_object_set_new(ctx, "aws:username", json_string(id->user));
    if (!json_object_get(ctx, "aws:securetransport")) json_object_set_new(ctx, "aws:securetransport", json_string("false"));
    if (!json_object_get(ctx, "aws:currenttime")) {
        char now[32];
        int64_t ms = sy_now_ms();
        sy_iso8601_ms(ms, now);
        json_object_set_new(ctx, "aws:currenttime", json_string(now));
        json_object_set_new(ctx, "aws:epochtime", json_sprintf("%lld", (long long)(ms / 1000)));
    }

    char *rbuf = sy_strdup(resource);
    sy_arn_parts_t rp;
    const char *res_account = sy_arn_parse(rbuf, &rp) == 0 && *rp.account ? rp.account : a->account;
    bool same = !strcmp(res_account, id->account);

    sy_policy_req_t r = {.action = action, .resource = resource, .principal_arn = id->arn,
                         .principal_account = id->account, .context = ctx};
    bool id_allow = id->root && same, id_deny = false, rp_allow = false, rp_deny = false;
    size_t i;
    const json_t *doc;
    json_array_foreach(id->policies, i, doc) {
        sy_policy_effect_t e = sy_policy_eval(doc, false, &r);
        if (e == SY_POLICY_DENY) id_deny = true;
        if (e == SY_POLICY_ALLOW) id_allow = true;
    }
    if (resource_policy) {
        sy_policy_effect_t e = sy_policy_eval(resource_policy, true, &r);
        rp_deny = e == SY_POLICY_DENY;
        rp_allow = e == SY_POLICY_ALLOW;
    }
    const char *decision, *because;
    if (id_deny) decision = "explicitDeny", because = "with an explicit deny in an identity-based policy";
    else if (rp_deny) decision = "explicitDeny", because = "with an explicit deny in a resource-based policy";
    else if (same ? (id_allow || rp_allow) : (id_allow && rp_allow)) decision = "allowed", because = "";
    else if (!same && id_allow) decision = "implicitDeny", because = "because no resource-based policy allows the action";
    else decision = "implicitDeny", because = "because no identity-based policy allows the action";
    json_t *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:O}", "decision", decision, "because", because,
                            "principal", id->arn, "action", action, "resource", resource, "sameAccount", same,
                            "identityAllows", id_allow, "resourcePolicyAllows", rp_allow, "context", ctx);
    free(rbuf);
    json_decref(ctx);
    return out;
}

int sy_authz_check(const sy_req_t *req, const char *action, const char *resource, const json_t *resource_policy,
                   sy_err_t *err)
{
    const sy_authz_t *a = req && req->ctx ? req->ctx->authz : NULL;
    if (!a || !req->access_key) return 0; /* no policies, or an in-process call */
    json_t *ctx = json_object();
    if (req->conn) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        char ip[64] = "";
        if (ci && ci->client_addr) {
            const struct sockaddr *sa = ci->client_addr;
            if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof ip);
            else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, sizeof ip);
        }
        if (*ip) json_object_set_new(ctx, "aws:sourceip", json_string(ip));
        const char *auth = sy_req_header(req, "Authorization");
        char akid[128], region[64], service[64];
        if (auth && sy_sigv4_parse_scope(auth, akid, sizeof akid, region, sizeof region, service, sizeof service) == 0)
            json_object_set_new(ctx, "aws:requestedregion", json_string(region));
    }
    json_t *d = sy_authz_decide(a, req->access_key, action, resource ? resource : "*", resource_policy, ctx);
    json_decref(ctx);
    const char *decision = sy_json_str(d, "decision");
    int rc = 0;
    if (strcmp(decision, "allowed")) {
        denied(err, action, sy_json_str(d, "principal"), resource ? resource : "*", sy_json_str(d, "because"));
        sy_metric_inc("switchyard_authz_denied_total", NULL, 1);
        sy_log(SY_LOG_INFO, "authz", req->request_id, "access denied", "action", action, "resource",
               resource ? resource : "*", "principal", sy_json_str(d, "principal"), "decision", decision);
        rc = -1;
    } else {
        sy_metric_inc("switchyard_authz_allowed_total", NULL, 1);
    }
    json_decref(d);
    return rc;
}
