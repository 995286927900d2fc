/* pattern/sns_attrs.c - SNS filter policies with FilterPolicyScope
 * MessageAttributes: the attributes become a flat event for the matcher. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern/internal.h"

/* SNS MessageAttributes: {"n":{"Type":"String","Value":"v"}} becomes the
 * event {"n":"v"}; Number values stay numbers, String.Array values are the
 * JSON array they hold; Binary attributes are dropped. */
char *pat_sns_attributes_event(const char *json, size_t len, size_t *outlen)
{
    char err[128];
    pj_t *root = pj_parse(json, len, err, sizeof(err));
    char *out = NULL;
    if (!root || root->t != PJ_OBJ) goto done;
    size_t cap = 2, n = 0;
    for (size_t i = 0; i < root->nk; i++) {
        cap += 6 * root->klens[i] + 8; /* a control character becomes \u00XX */
        const pj_t *a = root->kids[i];
        for (size_t j = 0; a->t == PJ_OBJ && j < a->nk; j++)
            if (a->kids[j]->t == PJ_STR) cap += 6 * a->kids[j]->n + 4;
    }
    out = sy_malloc(cap + 1);
    out[n++] = '{';
    bool first = true;
    for (size_t i = 0; i < root->nk; i++) {
        const pj_t *a = root->kids[i];
        const pj_t *type = NULL, *value = NULL;
        if (a->t != PJ_OBJ) continue;
        for (size_t j = 0; j < a->nk; j++) {
            if (!strcmp(a->keys[j], "Type") || !strcmp(a->keys[j], "DataType")) type = a->kids[j];
            if (!strcmp(a->keys[j], "Value") || !strcmp(a->keys[j], "StringValue")) value = a->kids[j];
        }
        if (!type || !value || type->t != PJ_STR || value->t != PJ_STR) continue;
        bool is_num = !strncmp(type->s, "Number", 6);
        bool is_arr = !strcmp(type->s, "String.Array");
        if (!is_num && !is_arr && strncmp(type->s, "String", 6) != 0) continue;
        if (is_num && pat_json_number_len(value->s, value->n) != value->n) is_num = false;
        if (is_arr) {
            char e2[64];
            pj_t *arr = pj_parse(value->s, value->n, e2, sizeof(e2));
            bool ok = arr && arr->t == PJ_ARR;
            pj_free(arr);
            if (!ok) is_arr = false;
        }
        if (!first) out[n++] = ',';
        first = false;
        /* key */
        out[n++] = '"';
        for (size_t k = 0; k < root->klens[i]; k++) {
            char c = root->keys[i][k];
            if (c == '"' || c == '\\') out[n++] = '\\';
            if ((unsigned char)c < 0x20) n += (size_t)sprintf(out + n, "\\u%04x", (unsigned char)c);
            else out[n++] = c;
        }
        out[n++] = '"';
        out[n++] = ':';
        if (is_num || is_arr) {
            memcpy(out + n, value->s, value->n);
            n += value->n;
        } else {
            out[n++] = '"';
            for (size_t k = 0; k < value->n; k++) {
                char c = value->s[k];
                if ((unsigned char)c < 0x20) {
                    n += (size_t)sprintf(out + n, "\\u%04x", (unsigned char)c);
                    continue;
                }
                if (c == '"' || c == '\\') out[n++] = '\\';
                out[n++] = c;
            }
            out[n++] = '"';
        }
    }
    out[n++] = '}';
    out[n] = 0;
    *outlen = n;
done:
    pj_free(root);
    return out;
}

