-- SNS: topics and subscriptions. A publish writes its deliveries (SQS
-- subscribers' queues, function invocations, the internal HTTP delivery
-- queue __sns_http) in its own transaction; nothing else is stored per
-- message. A topic's version is bumped in the transaction of every change
-- to its subscriptions, so every broker rebuilds its filter matcher.

CREATE TABLE sy_topics (
    name       text PRIMARY KEY,
    arn        text NOT NULL UNIQUE,
    attrs      jsonb NOT NULL DEFAULT '{}',
    tags       jsonb NOT NULL DEFAULT '{}',
    version    bigint NOT NULL DEFAULT 1,
    created_ms bigint NOT NULL
);

CREATE TABLE sy_topic_subs (
    arn        text PRIMARY KEY,
    topic      text NOT NULL REFERENCES sy_topics (name) ON DELETE CASCADE,
    protocol   text NOT NULL,
    endpoint   text NOT NULL,
    attrs      jsonb NOT NULL DEFAULT '{}',
    confirmed  boolean NOT NULL,
    token      text,
    created_ms bigint NOT NULL,
    UNIQUE (topic, protocol, endpoint)
);
CREATE INDEX sy_topic_subs_token ON sy_topic_subs (token) WHERE token IS NOT NULL;
