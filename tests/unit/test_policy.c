/* tests/unit/test_policy.c - AWS's policy language (core/policy.c) and the
 * access decision (core/authz.c): each case is an example of IAM's documented
 * evaluation logic, with the opposite request beside it so that a matcher
 * that always says yes (or no) fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static json_t *doc(const char *text)
{
    json_error_t je;
    json_t *d = json_loads(text, 0, &je);
    if (!d) fail_msg("bad test JSON: %s: %s", je.text, text);
    return d;
}

static sy_policy_effect_t eval(const char *policy, bool resource, const char *action, const char *res,
                               const char *ctx_json)
{
    json_t *d = doc(policy), *ctx = doc(ctx_json ? ctx_json : "{}");
    char *why = NULL;
    if (sy_policy_validate(d, resource, &why) != 0) fail_msg("policy should be valid: %s (%s)", why, policy);
    sy_policy_req_t r = {.action = action, .resource = res, .principal_arn = "arn:aws:iam::111111111111:user/alice",
                         .principal_account = "111111111111", .context = ctx};
    sy_policy_effect_t e = sy_policy_eval(d, resource, &r);
    json_decref(d);
    json_decref(ctx);
    return e;
}

#define ALLOW SY_POLICY_ALLOW
#define DENY SY_POLICY_DENY
#define NONE SY_POLICY_NONE

static void test_actions_and_resources(void **state)
{
    (void)state;
    const char *p = "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"SQS:Send*\","
                    "\"Resource\":\"arn:aws:sqs:us-east-1:111111111111:orders-?\"}}";
    assert_int_equal(eval(p, false, "sqs:SendMessage", "arn:aws:sqs:us-east-1:111111111111:orders-1", NULL), ALLOW);
    assert_int_equal(eval(p, false, "sqs:SendMessageBatch", "arn:aws:sqs:us-east-1:111111111111:orders-2", NULL), ALLOW);
    assert_int_equal(eval(p, false, "sqs:ReceiveMessage", "arn:aws:sqs:us-east-1:111111111111:orders-1", NULL), NONE);
    /* '?' is one character; resources compare case-sensitively */
    assert_int_equal(eval(p, false, "sqs:SendMessage", "arn:aws:sqs:us-east-1:111111111111:orders-10", NULL), NONE);
    assert_int_equal(eval(p, false, "sqs:SendMessage", "arn:aws:sqs:us-east-1:111111111111:ORDERS-1", NULL), NONE);
    const char *all = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}";
    assert_int_equal(eval(all, false, "states:StartExecution", "arn:aws:states:us-east-1:1:stateMachine:x", NULL), ALLOW);
}

static void test_deny_wins_and_not_forms(void **state)
{
    (void)state;
    const char *p = "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sqs:*\",\"Resource\":\"*\"},"
                    "{\"Effect\":\"Deny\",\"Action\":\"sqs:DeleteQueue\",\"Resource\":\"*\"}]}";
    assert_int_equal(eval(p, false, "sqs:DeleteQueue", "arn:aws:sqs:r:1:q", NULL), DENY);
    assert_int_equal(eval(p, false, "sqs:CreateQueue", "arn:aws:sqs:r:1:q", NULL), ALLOW);
    const char *na = "{\"Statement\":{\"Effect\":\"Allow\",\"NotAction\":[\"sns:Delete*\",\"sns:RemovePermission\"],"
                     "\"NotResource\":\"arn:aws:sns:*:*:secret-*\"}}";
    assert_int_equal(eval(na, false, "sns:Publish", "arn:aws:sns:r:1:orders", NULL), ALLOW);
    assert_int_equal(eval(na, false, "sns:DeleteTopic", "arn:aws:sns:r:1:orders", NULL), NONE);
    assert_int_equal(eval(na, false, "sns:Publish", "arn:aws:sns:r:1:secret-keys", NULL), NONE);
}

static void test_conditions(void **state)
{
    (void)state;
    const char *tls = "{\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\","
                      "\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}}";
    assert_int_equal(eval(tls, false, "sqs:SendMessage", "*", "{\"aws:securetransport\":\"false\"}"), DENY);
    assert_int_equal(eval(tls, false, "sqs:SendMessage", "*", "{\"aws:securetransport\":\"true\"}"), NONE);
    const char *ip = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                     "\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"127.0.0.1/32\"]}}}}";
    assert_int_equal(eval(ip, false, "sqs:SendMessage", "*", "{\"aws:sourceip\":\"10.2.3.4\"}"), ALLOW);
    assert_int_equal(eval(ip, false, "sqs:SendMessage", "*", "{\"aws:sourceip\":\"127.0.0.1\"}"), ALLOW);
    assert_int_equal(eval(ip, false, "sqs:SendMessage", "*", "{\"aws:sourceip\":\"127.0.0.2\"}"), NONE);
    assert_int_equal(eval(ip, false, "sqs:SendMessage", "*", "{}"), NONE); /* absent key: no match */
    const char *src = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sqs:SendMessage\",\"Resource\":\"*\","
                      "\"Condition\":{\"ArnLike\":{\"aws:SourceArn\":\"arn:aws:sns:*:111111111111:orders*\"}}}}";
    assert_int_equal(eval(src, false, "sqs:SendMessage", "*", "{\"aws:sourcearn\":\"arn:aws:sns:r:111111111111:orders-eu\"}"), ALLOW);
    assert_int_equal(eval(src, false, "sqs:SendMessage", "*", "{\"aws:sourcearn\":\"arn:aws:sns:r:222222222222:orders\"}"), NONE);
    /* several keys in one operator, several operators: all must hold */
    const char *both = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{"
                       "\"StringEquals\":{\"aws:RequestedRegion\":\"eu-west-1\",\"aws:PrincipalAccount\":\"111111111111\"},"
                       "\"NumericLessThan\":{\"aws:EpochTime\":\"2000000000\"}}}}";
    assert_int_equal(eval(both, false, "x:Y", "*", "{\"aws:requestedregion\":\"eu-west-1\",\"aws:principalaccount\":\"111111111111\",\"aws:epochtime\":\"1900000000\"}"), ALLOW);
    assert_int_equal(eval(both, false, "x:Y", "*", "{\"aws:requestedregion\":\"eu-west-1\",\"aws:principalaccount\":\"111111111111\",\"aws:epochtime\":\"2100000000\"}"), NONE);
    assert_int_equal(eval(both, false, "x:Y", "*", "{\"aws:requestedregion\":\"us-east-1\",\"aws:principalaccount\":\"111111111111\",\"aws:epochtime\":\"1900000000\"}"), NONE);
    /* negated operators match when the key is absent; IfExists too */
    const char *ne = "{\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"*\",\"Resource\":\"*\","
                     "\"Condition\":{\"StringNotEquals\":{\"aws:RequestedRegion\":[\"us-east-1\",\"eu-west-1\"]}}}}";
    assert_int_equal(eval(ne, false, "x:Y", "*", "{\"aws:requestedregion\":\"ap-south-1\"}"), DENY);
    assert_int_equal(eval(ne, false, "x:Y", "*", "{\"aws:requestedregion\":\"eu-west-1\"}"), NONE);
    assert_int_equal(eval(ne, false, "x:Y", "*", "{}"), DENY);
    const char *ife = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                      "\"Condition\":{\"StringEqualsIfExists\":{\"aws:SourceArn\":\"arn:aws:sns:r:1:t\"}}}}";
    assert_int_equal(eval(ife, false, "x:Y", "*", "{}"), ALLOW);
    assert_int_equal(eval(ife, false, "x:Y", "*", "{\"aws:sourcearn\":\"arn:aws:sns:r:1:other\"}"), NONE);
    const char *nul = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                      "\"Condition\":{\"Null\":{\"aws:SourceArn\":\"true\"}}}}";
    assert_int_equal(eval(nul, false, "x:Y", "*", "{}"), ALLOW);
    assert_int_equal(eval(nul, false, "x:Y", "*", "{\"aws:sourcearn\":\"a\"}"), NONE);
    const char *date = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                       "\"Condition\":{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2026-01-01T00:00:00Z\"}}}}";
    assert_int_equal(eval(date, false, "x:Y", "*", "{\"aws:currenttime\":\"2026-12-07T01:00:00.000Z\"}"), ALLOW);
    assert_int_equal(eval(date, false, "x:Y", "*", "{\"aws:currenttime\":\"2025-12-31T23:59:59Z\"}"), NONE);
    /* multivalued keys */
    const char *fa = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                     "\"Condition\":{\"ForAllValues:StringLike\":{\"aws:TagKeys\":[\"team\",\"env-*\"]}}}}";
    assert_int_equal(eval(fa, false, "x:Y", "*", "{\"aws:tagkeys\":[\"team\",\"env-prod\"]}"), ALLOW);
    assert_int_equal(eval(fa, false, "x:Y", "*", "{\"aws:tagkeys\":[\"team\",\"owner\"]}"), NONE);
    const char *fany = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\","
                       "\"Condition\":{\"ForAnyValue:StringEquals\":{\"aws:TagKeys\":\"owner\"}}}}";
    assert_int_equal(eval(fany, false, "x:Y", "*", "{\"aws:tagkeys\":[\"team\",\"owner\"]}"), ALLOW);
    assert_int_equal(eval(fany, false, "x:Y", "*", "{\"aws:tagkeys\":[\"team\"]}"), NONE);
    /* policy variables */
    const char *var = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"sqs:*\","
                      "\"Resource\":\"arn:aws:sqs:*:*:${aws:username}-*\"}}";
    assert_int_equal(eval(var, false, "sqs:SendMessage", "arn:aws:sqs:r:1:alice-jobs", "{\"aws:username\":\"alice\"}"), ALLOW);
    assert_int_equal(eval(var, false, "sqs:SendMessage", "arn:aws:sqs:r:1:bob-jobs", "{\"aws:username\":\"alice\"}"), NONE);
    assert_int_equal(eval(var, false, "sqs:SendMessage", "arn:aws:sqs:r:1:alice-jobs", "{}"), NONE);
}

static void test_principals(void **state)
{
    (void)state;
    const char *p = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"111111111111\"},"
                    "\"Action\":\"sqs:SendMessage\",\"Resource\":\"*\"}}";
    assert_int_equal(eval(p, true, "sqs:SendMessage", "arn:aws:sqs:r:222222222222:q", NULL), ALLOW);
    const char *other = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"arn:aws:iam::333333333333:root\","
                        "\"arn:aws:iam::111111111111:user/bob\"]},\"Action\":\"sqs:SendMessage\",\"Resource\":\"*\"}}";
    assert_int_equal(eval(other, true, "sqs:SendMessage", "*", NULL), NONE);
    const char *user = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111111111111:user/alice\"},"
                       "\"Action\":\"sqs:*\",\"Resource\":\"*\"}}";
    assert_int_equal(eval(user, true, "sqs:SendMessage", "*", NULL), ALLOW);
    const char *svc = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Service\":\"sns.amazonaws.com\"},"
                      "\"Action\":\"sqs:SendMessage\",\"Resource\":\"*\"}}";
    assert_int_equal(eval(svc, true, "sqs:SendMessage", "*", NULL), NONE); /* alice is not the service */
    const char *np = "{\"Statement\":{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":\"arn:aws:iam::111111111111:user/alice\"},"
                     "\"Action\":\"*\",\"Resource\":\"*\"}}";
    assert_int_equal(eval(np, true, "sqs:SendMessage", "*", NULL), NONE);
}

static void expect_invalid(const char *policy, bool resource, const char *fragment)
{
    json_t *d = doc(policy);
    char *why = NULL;
    assert_int_equal(sy_policy_validate(d, resource, &why), -1);
    assert_non_null(why);
    if (!strstr(why, fragment)) fail_msg("'%s' should mention '%s'", why, fragment);
    free(why);
    json_decref(d);
}

static void test_validation(void **state)
{
    (void)state;
    expect_invalid("[]", false, "JSON object");
    expect_invalid("{\"Statement\":[]}", false, "at least one Statement");
    json_t *empty = doc("{\"Version\":\"2012-10-17\",\"Statement\":[]}"); /* SQS keeps it: allows nothing */
    assert_int_equal(sy_policy_validate(empty, true, NULL), 0);
    sy_policy_req_t any = {.action = "sqs:SendMessage", .resource = "*", .principal_arn = "arn:aws:iam::1:root",
                           .principal_account = "1", .context = NULL};
    assert_int_equal(sy_policy_eval(empty, true, &any), SY_POLICY_NONE);
    json_decref(empty);
    expect_invalid("{\"Version\":\"2020-01-01\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}",
                   false, "version");
    expect_invalid("{\"Statement\":{\"Effect\":\"Maybe\",\"Action\":\"*\",\"Resource\":\"*\"}}", false, "Effect");
    expect_invalid("{\"Statement\":{\"Effect\":\"Allow\",\"Resource\":\"*\"}}", false, "Action");
    expect_invalid("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\"}}", false, "resources");
    expect_invalid("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}}", false,
                   "principal");
    expect_invalid("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}", true, "Principal");
    expect_invalid("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":"
                   "{\"StringSortOf\":{\"a\":\"b\"}}}}",
                   false, "StringSortOf");
    expect_invalid("{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Colour\":\"red\"}}", false,
                   "Colour");
}

static char *write_file(const char *text)
{
    char *path = sy_strdup("/tmp/sy-policy-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static const char *decision(sy_authz_t *a, const char *key, const char *action, const char *res, const char *rp)
{
    static char out[32];
    json_t *rpd = rp ? doc(rp) : NULL;
    json_t *d = sy_authz_decide(a, key, action, res, rpd, NULL);
    snprintf(out, sizeof out, "%s", sy_json_str(d, "decision"));
    json_decref(d);
    json_decref(rpd);
    return out;
}

static void test_decisions(void **state)
{
    (void)state;
    char *path = write_file(
        "{\"Identities\":["
        "{\"AccessKeyId\":\"AKALICE\",\"Arn\":\"arn:aws:iam::000000000000:user/alice\",\"Policies\":[{\"Statement\":"
        "{\"Effect\":\"Allow\",\"Action\":\"sqs:SendMessage\",\"Resource\":\"*\"}}]},"
        "{\"AccessKeyId\":\"AKBOB\",\"Arn\":\"arn:aws:iam::000000000000:user/bob\"},"
        "{\"AccessKeyId\":\"AKEVE\",\"Arn\":\"arn:aws:iam::999999999999:user/eve\",\"Policies\":[{\"Statement\":"
        "{\"Effect\":\"Allow\",\"Action\":\"sqs:*\",\"Resource\":\"*\"}}]},"
        "{\"AccessKeyId\":\"AKROOT\",\"Arn\":\"arn:aws:iam::000000000000:root\"}]}");
    sy_err_t err;
    sy_authz_t *a = sy_authz_load(path, "000000000000", &err);
    assert_non_null(a);
    const char *q = "arn:aws:sqs:us-east-1:000000000000:orders";
    const char *bob_may_receive = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
                                  "\"arn:aws:iam::000000000000:user/bob\"},\"Action\":\"sqs:ReceiveMessage\",\"Resource\":\"*\"}}";
    const char *eve_account = "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"999999999999\"},"
                              "\"Action\":\"sqs:SendMessage\",\"Resource\":\"*\"}}";
    const char *deny_alice = "{\"Statement\":{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":"
                             "\"arn:aws:iam::000000000000:user/alice\"},\"Action\":\"sqs:*\",\"Resource\":\"*\"}}";
    /* same account: identity policy or resource policy */
    assert_string_equal(decision(a, "AKALICE", "sqs:SendMessage", q, NULL), "allowed");
    assert_string_equal(decision(a, "AKALICE", "sqs:DeleteQueue", q, NULL), "implicitDeny");
    assert_string_equal(decision(a, "AKBOB", "sqs:ReceiveMessage", q, NULL), "implicitDeny");
    assert_string_equal(decision(a, "AKBOB", "sqs:ReceiveMessage", q, bob_may_receive), "allowed");
    assert_string_equal(decision(a, "AKBOB", "sqs:DeleteMessage", q, bob_may_receive), "implicitDeny");
    /* an explicit deny in the resource policy beats the identity's allow */
    assert_string_equal(decision(a, "AKALICE", "sqs:SendMessage", q, deny_alice), "explicitDeny");
    /* another account: both sides must allow */
    assert_string_equal(decision(a, "AKEVE", "sqs:SendMessage", q, NULL), "implicitDeny");
    assert_string_equal(decision(a, "AKEVE", "sqs:SendMessage", q, eve_account), "allowed");
    assert_string_equal(decision(a, "AKEVE", "sqs:PurgeQueue", q, eve_account), "implicitDeny");
    /* the account root, and keys the file does not list, may do everything in the account */
    assert_string_equal(decision(a, "AKROOT", "sqs:DeleteQueue", q, NULL), "allowed");
    assert_string_equal(decision(a, "AKUNLISTED", "sqs:DeleteQueue", q, NULL), "allowed");
    assert_string_equal(decision(a, "AKROOT", "sqs:DeleteQueue", "arn:aws:sqs:r:999999999999:x", NULL), "implicitDeny");
    sy_authz_destroy(&a);
    unlink(path);
    free(path);

    /* a bad file is refused at load, naming what is wrong */
    path = write_file("{\"Identities\":[{\"AccessKeyId\":\"AK\",\"Arn\":\"arn:aws:iam::1:user/x\",\"Policies\":"
                      "[{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\"}}]}]}");
    assert_null(sy_authz_load(path, "000000000000", &err));
    assert_non_null(strstr(err.message, "resources"));
    unlink(path);
    free(path);
    path = write_file("{\"Identities\":[{\"AccessKeyId\":\"AK\",\"Arn\":\"not-an-arn\"}]}");
    assert_null(sy_authz_load(path, "000000000000", &err));
    assert_non_null(strstr(err.message, "IAM principal ARN"));
    unlink(path);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_actions_and_resources), cmocka_unit_test(test_deny_wins_and_not_forms),
        cmocka_unit_test(test_conditions),            cmocka_unit_test(test_principals),
        cmocka_unit_test(test_validation),            cmocka_unit_test(test_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
