-- SNS message signing and unsubscribe confirmations (issue 12).
-- One RSA key pair and its self-signed certificate per cluster: the first
-- broker to start generates them (OpenSSL) and inserts the one row; every
-- broker signs with it and serves the certificate at SigningCertURL.
CREATE TABLE sy_topic_signing (
    id         int PRIMARY KEY CHECK (id = 1),
    key_pem    text NOT NULL,
    cert_pem   text NOT NULL,
    created_ms bigint NOT NULL
);

-- An HTTP(S) subscription removed by Unsubscribe, kept so that the
-- SubscribeURL of its UnsubscribeConfirmation can restore it (as on AWS).
CREATE TABLE sy_topic_sub_tombstones (
    token      text PRIMARY KEY,
    topic      text NOT NULL REFERENCES sy_topics (name) ON DELETE CASCADE,
    arn        text NOT NULL,
    protocol   text NOT NULL,
    endpoint   text NOT NULL,
    attrs      jsonb NOT NULL DEFAULT '{}',
    created_ms bigint NOT NULL
);
