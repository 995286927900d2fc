#ifndef SFN_RUNNER_H
#define SFN_RUNNER_H
#include "statemachine/statemachine.h"
#include <stdio.h>
bool cmp_string(const char *exp, const char *act);
bool cmp_json(const json_t *exp, const json_t *act, const char *path, const json_t *ignore);
bool cmp_history(const json_t *exp, const json_t *act, char *why, size_t whylen);
#endif
