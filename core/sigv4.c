/* core/sigv4.c - AWS Signature Version 4: the credentials table and request
 * verification (Authorization header and presigned query string), as
 * described in shared/reference/aws-wire.md section 5.
 *
 * Canonicalization follows what AWS services (and botocore's signer) do for
 * every service but S3: the path is dot-segment-normalized and URI-encoded
 * once more as it appears on the wire; query parameters are decoded,
 * RFC 3986-encoded and sorted; signed header values are trimmed with inner
 * whitespace runs collapsed; the payload hash is SHA-256 of the body bytes. */
#include "core/core.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALGORITHM "AWS4-HMAC-SHA256"
#define TERMINATOR "aws4_request"
#define MAX_SKEW_S (15 * 60)
#define MAX_EXPIRES_S (7 * 24 * 3600)

static const char MSG_MISMATCH[] =
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details.";

/* ------------------------------------------------------------ credentials */
typedef struct {
    char *akid;
    char *secret;
} cred_t;

struct sy_creds {
    cred_t *items; /* sorted by akid */
    size_t n;
};

static int cred_cmp(const void *a, const void *b)
{
    return strcmp(((const cred_t *)a)->akid, ((const cred_t *)b)->akid);
}

/* Split s in place into at most max whitespace-separated fields. */
static int split_fields(char *s, char **f, int max)
{
    int n = 0;
    while (*s) {
        while (*s && isspace((unsigned char)*s)) s++;
        if (!*s) break;
        if (n == max) return max + 1;
        f[n++] = s;
        while (*s && !isspace((unsigned char)*s)) s++;
        if (*s) *s++ = 0;
    }
    return n;
}

sy_creds_t *sy_creds_load(const char *path, sy_err_t *err)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        sy_err_set(err, SY_E_INVALID, 500, "InvalidConfiguration",
                   "could not open credentials file \"%s\": %s", path, strerror(errno));
        return NULL;
    }
    sy_creds_t *c = sy_calloc(1, sizeof *c);
    size_t cap = 0;
    char *line = NULL;
    size_t linecap = 0;
    int lineno = 0;
    bool ok = true;
    while (getline(&line, &linecap, fp) >= 0) {
        lineno++;
        char *s = line;
        while (isspace((unsigned char)*s)) s++;
        if (!*s || *s == '#') continue;
        char *f[2];
        if (split_fields(s, f, 2) != 2) {
            sy_err_set(err, SY_E_INVALID, 500, "InvalidConfiguration",
                       "credentials file \"%s\" line %d: expected ACCESS_KEY_ID SECRET", path, lineno);
            ok = false;
            break;
        }
        if (c->n == cap) {
            cap = cap ? cap * 2 : 8;
            c->items = sy_realloc(c->items, cap * sizeof *c->items);
        }
        c->items[c->n].akid = sy_strdup(f[0]);
        c->items[c->n].secret = sy_strdup(f[1]);
        c->n++;
    }
    if (line) OPENSSL_cleanse(line, linecap);
    free(line);
    fclose(fp);
    if (ok && c->n > 1) {
        qsort(c->items, c->n, sizeof *c->items, cred_cmp);
        for (size_t i = 1; i < c->n; i++) {
            if (strcmp(c->items[i - 1].akid, c->items[i].akid) == 0) {
                sy_err_set(err, SY_E_INVALID, 500, "InvalidConfiguration",
                           "credentials file \"%s\": duplicate access key id \"%s\"", path,
                           c->items[i].akid);
                ok = false;
                break;
            }
        }
    }
    if (!ok) sy_creds_destroy(&c);
    return c;
}

void sy_creds_destroy(sy_creds_t **self_p)
{
    if (!self_p || !*self_p) return;
    sy_creds_t *c = *self_p;
    for (size_t i = 0; i < c->n; i++) {
        OPENSSL_cleanse(c->items[i].secret, strlen(c->items[i].secret));
        free(c->items[i].secret);
        free(c->items[i].akid);
    }
    free(c->items);
    free(c);
    *self_p = NULL;
}

static const cred_t *creds_find(const sy_creds_t *c, const char *akid)
{
    if (!c || !akid || !c->n) return NULL;
    cred_t key = {.akid = (char *)akid};
    return bsearch(&key, c->items, c->n, sizeof *c->items, cred_cmp);
}

const char *sy_creds_secret(const sy_creds_t *c, const char *akid)
{
    const cred_t *e = creds_find(c, akid);
    return e ? e->secret : NULL;
}

/* ------------------------------------------------------------ encoding */
static bool unreserved(unsigned char ch)
{
    return isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~';
}

/* RFC 3986 encoding; '/' kept when keep_slash (paths). Upper-case hex. */
static void uri_encode(sy_buf_t *b, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    sy_buf_reserve(b, n * 3);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (unreserved(ch) || (keep_slash && ch == '/')) {
            b->data[b->len++] = (char)ch;
        } else {
            b->data[b->len++] = '%';
            b->data[b->len++] = hex[ch >> 4];
            b->data[b->len++] = hex[ch & 15];
        }
    }
    b->data[b->len] = 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode (a malformed escape stays literal; '+' stays '+', as AWS
 * does for SigV4). Returns a NUL-terminated copy; *outlen excludes the NUL. */
static char *pct_decode(const char *s, size_t n, size_t *outlen)
{
    char *d = sy_malloc(n + 1);
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            d[j++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            d[j++] = s[i];
        }
    }
    d[j] = 0;
    if (outlen) *outlen = j;
    return d;
}

/* ------------------------------------------------------- canonical parts */
/* botocore's remove_dot_segments: drop "." and empty segments, ".." pops;
 * keep a leading '/' and a trailing '/' when anything remains. */
static void canonical_path(sy_buf_t *b, const char *path)
{
    if (!path || !*path) {
        sy_buf_putc(b, '/');
        return;
    }
    size_t n = strlen(path);
    const char **seg = sy_malloc((n / 2 + 2) * sizeof *seg);
    size_t *len = sy_malloc((n / 2 + 2) * sizeof *len);
    size_t k = 0;
    for (const char *p = path; *p;) {
        const char *e = strchr(p, '/');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 0 || (l == 1 && p[0] == '.')) {
            /* skip */
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            if (k) k--;
        } else {
            seg[k] = p;
            len[k] = l;
            k++;
        }
        if (!e) break;
        p = e + 1;
    }
    if (path[0] == '/') sy_buf_putc(b, '/');
    for (size_t i = 0; i < k; i++) {
        if (i) sy_buf_putc(b, '/');
        uri_encode(b, seg[i], len[i], false);
    }
    if (path[n - 1] == '/' && k) sy_buf_putc(b, '/');
    if (path[0] != '/' && k == 0) sy_buf_putc(b, '/');
    free(seg);
    free(len);
}

typedef struct {
    char *k, *v; /* encoded */
} qpair_t;

static int qpair_cmp(const void *a, const void *b)
{
    const qpair_t *x = a, *y = b;
    int c = strcmp(x->k, y->k);
    return c ? c : strcmp(x->v, y->v);
}

static char *encode_dup(const char *s, size_t n)
{
    size_t dl;
    char *d = pct_decode(s, n, &dl);
    sy_buf_t b;
    sy_buf_init(&b);
    uri_encode(&b, d, dl, false);
    free(d);
    return b.data ? b.data : sy_strdup("");
}

/* Sorted, re-encoded query; X-Amz-Signature left out when presigned. */
static void canonical_query(sy_buf_t *b, const char *q, bool presigned)
{
    if (!q || !*q) return;
    size_t cap = 8, n = 0;
    qpair_t *v = sy_malloc(cap * sizeof *v);
    for (const char *p = q; *p;) {
        const char *e = strchr(p, '&');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l) {
            const char *eq = memchr(p, '=', l);
            size_t kl = eq ? (size_t)(eq - p) : l;
            char *k = encode_dup(p, kl);
            if (presigned && strcmp(k, "X-Amz-Signature") == 0) {
                free(k);
            } else {
                if (n == cap) v = sy_realloc(v, (cap *= 2) * sizeof *v);
                v[n].k = k;
                v[n].v = eq ? encode_dup(eq + 1, l - kl - 1) : sy_strdup("");
                n++;
            }
        }
        if (!e) break;
        p = e + 1;
    }
    qsort(v, n, sizeof *v, qpair_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i) sy_buf_putc(b, '&');
        sy_buf_puts(b, v[i].k);
        sy_buf_putc(b, '=');
        sy_buf_puts(b, v[i].v);
        free(v[i].k);
        free(v[i].v);
    }
    free(v);
}

/* Trim and collapse whitespace runs to one space (botocore: ' '.join(v.split())). */
static void put_trimall(sy_buf_t *b, const char *v)
{
    bool pending = false, any = false;
    for (; v && *v; v++) {
        if (isspace((unsigned char)*v)) {
            pending = any;
            continue;
        }
        if (pending) sy_buf_putc(b, ' ');
        sy_buf_putc(b, *v);
        pending = false;
        any = true;
    }
}

/* ---------------------------------------------------------- auth params */
typedef struct {
    bool presigned;
    char akid[129];
    char date[9]; /* scope date yyyymmdd */
    char region[65];
    char service[65];
    char amz_date[17];
    char signature[65];
    char *signed_headers; /* heap */
    int64_t expires;      /* presigned only; -1 when absent */
} auth_t;

static int incomplete(sy_err_t *err, const char *what, const char *authz)
{
    return sy_err_set(err, SY_E_INVALID, 400, "IncompleteSignature", "%s Authorization=%.256s", what,
                      authz ? authz : "");
}

/* "AKID/yyyymmdd/region/service/aws4_request" -> fields. */
static int parse_credential(const char *cred, size_t n, auth_t *a)
{
    const char *part[5];
    size_t plen[5];
    int k = 0;
    const char *p = cred, *end = cred + n;
    while (k < 5) {
        const char *s = memchr(p, '/', (size_t)(end - p));
        part[k] = p;
        plen[k] = s ? (size_t)(s - p) : (size_t)(end - p);
        k++;
        if (!s) break;
        p = s + 1;
    }
    if (k != 5 || part[4] + plen[4] != end) return -1;
    if (!plen[0] || plen[0] >= sizeof a->akid || plen[1] != 8 || !plen[2] ||
        plen[2] >= sizeof a->region || !plen[3] || plen[3] >= sizeof a->service)
        return -1;
    if (plen[4] != strlen(TERMINATOR) || memcmp(part[4], TERMINATOR, plen[4]) != 0) return -1;
    memcpy(a->akid, part[0], plen[0]);
    a->akid[plen[0]] = 0;
    memcpy(a->date, part[1], 8);
    a->date[8] = 0;
    memcpy(a->region, part[2], plen[2]);
    a->region[plen[2]] = 0;
    memcpy(a->service, part[3], plen[3]);
    a->service[plen[3]] = 0;
    return 0;
}

static bool is_hex64(const char *s, size_t n)
{
    if (n != 64) return false;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i])) return false;
    return true;
}

/* Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=... */
static int parse_header_auth(const char *authz, auth_t *a, sy_err_t *err)
{
    size_t alen = strlen(ALGORITHM);
    if (strncmp(authz, ALGORITHM, alen) != 0 || (authz[alen] != ' ' && authz[alen] != '\t'))
        return incomplete(err, "Unsupported authorization type; expected AWS4-HMAC-SHA256.", authz);
    const char *cred = NULL, *sh = NULL, *sig = NULL;
    size_t cred_n = 0, sh_n = 0, sig_n = 0;
    for (const char *p = authz + alen; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        if (!*p) break;
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        while (l && (p[l - 1] == ' ' || p[l - 1] == '\t')) l--;
        const char *eq = memchr(p, '=', l);
        if (!eq) return incomplete(err, "Authorization header has a component without '='.", authz);
        size_t kl = (size_t)(eq - p), vl = l - kl - 1;
        const char **slot = NULL;
        size_t *slot_n = NULL;
        if (kl == 10 && memcmp(p, "Credential", 10) == 0) slot = &cred, slot_n = &cred_n;
        else if (kl == 13 && memcmp(p, "SignedHeaders", 13) == 0) slot = &sh, slot_n = &sh_n;
        else if (kl == 9 && memcmp(p, "Signature", 9) == 0) slot = &sig, slot_n = &sig_n;
        if (slot) {
            if (*slot) return incomplete(err, "Authorization header has a duplicate component.", authz);
            *slot = eq + 1;
            *slot_n = vl;
        }
        p += e ? (size_t)(e - p) : strlen(p);
    }
    char what[256] = "";
    if (!cred) strcat(what, "Authorization header requires 'Credential' parameter. ");
    if (!sig) strcat(what, "Authorization header requires 'Signature' parameter. ");
    if (!sh) strcat(what, "Authorization header requires 'SignedHeaders' parameter. ");
    if (*what) {
        what[strlen(what) - 1] = 0;
        return incomplete(err, what, authz);
    }
    if (parse_credential(cred, cred_n, a) != 0)
        return incomplete(err,
                          "Credential must have the form "
                          "ACCESS_KEY_ID/yyyymmdd/region/service/aws4_request.",
                          authz);
    if (!is_hex64(sig, sig_n))
        return sy_err_set(err, SY_E_INVALID, 403, "SignatureDoesNotMatch", "%s", MSG_MISMATCH);
    memcpy(a->signature, sig, 64);
    a->signature[64] = 0;
    a->signed_headers = sy_strndup(sh, sh_n);
    return 0;
}

/* Find name=value in a raw query string; returns the decoded value or NULL. */
static char *query_param(const char *q, const char *name)
{
    size_t nl = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *e = strchr(p, '&');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        const char *eq = memchr(p, '=', l);
        size_t kl = eq ? (size_t)(eq - p) : l;
        if (kl == nl && memcmp(p, name, nl) == 0) return pct_decode(eq ? eq + 1 : p + l, eq ? l - kl - 1 : 0, NULL);
        if (!e) break;
        p = e + 1;
    }
    return NULL;
}

static bool has_presign_params(const char *q)
{
    return q && (strstr(q, "X-Amz-Signature=") || strstr(q, "X-Amz-Credential=") ||
                 strstr(q, "X-Amz-Algorithm="));
}

static int parse_query_auth(const char *q, auth_t *a, sy_err_t *err)
{
    char *alg = query_param(q, "X-Amz-Algorithm");
    char *cred = query_param(q, "X-Amz-Credential");
    char *date = query_param(q, "X-Amz-Date");
    char *sh = query_param(q, "X-Amz-SignedHeaders");
    char *sig = query_param(q, "X-Amz-Signature");
    char *exp = query_param(q, "X-Amz-Expires");
    int rc = 0;
    a->presigned = true;
    a->expires = -1;
    if (!alg || !cred || !date || !sh || !sig) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "IncompleteSignature",
                        "AWS query-string parameters must include 'X-Amz-Algorithm', "
                        "'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date' and "
                        "'X-Amz-SignedHeaders'.");
    } else if (strcmp(alg, ALGORITHM) != 0) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "IncompleteSignature",
                        "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    } else if (parse_credential(cred, strlen(cred), a) != 0) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "IncompleteSignature",
                        "X-Amz-Credential must have the form "
                        "ACCESS_KEY_ID/yyyymmdd/region/service/aws4_request");
    } else if (!is_hex64(sig, strlen(sig))) {
        rc = sy_err_set(err, SY_E_INVALID, 403, "SignatureDoesNotMatch", "%s", MSG_MISMATCH);
    } else if (strlen(date) >= sizeof a->amz_date) {
        rc = sy_err_set(err, SY_E_INVALID, 400, "IncompleteSignature",
                        "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
    } else {
        memcpy(a->signature, sig, 65);
        strcpy(a->amz_date, date);
        a->signed_headers = sh;
        sh = NULL;
        if (exp) {
            char *end = NULL;
            long long v = strtoll(exp, &end, 10);
            if (!*exp || *end || v < 1 || v > MAX_EXPIRES_S)
                rc = sy_err_set(err, SY_E_INVALID, 400, "AuthorizationQueryParametersError",
                                "X-Amz-Expires must be a number of seconds between 1 and 604800");
            a->expires = v;
        }
    }
    free(alg);
    free(cred);
    free(date);
    free(sh);
    free(sig);
    free(exp);
    return rc;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) v = v * 10 + (s[i] - '0');
    return v;
}

/* yyyymmddThhmmssZ -> epoch seconds, or -1. */
static int64_t parse_amz_date(const char *s)
{
    if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z') return -1;
    for (int i = 0; i < 15; i++)
        if (i != 8 && !isdigit((unsigned char)s[i])) return -1;
    struct tm tm = {0};
    tm.tm_year = digits(s, 4) - 1900;
    tm.tm_mon = digits(s + 4, 2) - 1;
    tm.tm_mday = digits(s + 6, 2);
    tm.tm_hour = digits(s + 9, 2);
    tm.tm_min = digits(s + 11, 2);
    tm.tm_sec = digits(s + 13, 2);
    if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
        tm.tm_sec > 60)
        return -1;
    return (int64_t)timegm(&tm);
}

static void fmt_amz_date(int64_t t, char out[17])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* --------------------------------------------------------------- signing */
static void hex_lower(const unsigned char *in, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 15];
    }
    out[2 * n] = 0;
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(p, n, md);
    hex_lower(md, sizeof md, out);
}

static void hmac(const void *key, size_t klen, const char *msg, size_t mlen, unsigned char out[32])
{
    unsigned int olen = 32;
    if (!HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, mlen, out, &olen))
        sy_panic("HMAC-SHA256 failed");
}

/* Build the canonical request into cr. Headers are looked up through r. */
static int build_canonical(const sy_sigv4_req_t *r, const auth_t *a, sy_buf_t *cr, sy_err_t *err,
                           const char *authz)
{
    sy_buf_puts(cr, r->method ? r->method : "GET");
    sy_buf_putc(cr, '\n');
    canonical_path(cr, r->path);
    sy_buf_putc(cr, '\n');
    canonical_query(cr, r->query, a->presigned);
    sy_buf_putc(cr, '\n');
    bool host = false;
    char name[128];
    for (const char *p = a->signed_headers; *p;) {
        const char *e = strchr(p, ';');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 0 || l >= sizeof name)
            return incomplete(err, "SignedHeaders has an empty or over-long header name.", authz);
        for (size_t i = 0; i < l; i++) name[i] = (char)tolower((unsigned char)p[i]);
        name[l] = 0;
        if (strcmp(name, "host") == 0) host = true;
        sy_buf_puts(cr, name);
        sy_buf_putc(cr, ':');
        put_trimall(cr, r->header ? r->header(r->u, name) : NULL);
        sy_buf_putc(cr, '\n');
        if (!e) break;
        p = e + 1;
    }
    if (!host)
        return incomplete(err, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
                          authz);
    sy_buf_putc(cr, '\n');
    for (const char *p = a->signed_headers; *p; p++) sy_buf_putc(cr, (char)tolower((unsigned char)*p));
    sy_buf_putc(cr, '\n');
    char ph[65];
    sha256_hex(r->body ? r->body : "", r->body ? r->body_len : 0, ph);
    sy_buf_puts(cr, ph);
    return 0;
}

static void compute_signature(const char *secret, const auth_t *a, const sy_buf_t *cr, char out[65])
{
    char crh[65];
    sha256_hex(cr->data, cr->len, crh);
    sy_buf_t sts;
    sy_buf_init(&sts);
    sy_buf_printf(&sts, ALGORITHM "\n%s\n%s/%s/%s/" TERMINATOR "\n%s", a->amz_date, a->date, a->region,
                  a->service, crh);
    size_t sl = strlen(secret);
    char *k0 = sy_malloc(sl + 5);
    memcpy(k0, "AWS4", 4);
    memcpy(k0 + 4, secret, sl + 1);
    unsigned char k[32];
    hmac(k0, sl + 4, a->date, strlen(a->date), k);
    hmac(k, 32, a->region, strlen(a->region), k);
    hmac(k, 32, a->service, strlen(a->service), k);
    hmac(k, 32, TERMINATOR, strlen(TERMINATOR), k);
    unsigned char sig[32];
    hmac(k, 32, sts.data, sts.len, sig);
    hex_lower(sig, 32, out);
    OPENSSL_cleanse(k0, sl + 4);
    OPENSSL_cleanse(k, sizeof k);
    free(k0);
    sy_buf_free(&sts);
}

static int check_time(const auth_t *a, int64_t t, int64_t now, sy_err_t *err)
{
    char now_s[17], edge[17];
    fmt_amz_date(now, now_s);
    if (a->presigned && a->expires >= 0) {
        if (t - now > MAX_SKEW_S) {
            fmt_amz_date(now + MAX_SKEW_S, edge);
            return sy_err_set(err, SY_E_INVALID, 403, "RequestTimeTooSkewed",
                              "Signature not yet current: %s is still later than %s (%s + 15 min.)",
                              a->amz_date, edge, now_s);
        }
        if (now > t + a->expires) {
            char exp_s[17];
            fmt_amz_date(t + a->expires, exp_s);
            return sy_err_set(err, SY_E_INVALID, 403, "AccessDenied",
                              "Request has expired: it expired at %s, now is %s", exp_s, now_s);
        }
        return 0;
    }
    if (now - t > MAX_SKEW_S) {
        fmt_amz_date(now - MAX_SKEW_S, edge);
        return sy_err_set(err, SY_E_INVALID, 403, "RequestTimeTooSkewed",
                          "Signature expired: %s is now earlier than %s (%s - 15 min.)", a->amz_date,
                          edge, now_s);
    }
    if (t - now > MAX_SKEW_S) {
        fmt_amz_date(now + MAX_SKEW_S, edge);
        return sy_err_set(err, SY_E_INVALID, 403, "RequestTimeTooSkewed",
                          "Signature not yet current: %s is still later than %s (%s + 15 min.)",
                          a->amz_date, edge, now_s);
    }
    return 0;
}

int sy_sigv4_verify(const sy_creds_t *creds, const sy_sigv4_req_t *r, const char **akid_out,
                    sy_err_t *err)
{
    if (akid_out) *akid_out = NULL;
    auth_t a;
    memset(&a, 0, sizeof a);
    a.expires = -1;
    sy_buf_t cr;
    sy_buf_init(&cr);
    int rc;
    const char *authz = r->header ? r->header(r->u, "authorization") : NULL;
    if (authz && !authz[strspn(authz, " \t")]) authz = NULL; /* empty: as if absent */
    if (authz) {
        rc = parse_header_auth(authz, &a, err);
        if (rc) goto done;
        const char *d = r->header(r->u, "x-amz-date");
        if (!d) {
            rc = incomplete(err,
                            "Authorization header requires existence of either a 'X-Amz-Date' or a "
                            "'Date' header.",
                            authz);
            goto done;
        }
        if (strlen(d) >= sizeof a.amz_date) {
            rc = incomplete(err, "X-Amz-Date must be in the ISO8601 Long Format.", authz);
            goto done;
        }
        strcpy(a.amz_date, d);
    } else if (has_presign_params(r->query)) {
        rc = parse_query_auth(r->query, &a, err);
        if (rc) goto done;
    } else {
        rc = sy_err_set(err, SY_E_INVALID, 403, "MissingAuthenticationToken",
                        "Request is missing Authentication Token");
        goto done;
    }
    int64_t t = parse_amz_date(a.amz_date);
    if (t < 0) {
        rc = incomplete(err, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\".",
                        authz);
        goto done;
    }
    if (memcmp(a.date, a.amz_date, 8) != 0) {
        rc = sy_err_set(err, SY_E_INVALID, 403, "SignatureDoesNotMatch",
                        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
                        "date from HTTP: '%s' != '%.8s', from '%s'.",
                        a.date, a.amz_date, a.amz_date);
        goto done;
    }
    const cred_t *c = creds_find(creds, a.akid);
    if (!c) {
        rc = sy_err_set(err, SY_E_INVALID, 403, "InvalidClientTokenId",
                        "The security token included in the request is invalid.");
        goto done;
    }
    rc = check_time(&a, t, r->now_s, err);
    if (rc) goto done;
    rc = build_canonical(r, &a, &cr, err, authz);
    if (rc) goto done;
    char want[65], got[65];
    compute_signature(c->secret, &a, &cr, want);
    for (int i = 0; i < 64; i++) got[i] = (char)tolower((unsigned char)a.signature[i]);
    got[64] = 0;
    if (CRYPTO_memcmp(want, got, 64) != 0) {
        rc = sy_err_set(err, SY_E_INVALID, 403, "SignatureDoesNotMatch", "%s", MSG_MISMATCH);
        goto done;
    }
    if (akid_out) *akid_out = c->akid;
    rc = 0;
done:
    free(a.signed_headers);
    sy_buf_free(&cr);
    return rc;
}

/* --------------------------------------------------------- permissive mode */
static int copy_out(char *dst, size_t dn, const char *src, size_t sn)
{
    if (!dst || !dn) return 0;
    if (sn >= dn) return -1;
    memcpy(dst, src, sn);
    dst[sn] = 0;
    return 0;
}

int sy_sigv4_parse_scope(const char *authorization, char *akid, size_t akid_n, char *region,
                         size_t region_n, char *service, size_t service_n)
{
    if (!authorization) return -1;
    const char *cred = authorization;
    size_t alen = strlen(ALGORITHM);
    if (strncmp(authorization, ALGORITHM, alen) == 0) {
        cred = strstr(authorization + alen, "Credential=");
        if (!cred) return -1;
        cred += strlen("Credential=");
    }
    size_t n = strcspn(cred, ", \t");
    auth_t a;
    memset(&a, 0, sizeof a);
    if (parse_credential(cred, n, &a) != 0) return -1;
    if (copy_out(akid, akid_n, a.akid, strlen(a.akid)) || copy_out(region, region_n, a.region, strlen(a.region)) ||
        copy_out(service, service_n, a.service, strlen(a.service)))
        return -1;
    return 0;
}
