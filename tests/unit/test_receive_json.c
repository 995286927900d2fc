/* tests/unit/test_receive_json.c - ReceiveMessage's JSON 1.0 response is
 * written straight into the body (queue/api_messages.c resp_message,
 * core/util.c sy_buf_json_str); it must be byte for byte what json_dumps
 * writes of the json_t the query protocol's XML is made from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"
#include "queue/internal.h"

#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* n code points of valid UTF-8, weighted to what needs escaping */
static size_t random_utf8(char *out, int points)
{
    size_t len = 0;
    for (int i = 0; i < points; i++) {
        uint32_t cp;
        switch (rnd() % 6) {
        case 0: cp = rnd() % 0x20; break;                     /* control, NUL included */
        case 1: cp = "\"\\/'<>&\x7f"[rnd() % 8]; break;       /* specials */
        case 2: cp = 0x20 + rnd() % 0x5f; break;              /* printable ASCII */
        case 3: cp = 0x80 + rnd() % 0x780; break;             /* two bytes */
        case 4: cp = 0x800 + rnd() % (0xd800 - 0x800); break; /* three bytes, below the surrogates */
        default: cp = 0x10000 + rnd() % 0x100000; break;      /* four bytes */
        }
        if (cp < 0x80) {
            out[len++] = (char)cp;
        } else if (cp < 0x800) {
            out[len++] = (char)(0xc0 | cp >> 6);
            out[len++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[len++] = (char)(0xe0 | cp >> 12);
            out[len++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[len++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[len++] = (char)(0xf0 | cp >> 18);
            out[len++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[len++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[len++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    out[len] = 0;
    return len;
}

static void test_json_str_matches_jansson(void **state)
{
    (void)state;
    char s[4 * 64 + 1];
    for (int round = 0; round < 20000; round++) {
        size_t n = random_utf8(s, (int)(rnd() % 64));
        json_t *j = json_stringn(s, n);
        assert_non_null(j);
        char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        sy_buf_t b;
        sy_buf_init(&b);
        sy_buf_json_str(&b, s, n);
        char *got = sy_buf_take(&b);
        assert_string_equal(got, want);
        free(got);
        free(want);
        json_decref(j);
        sy_buf_free(&b);
    }
}

/* one message both ways */
static void both_ways(const leased_t *l, const sy_queue_t *q, json_t *sys_names, json_t *attr_names)
{
    resp_msg_t t = {.obj = json_object()};
    resp_message(&t, l, q, sys_names, attr_names);
    char *want = json_dumps(t.obj, JSON_COMPACT);
    json_decref(t.obj);
    sy_buf_t b;
    sy_buf_init(&b);
    resp_msg_t d = {.b = &b};
    resp_message(&d, l, q, sys_names, attr_names);
    char *got = sy_buf_take(&b);
    assert_string_equal(got, want);
    free(got);
    free(want);
    sy_buf_free(&b);
}

static void test_message_matches_tree(void **state)
{
    (void)state;
    const char *sys_lists[] = {NULL, "[]", "[\"All\"]", "[\"SentTimestamp\"]",
                               "[\"ApproximateReceiveCount\",\"MessageGroupId\",\"AWSTraceHeader\"]",
                               "[\"SequenceNumber\",\"SenderId\"]"};
    const char *attr_lists[] = {NULL, "[\"All\"]", "[\".*\"]", "[\"a.*\"]", "[\"b\",\"nope\"]"};
    const char *attr_sets[] = {
        NULL,
        "{\"a1\":{\"DataType\":\"String\",\"StringValue\":\"x\\\"y\\n\"},"
        "\"b\":{\"DataType\":\"Number\",\"StringValue\":\"12\"}}",
        "{\"bin\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAEC\"}}"};
    char body[4 * 40 + 1], group[4 * 8 + 1];
    for (int fifo = 0; fifo < 2; fifo++)
        for (size_t si = 0; si < sizeof sys_lists / sizeof *sys_lists; si++)
            for (size_t ai = 0; ai < sizeof attr_lists / sizeof *attr_lists; ai++)
                for (size_t vi = 0; vi < sizeof attr_sets / sizeof *attr_sets; vi++)
                    for (int trace = 0; trace < 2; trace++) {
                        sy_queue_t q = {.id = 42, .fifo = fifo};
                        random_utf8(body, 40);
                        random_utf8(group, 8);
                        leased_t l = {.id = 12345 + (int64_t)si,
                                      .receipt = "0b5e2f1c-4c47-4a7e-9a55-0d0c0c3b8a11",
                                      .body = body,
                                      .md5_body = "d41d8cd98f00b204e9800998ecf8427e",
                                      .receive_count = (int)ai + 1,
                                      .sent_ms = 1765000000000 + (int64_t)vi,
                                      .first_ms = 1765000000500,
                                      .group_id = fifo ? group : NULL,
                                      .dedup_id = fifo ? "dedup\t1" : NULL,
                                      .sender_id = trace ? "AIDAEXAMPLE" : NULL};
                        snprintf(l.uuid, sizeof l.uuid, "8f1d2c1e-0000-4000-8000-%012d", (int)vi);
                        l.attrs = attr_sets[vi] ? json_loads(attr_sets[vi], 0, NULL) : NULL;
                        l.sys_attrs = trace ? json_loads("{\"AWSTraceHeader\":{\"DataType\":\"String\","
                                                         "\"StringValue\":\"Root=1-5759e988-bd862e3fe\"}}",
                                                         0, NULL)
                                            : NULL;
                        json_t *sn = sys_lists[si] ? json_loads(sys_lists[si], 0, NULL) : json_array();
                        json_t *an = attr_lists[ai] ? json_loads(attr_lists[ai], 0, NULL) : NULL;
                        both_ways(&l, &q, sn, an);
                        json_decref(sn);
                        json_decref(an);
                        json_decref(l.attrs);
                        json_decref(l.sys_attrs);
                    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_str_matches_jansson),
        cmocka_unit_test(test_message_matches_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
