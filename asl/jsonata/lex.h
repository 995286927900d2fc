/* asl/jsonata/lex.h — the tokenizer's interface to the Pratt parser
 * (internal to parse.c and lex.c). */
#ifndef SY_ASL_JSONATA_LEX_H
#define SY_ASL_JSONATA_LEX_H

#include "internal.h"

#include <setjmp.h>

enum { T_END, T_NAME, T_VAR, T_OP, T_STR, T_NUM, T_VALUE, T_REGEX };

typedef struct {
    int type;
    const char *id; /* operator text (interned) or "(name)" ... */
    char *s;        /* name / variable / string / regex source */
    size_t slen;
    double num;
    jv lit;
    int flags;
    int position;
} tok;

typedef struct {
    jn_arena *a;
    const char *src;
    size_t len, pos;
    tok t; /* current */
    jn_err *e;
    jmp_buf jb;
    int depth;
} P;

_Noreturn void jn_perr(P *p, const char *code, int position, const char *token, size_t tlen);
const char *jn_intern_op(const char *s, size_t n);
tok jn_lex(P *p, bool prefix);
jv jn_arena_str(jn_arena *a, const char *s, size_t n);
void jn_arena_keep_regex(jn_arena *a, void *re);

#endif
