#ifndef SFN_RUNNER_H
#define SFN_RUNNER_H
#include "asl/asl.h"
#include <stdio.h>
bool cmp_string(const char *exp, const char *act);
bool cmp_json(const json_t *exp, const json_t *act, const char *path, const json_t *ignore);
bool cmp_history(const json_t *exp, const json_t *act, char *why, size_t whylen);
/* Compare one execution's outcome with case c ("why" says how it differs). */
bool cmp_outcome(const json_t *c, const char *status, const json_t *output, const char *error, const char *cause,
                 const json_t *hist, char *why, size_t whylen);
/* The feature a case's failures are grouped under. */
const char *cmp_feature_of(const json_t *c);
#endif
