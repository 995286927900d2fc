/* topic/envelope.c - what subscribers receive: the JSON notification
 * envelope (SQS, HTTP), the Lambda event record */
#include "topic/internal.h"

#include <stdlib.h>
#include <string.h>

char *tp_base_url(const sy_ctx_t *ctx)
{
    if (ctx->cfg.public_url) return sy_strdup(ctx->cfg.public_url);
    return sy_asprintf("http://%s", ctx->cfg.listen);
}

json_t *tp_attrs_envelope(const json_t *attrs)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)attrs, k, v)
    {
        const char *type = sy_json_str(v, "DataType");
        const char *val = sy_json_str(v, "StringValue");
        if (!val) val = sy_json_str(v, "BinaryValue");
        json_object_set_new(o, k, json_pack("{s:s,s:s}", "Type", type ? type : "String", "Value", val ? val : ""));
    }
    return o;
}

void tp_sig_clear(tp_sig_t *c)
{
    free(c->msg);
    free(c->sig);
    memset(c, 0, sizeof *c);
}

static json_t *envelope_common(const sy_ctx_t *ctx, const char *type, const char *message_id, const char *topic_arn,
                               const char *subject, const char *message, const tp_sig_t *sig)
{
    char ts[32];
    if (sig && sig->ts[0])
        snprintf(ts, sizeof ts, "%s", sig->ts);
    else
        sy_iso8601_ms(sy_now_ms(), ts);
    json_t *o = json_object();
    json_object_set_new(o, "Type", json_string(type));
    json_object_set_new(o, "MessageId", json_string(message_id));
    json_object_set_new(o, "TopicArn", json_string(topic_arn));
    if (subject) json_object_set_new(o, "Subject", json_string(subject));
    json_object_set_new(o, "Message", json_string(message));
    json_object_set_new(o, "Timestamp", json_string(ts));
    (void)ctx;
    return o;
}

/* Sign o (a Notification of `message`), or copy the publish's signature. */
static void sign_cached(const sy_ctx_t *ctx, json_t *o, const char *message, int sigver, tp_sig_t *sig)
{
    if (sig && sig->sig && sig->ver == sigver && sig->msg && !strcmp(sig->msg, message) &&
        !strcmp(sig->ts, sy_json_str(o, "Timestamp")) && !strcmp(sig->mid, sy_json_str(o, "MessageId"))) {
        json_object_set_new(o, "SignatureVersion", json_string(sigver == 2 ? "2" : "1"));
        json_object_set_new(o, "Signature", json_string(sig->sig));
        return;
    }
    tp_sign(ctx, o, sigver);
    if (!sig) return;
    tp_sig_clear(sig);
    sig->ver = sigver;
    snprintf(sig->ts, sizeof sig->ts, "%s", sy_json_str(o, "Timestamp"));
    snprintf(sig->mid, sizeof sig->mid, "%s", sy_json_str(o, "MessageId"));
    sig->msg = sy_strdup(message);
    sig->sig = sy_strdup(sy_json_str(o, "Signature"));
}

void tp_presign(tp_svc_t *s, tp_msg_t *m)
{
    if (!m->message_id[0]) sy_uuid4(m->message_id);
    int ver = 1;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < TP_SIGVER_SLOTS; i++)
        if (!strcmp(s->sigvers[i].arn, m->topic_arn)) ver = s->sigvers[i].ver;
    pthread_mutex_unlock(&s->mu);
    char *msg = tp_message_for(m, "default");
    json_t *o = envelope_common(s->ctx, "Notification", m->message_id, m->topic_arn, m->subject, msg, NULL);
    sign_cached(s->ctx, o, msg, ver, &m->sig);
    json_decref(o);
    free(msg);
}

void tp_sigver_remember(tp_svc_t *s, const char *topic_arn, int ver)
{
    if (strlen(topic_arn) >= sizeof s->sigvers[0].arn) return;
    unsigned h = 5381;
    for (const char *p = topic_arn; *p; p++) h = h * 33 + (unsigned char)*p;
    pthread_mutex_lock(&s->mu);
    int i = (int)(h % TP_SIGVER_SLOTS);
    snprintf(s->sigvers[i].arn, sizeof s->sigvers[i].arn, "%s", topic_arn);
    s->sigvers[i].ver = ver;
    pthread_mutex_unlock(&s->mu);
}

char *tp_envelope(const sy_ctx_t *ctx, const char *type, const char *message_id, const char *topic_arn,
                  const char *sub_arn, const char *subject, const char *message, const json_t *attrs, const char *seq,
                  int sigver, tp_sig_t *sig)
{
    json_t *o = envelope_common(ctx, type, message_id, topic_arn, subject, message, sig);
    if (seq && *seq) json_object_set_new(o, "SequenceNumber", json_string(seq));
    sign_cached(ctx, o, message, sigver, sig);
    char *base = tp_base_url(ctx);
    char *cert = tp_cert_url(ctx);
    json_object_set_new(o, "SigningCertURL", json_string(cert));
    char *unsub = sy_asprintf("%s/?Action=Unsubscribe&Version=2010-03-31&SubscriptionArn=%s", base, sub_arn);
    json_object_set_new(o, "UnsubscribeURL", json_string(unsub));
    if (attrs && json_object_size(attrs)) json_object_set_new(o, "MessageAttributes", tp_attrs_envelope(attrs));
    char *s = sy_json_dumps(o);
    json_decref(o);
    free(unsub);
    free(cert);
    free(base);
    return s;
}

char *tp_lambda_event(const sy_ctx_t *ctx, const char *message_id, const char *topic_arn, const char *sub_arn,
                      const char *subject, const char *message, const json_t *attrs, int sigver, tp_sig_t *sig)
{
    json_t *sns = envelope_common(ctx, "Notification", message_id, topic_arn, subject, message, sig);
    sign_cached(ctx, sns, message, sigver, sig); /* over the Notification fields, before Subject becomes null */
    if (!subject) json_object_set_new(sns, "Subject", json_null());
    char *base = tp_base_url(ctx);
    char *cert = tp_cert_url(ctx);
    char *unsub = sy_asprintf("%s/?Action=Unsubscribe&Version=2010-03-31&SubscriptionArn=%s", base, sub_arn);
    json_object_set_new(sns, "SigningCertUrl", json_string(cert));
    json_object_set_new(sns, "UnsubscribeUrl", json_string(unsub));
    json_object_set_new(sns, "MessageAttributes", attrs ? tp_attrs_envelope(attrs) : json_object());
    json_t *ev = json_pack("{s:[{s:s,s:s,s:s,s:o}]}", "Records", "EventSource", "aws:sns", "EventVersion", "1.0",
                           "EventSubscriptionArn", sub_arn, "Sns", sns);
    char *s = sy_json_dumps(ev);
    json_decref(ev);
    free(unsub);
    free(cert);
    free(base);
    return s;
}

char *tp_confirmation(const sy_ctx_t *ctx, const char *type, const char *topic_arn, const char *sub_arn,
                      const char *token, int sigver, char message_id[37])
{
    sy_uuid4(message_id);
    char *base = tp_base_url(ctx);
    char *url =
        sy_asprintf("%s/?Action=ConfirmSubscription&Version=2010-03-31&TopicArn=%s&Token=%s", base, topic_arn, token);
    char ts[32];
    sy_iso8601_ms(sy_now_ms(), ts);
    bool unsub = !strcmp(type, "UnsubscribeConfirmation");
    char *msg = unsub ? sy_asprintf("You have chosen to deactivate subscription %s.\nTo cancel this operation and "
                                    "restore the subscription, visit the SubscribeURL included in this message.",
                                    sub_arn)
                      : sy_asprintf("You have chosen to subscribe to the topic %s.\nTo confirm the subscription, "
                                    "visit the SubscribeURL included in this message.",
                                    topic_arn);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "Type", type, "MessageId", message_id, "Token", token,
                          "TopicArn", topic_arn, "Message", msg, "SubscribeURL", url, "Timestamp", ts);
    tp_sign(ctx, o, sigver);
    char *cert = tp_cert_url(ctx);
    json_object_set_new(o, "SigningCertURL", json_string(cert));
    char *s = sy_json_dumps(o);
    json_decref(o);
    free(cert);
    free(msg);
    free(url);
    free(base);
    return s;
}
