/* tests/fuzz/fuzz_form.c - the query-protocol decoder: sy_form_parse over a
 * form body / query string (as core/http.c feeds it: query, '&', body),
 * sy_form_get, and sy_query_to_json with an SQS/SNS-like shape table
 * (attribute maps, message-attribute maps, tag maps, scalar lists,
 * lists of structures with nested maps, SNS entry maps).
 * Oracles: every decoded value's length is consistent; a JSON result is an
 * object, encodes, and decodes back equal. */
#include "core/core.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const sy_query_shape_t batch_entry[] = {
    {.param = "MessageAttributes", .prefix = "MessageAttribute", .kind = 'M'},
    {.param = "MessageSystemAttributes", .prefix = "MessageSystemAttribute", .kind = 'M'},
    {0},
};

static const sy_query_shape_t shapes[] = {
    {.param = "Attributes", .prefix = "Attribute", .kind = 'm', .key_name = "Name", .val_name = "Value"},
    {.param = "MessageAttributes", .prefix = "MessageAttribute", .kind = 'M'},
    {.param = "tags", .prefix = "Tag", .kind = 't', .key_name = "Key", .val_name = "Value"},
    {.param = "AttributeNames", .prefix = "AttributeName", .kind = 'l'},
    {.param = "MessageAttributeNames", .prefix = "MessageAttributeName", .kind = 'l'},
    {.param = "Entries", .prefix = "SendMessageBatchRequestEntry", .kind = 'L', .sub = batch_entry,
     .ints = "DelaySeconds,"},
    {.param = "Entries", .prefix = "DeleteMessageBatchRequestEntry", .kind = 'L'},
    {.param = "Attributes", .prefix = "Attributes.entry", .kind = 'e', .key_name = "key", .val_name = "value"},
    {0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sy_form_t f;
    memset(&f, 0, sizeof f);
    if (sy_form_parse(&f, (const char *)data, size) == 0) {
        for (size_t i = 0; i < f.n; i++) {
            const sy_kv_t *kv = &f.items[i];
            if (!kv->name || !kv->value || kv->value_len > size || kv->value[kv->value_len] != 0) abort();
        }
        const char *action = sy_form_get(&f, "Action");
        const char *version = sy_form_get(&f, "Version");
        (void)action;
        (void)version;
        json_t *obj = sy_query_to_json(&f, shapes, "DelaySeconds,MaxNumberOfMessages,VisibilityTimeout,"
                                                   "WaitTimeSeconds");
        if (obj) {
            if (!json_is_object(obj)) abort();
            char *text = sy_json_dumps(obj);
            json_error_t e;
            json_t *again = json_loads(text, JSON_ALLOW_NUL, &e); /* %00 -> \\u0000 is legal */
            if (!again || !json_equal(obj, again)) abort();
            json_decref(again);
            free(text);
            json_decref(obj);
        }
    }
    sy_form_free(&f);
    return 0;
}
