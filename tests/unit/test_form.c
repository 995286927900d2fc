/* tests/unit/test_form.c - the query-protocol codec: form parsing and the
 * rebuild of flattened parameters into the JSON protocol's request object */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/core.h"

#include <stdlib.h>
#include <string.h>

static void test_parse_decodes(void **state)
{
    (void)state;
    sy_form_t f;
    const char *s = "Action=SendMessage&MessageBody=hello+%3Cworld%3E+%26+%22you%22&Empty=&Flag";
    assert_int_equal(sy_form_parse(&f, s, strlen(s)), 0);
    assert_string_equal(sy_form_get(&f, "Action"), "SendMessage");
    assert_string_equal(sy_form_get(&f, "MessageBody"), "hello <world> & \"you\"");
    assert_string_equal(sy_form_get(&f, "Empty"), "");
    assert_string_equal(sy_form_get(&f, "Flag"), "");
    assert_null(sy_form_get(&f, "Missing"));
    sy_form_free(&f);
}

static void test_parse_rejects_bad_escapes(void **state)
{
    (void)state;
    const char *bad[] = {"a=%", "a=%4", "a=%zz", "%00=1", "x=1&a=%G1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sy_form_t f;
        assert_int_equal(sy_form_parse(&f, bad[i], strlen(bad[i])), -1);
    }
}

static void test_parse_keeps_nul_in_values(void **state)
{
    (void)state;
    sy_form_t f;
    const char *s = "MessageBody=a%00b";
    assert_int_equal(sy_form_parse(&f, s, strlen(s)), 0);
    assert_int_equal(f.items[0].value_len, 3);
    assert_memory_equal(f.items[0].value, "a\0b", 3);
    sy_form_free(&f);
}

static const sy_query_shape_t ENTRY_SHAPES[] = {
    {"MessageAttributes", "MessageAttribute", 'M', NULL, NULL, NULL, NULL}, {NULL, NULL, 0, NULL, NULL, NULL, NULL}};
static const sy_query_shape_t SHAPES[] = {
    {"Attributes", "Attribute", 'm', "Name", "Value", NULL, NULL},
    {"AttributeNames", "AttributeName", 'l', NULL, NULL, NULL, NULL},
    {"MessageAttributes", "MessageAttribute", 'M', NULL, NULL, NULL, NULL},
    {"tags", "Tag", 't', "Key", "Value", NULL, NULL},
    {"Entries", "SendMessageBatchRequestEntry", 'L', NULL, NULL, ENTRY_SHAPES, "DelaySeconds"},
    {NULL, NULL, 0, NULL, NULL, NULL, NULL}};

static json_t *decode(const char *s)
{
    sy_form_t f;
    assert_int_equal(sy_form_parse(&f, s, strlen(s)), 0);
    json_t *j = sy_query_to_json(&f, SHAPES, "DelaySeconds,MaxNumberOfMessages");
    sy_form_free(&f);
    return j;
}

static void test_maps_lists_and_ints(void **state)
{
    (void)state;
    json_t *j = decode("Action=CreateQueue&Version=2012-11-05&QueueName=q&Attribute.2.Name=DelaySeconds"
                       "&Attribute.2.Value=5&Attribute.1.Name=VisibilityTimeout&Attribute.1.Value=30"
                       "&AttributeName.10=B&AttributeName.2=A&Tag.1.Key=team&Tag.1.Value=eats"
                       "&MaxNumberOfMessages=7&DelaySeconds=x");
    assert_non_null(j);
    assert_null(json_object_get(j, "Action"));
    assert_string_equal(sy_json_str(j, "QueueName"), "q");
    assert_string_equal(sy_json_str(json_object_get(j, "Attributes"), "DelaySeconds"), "5");
    assert_string_equal(sy_json_str(json_object_get(j, "Attributes"), "VisibilityTimeout"), "30");
    json_t *names = json_object_get(j, "AttributeNames");
    assert_int_equal(json_array_size(names), 2); /* ordered by index, not by position */
    assert_string_equal(json_string_value(json_array_get(names, 0)), "A");
    assert_string_equal(json_string_value(json_array_get(names, 1)), "B");
    assert_string_equal(sy_json_str(json_object_get(j, "tags"), "team"), "eats");
    int64_t n;
    assert_true(sy_json_int(j, "MaxNumberOfMessages", &n));
    assert_int_equal(n, 7);
    assert_string_equal(sy_json_str(j, "DelaySeconds"), "x"); /* not numeric: left for validation */
    json_decref(j);
}

static void test_message_attributes_and_batches(void **state)
{
    (void)state;
    json_t *j = decode("MessageAttribute.1.Name=color&MessageAttribute.1.Value.DataType=String"
                       "&MessageAttribute.1.Value.StringValue=blue&MessageAttribute.2.Name=blob"
                       "&MessageAttribute.2.Value.DataType=Binary&MessageAttribute.2.Value.BinaryValue=AAEC"
                       "&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=x"
                       "&SendMessageBatchRequestEntry.1.DelaySeconds=3"
                       "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=k"
                       "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=Number"
                       "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=42"
                       "&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=y");
    json_t *ma = json_object_get(j, "MessageAttributes");
    assert_string_equal(sy_json_str(json_object_get(ma, "color"), "StringValue"), "blue");
    assert_string_equal(sy_json_str(json_object_get(ma, "blob"), "BinaryValue"), "AAEC");
    assert_null(json_object_get(json_object_get(ma, "blob"), "StringValue"));
    json_t *entries = json_object_get(j, "Entries");
    assert_int_equal(json_array_size(entries), 2);
    json_t *e1 = json_array_get(entries, 0);
    assert_string_equal(sy_json_str(e1, "Id"), "a");
    int64_t d;
    assert_true(sy_json_int(e1, "DelaySeconds", &d));
    assert_int_equal(d, 3);
    assert_string_equal(sy_json_str(json_object_get(json_object_get(e1, "MessageAttributes"), "k"), "DataType"),
                        "Number");
    assert_string_equal(sy_json_str(json_array_get(entries, 1), "MessageBody"), "y");
    json_decref(j);
}

static void test_invalid_utf8_is_refused(void **state)
{
    (void)state;
    sy_form_t f;
    const char *s = "MessageBody=%FF%FE";
    assert_int_equal(sy_form_parse(&f, s, strlen(s)), 0);
    assert_null(sy_query_to_json(&f, SHAPES, NULL));
    sy_form_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_decodes),
        cmocka_unit_test(test_parse_rejects_bad_escapes),
        cmocka_unit_test(test_parse_keeps_nul_in_values),
        cmocka_unit_test(test_maps_lists_and_ints),
        cmocka_unit_test(test_message_attributes_and_batches),
        cmocka_unit_test(test_invalid_utf8_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
