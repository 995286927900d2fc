/* topic/signing.c - SNS message signatures as subscribers check them: one
 * RSA-2048 key pair and self-signed X.509 certificate per cluster (made
 * with OpenSSL by the first broker, kept in sy_topic_signing, shared by all
 * brokers), AWS's canonical string per message type, SignatureVersion 1
 * (SHA1withRSA) and 2 (SHA256withRSA), and the certificate served at
 * SigningCertURL (<base>/SimpleNotificationService-<hash>.pem). */
#include "topic/internal.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#define CERT_PREFIX "/SimpleNotificationService-"
#define CERT_DAYS 3650L

static char *bio_text(BIO *b)
{
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    return sy_strndup(p, (size_t)n);
}

/* A new key pair and its self-signed certificate, as PEM. */
static int generate(char **key_pem, char **cert_pem, sy_err_t *err)
{
    EVP_PKEY *k = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    BIGNUM *bn = BN_new();
    BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
    int rc = 0;
    if (!k || !x || !bn || !kb || !cb || !X509_set_version(x, 2) || !BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
        !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) || !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), CERT_DAYS * 86400) || !X509_set_pubkey(x, k)) {
        rc = sy_err_set(err, SY_E_INTERNAL, 500, "InternalError", "could not make the SNS signing certificate");
        goto done;
    }
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"Switchyard", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"sns.switchyard.local", -1, -1, 0);
    if (!X509_set_issuer_name(x, name) || !X509_sign(x, k, EVP_sha256()) ||
        !PEM_write_bio_PrivateKey(kb, k, NULL, NULL, 0, NULL, NULL) || !PEM_write_bio_X509(cb, x)) {
        rc = sy_err_set(err, SY_E_INTERNAL, 500, "InternalError", "could not sign the SNS signing certificate");
        goto done;
    }
    *key_pem = bio_text(kb);
    *cert_pem = bio_text(cb);
done:
    BIO_free(kb);
    BIO_free(cb);
    BN_free(bn);
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

/* The pair is read at start; parsing the key and naming the certificate
 * (OpenSSL's first use in the process: its configuration, providers and
 * decoders, some ms and MiB) wait for the first message signed or the
 * first certificate asked for. */
static pthread_mutex_t parse_mu = PTHREAD_MUTEX_INITIALIZER;

static int load(tp_svc_t *s, const char *key_pem, const char *cert_pem, sy_err_t *err)
{
    if (!key_pem || !*key_pem || !cert_pem || !*cert_pem)
        return sy_err_set(err, SY_E_INTERNAL, 500, "InternalError", "the stored SNS signing key does not load");
    s->key_pem = sy_strdup(key_pem);
    s->cert_pem = sy_strdup(cert_pem);
    return 0;
}

static void parsed(const tp_svc_t *cs)
{
    tp_svc_t *s = (tp_svc_t *)cs; /* filled once, under parse_mu */
    if (!s) return;
    pthread_mutex_lock(&parse_mu);
    if (!s->cert_path && s->cert_pem) {
        unsigned char h[32];
        sy_sha256(s->cert_pem, strlen(s->cert_pem), h);
        char hex[65];
        sy_hex(h, 16, hex);
        s->cert_path = sy_asprintf("%s%s.pem", CERT_PREFIX, hex);
    }
    if (!s->sign_key && s->key_pem) {
        BIO *b = BIO_new_mem_buf(s->key_pem, -1);
        s->sign_key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (!s->sign_key) sy_log(SY_LOG_ERROR, "sns", NULL, "the stored SNS signing key does not load");
        free(s->key_pem);
        s->key_pem = NULL;
    }
    pthread_mutex_unlock(&parse_mu);
}

int tp_sign_start(tp_svc_t *s, sy_err_t *err)
{
    json_t *rows = NULL;
    if (tp_db(s->ctx, err, TP_Q_SIGNING_GET, NULL, &rows) < 0) return SY_E_DB;
    if (!json_array_size(rows)) { /* the first broker of the cluster: make the pair; the first insert wins */
        json_decref(rows);
        rows = NULL;
        char *key = NULL, *cert = NULL, now[24];
        if (generate(&key, &cert, err) < 0) return SY_E_INTERNAL;
        snprintf(now, sizeof now, "%lld", (long long)sy_now_ms());
        const char *p[3] = {key, cert, now};
        int rc = tp_db(s->ctx, err, TP_Q_SIGNING_INSERT, p, NULL);
        free(key);
        free(cert);
        if (rc < 0 || tp_db(s->ctx, err, TP_Q_SIGNING_GET, NULL, &rows) < 0) return SY_E_DB;
        sy_metric_inc("switchyard_sns_signing_keys_generated_total", NULL, 1);
    }
    json_t *r = json_array_get(rows, 0);
    int rc = r ? load(s, sy_json_str(r, "key_pem"), sy_json_str(r, "cert_pem"), err)
               : sy_err_set(err, SY_E_INTERNAL, 500, "InternalError", "no SNS signing key");
    json_decref(rows);
    return rc;
}

void tp_sign_stop(tp_svc_t *s)
{
    EVP_PKEY_free(s->sign_key);
    s->sign_key = NULL;
    free(s->key_pem);
    s->key_pem = NULL;
    free(s->cert_pem);
    free(s->cert_path);
    s->cert_pem = s->cert_path = NULL;
}

char *tp_cert_url(const sy_ctx_t *ctx)
{
    const tp_svc_t *s = tp_svc(ctx);
    parsed(s);
    char *base = tp_base_url(ctx);
    char *u = sy_asprintf("%s%s", base, s && s->cert_path ? s->cert_path : CERT_PREFIX "unavailable.pem");
    free(base);
    return u;
}

static bool add_field(sy_buf_t *b, const json_t *env, const char *name, bool required)
{
    const char *v = sy_json_str(env, name);
    if (!v) return !required;
    sy_buf_printf(b, "%s\n%s\n", name, v);
    return true;
}

char *tp_canonical(const json_t *env)
{
    const char *type = sy_json_str(env, "Type");
    if (!type) return NULL;
    sy_buf_t b;
    sy_buf_init(&b);
    bool ok;
    if (!strcmp(type, "Notification")) {
        ok = add_field(&b, env, "Message", true) && add_field(&b, env, "MessageId", true) &&
             add_field(&b, env, "Subject", false) && add_field(&b, env, "Timestamp", true) &&
             add_field(&b, env, "TopicArn", true) && add_field(&b, env, "Type", true);
    } else if (!strcmp(type, "SubscriptionConfirmation") || !strcmp(type, "UnsubscribeConfirmation")) {
        ok = add_field(&b, env, "Message", true) && add_field(&b, env, "MessageId", true) &&
             add_field(&b, env, "SubscribeURL", true) && add_field(&b, env, "Timestamp", true) &&
             add_field(&b, env, "Token", true) && add_field(&b, env, "TopicArn", true) &&
             add_field(&b, env, "Type", true);
    } else {
        ok = false;
    }
    if (!ok) {
        sy_buf_free(&b);
        return NULL;
    }
    return sy_buf_take(&b);
}

void tp_sign(const sy_ctx_t *ctx, json_t *env, int sigver)
{
    const tp_svc_t *s = tp_svc(ctx);
    parsed(s);
    json_object_set_new(env, "SignatureVersion", json_string(sigver == 2 ? "2" : "1"));
    char *text = tp_canonical(env);
    unsigned char sig[1024];
    size_t len = sizeof sig;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    bool ok = text && s && s->sign_key && m &&
              EVP_DigestSignInit(m, NULL, sigver == 2 ? EVP_sha256() : EVP_sha1(), NULL, s->sign_key) == 1 &&
              EVP_DigestSign(m, sig, &len, (const unsigned char *)text, strlen(text)) == 1;
    EVP_MD_CTX_free(m);
    free(text);
    if (!ok) {
        sy_log(SY_LOG_ERROR, "sns", NULL, "could not sign a message", "type", sy_json_str(env, "Type"));
        json_object_set_new(env, "Signature", json_string(""));
        return;
    }
    char *b64 = sy_base64_encode(sig, len);
    json_object_set_new(env, "Signature", json_string(b64));
    free(b64);
    sy_metric_inc("switchyard_sns_signatures_total", sigver == 2 ? "version=\"2\"" : "version=\"1\"", 1);
}

/* GET <SigningCertURL>: the certificate, to anyone (no SigV4). */
static void cert_route(sy_req_t *req, sy_resp_t *resp, void *udata)
{
    const tp_svc_t *s = tp_svc(udata);
    parsed(s);
    sy_buf_reset(&resp->body);
    if (!s || !s->cert_path || strcmp(req->path, s->cert_path) != 0) {
        resp->status = 404;
        resp->content_type = "text/plain";
        sy_buf_puts(&resp->body, "not found\n");
        return;
    }
    resp->status = 200;
    resp->content_type = "application/x-x509-ca-cert";
    sy_buf_puts(&resp->body, s->cert_pem);
}

void tp_cert_routes(sy_ctx_t *ctx)
{
    sy_http_route_public(CERT_PREFIX, "sns", cert_route, ctx);
}

int tp_sigver(const char *attr)
{
    return attr && !strcmp(attr, "2") ? 2 : 1;
}
