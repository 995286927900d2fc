/* pattern/pattern.h - the one public header of pattern/ (a library): the
 * event-pattern compiler and matcher shared by EventBridge rules (bus/) and
 * SNS filter policies (topic/). Thread safety and errors per entry point below.
 *
 * All patterns added to one sy_matcher_t compile into one automaton: a
 * field-path layer (a hash of the dot-joined paths the patterns name) and
 * one merged byte-level NFA per path. An event is flattened once into a
 * sorted, pruned list of (path, value, array trail); sub-trees that no
 * pattern names are skipped while parsing. */
#ifndef SY_PATTERN_H
#define SY_PATTERN_H

#include <stddef.h>

#include "core/core.h"

typedef struct sy_matcher sy_matcher_t;

typedef enum {
    SY_PATTERN_EVENTBRIDGE,     /* EventBridge event pattern */
    SY_PATTERN_SNS_ATTRIBUTES,  /* SNS filter policy, FilterPolicyScope=MessageAttributes */
    SY_PATTERN_SNS_BODY,        /* SNS filter policy, FilterPolicyScope=MessageBody */
} sy_pattern_kind_t;

/* A new, empty matcher (never NULL: allocation failure aborts). */
sy_matcher_t *sy_matcher_new(sy_pattern_kind_t kind);
void sy_matcher_destroy(sy_matcher_t **self_p);

/* Validate one pattern. Returns 0, or SY_E_INVALID with err (if not NULL)
 * set: EventBridge: status 400, code "InvalidEventPatternException", message
 * "Event pattern is not valid. Reason: ..."; SNS kinds: status 400, code
 * "InvalidParameter", message "Invalid parameter: FilterPolicy: ...". */
int sy_pattern_validate(sy_pattern_kind_t kind, const char *pattern, size_t len, sy_err_t *err);

/* Add (or replace) the rule rule_id. Returns 0 or SY_E_INVALID (err set as
 * for sy_pattern_validate). Safe while other threads match. */
int sy_matcher_add(sy_matcher_t *m, const char *rule_id, const char *pattern, size_t len,
                   sy_err_t *err);
/* Remove rule_id. Returns 0, or SY_E_NOTFOUND. Safe while other threads match. */
int sy_matcher_delete(sy_matcher_t *m, const char *rule_id);
/* Number of rules currently in the matcher. */
size_t sy_matcher_count(sy_matcher_t *m);

typedef void (*sy_match_cb)(const char *rule_id, void *u);

/* Match one event against every rule; cb is called once per matching rule
 * (cb may be NULL; it must not add, delete or match on the same matcher).
 * Returns the number of rules matched, or SY_E_INVALID if the event is not a
 * JSON object. Thread-safe against concurrent add/delete and other matches;
 * the first match after an add/delete publishes the new rule set.
 * For SY_PATTERN_SNS_ATTRIBUTES the "event" is the message attributes as a
 * JSON object {"name":{"Type":"String|Number|String.Array","Value":"..."}}
 * (Binary attributes are ignored); the other kinds take the JSON event or
 * message body. */
int sy_matcher_match(sy_matcher_t *m, const char *event_json, size_t len, sy_match_cb cb,
                     void *u);

#endif
