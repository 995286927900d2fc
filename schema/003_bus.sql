-- EventBridge: buses, rules, targets, schedules, archives, replays,
-- connections and API destinations. Event deliveries are queue messages
-- (SQS targets' own queues, or the internal queue __eb_deliver).

-- Rules version: bumped in the transaction of every rule/target/archive
-- change; brokers compare it once per group-commit batch of PutEvents.
CREATE TABLE sy_eb_meta (
    id      integer PRIMARY KEY,
    version bigint NOT NULL
);
INSERT INTO sy_eb_meta VALUES (1, 1);

CREATE TABLE sy_eb_buses (
    name        text PRIMARY KEY,
    arn         text NOT NULL,
    description text,
    policy      jsonb NOT NULL DEFAULT '{}',  -- PutPermission statements by StatementId
    tags        jsonb NOT NULL DEFAULT '{}',
    created_ms  bigint NOT NULL
);

CREATE TABLE sy_eb_rules (
    bus         text NOT NULL,
    name        text NOT NULL,
    arn         text NOT NULL UNIQUE,
    pattern     text,
    schedule    text,
    state       text NOT NULL,               -- ENABLED | DISABLED
    description text,
    role_arn    text,
    tags        jsonb NOT NULL DEFAULT '{}',
    created_ms  bigint NOT NULL,
    PRIMARY KEY (bus, name)
);

CREATE TABLE sy_eb_targets (
    bus   text NOT NULL,
    rule  text NOT NULL,
    id    text NOT NULL,
    arn   text NOT NULL,
    spec  jsonb NOT NULL,                    -- the Target structure as given
    PRIMARY KEY (bus, rule, id)
);
CREATE INDEX sy_eb_targets_arn ON sy_eb_targets (arn);

-- Durable timers of scheduled rules: one row per rule, claimed with SKIP LOCKED.
CREATE TABLE sy_eb_schedules (
    rule_arn text PRIMARY KEY,
    expr     text NOT NULL,
    next_ms  bigint NOT NULL
);
CREATE INDEX sy_eb_schedules_next ON sy_eb_schedules (next_ms);

CREATE TABLE sy_eb_archives (
    name           text PRIMARY KEY,
    arn            text NOT NULL,
    bus_arn        text NOT NULL,
    bus            text NOT NULL,
    pattern        text,
    description    text,
    retention_days integer NOT NULL DEFAULT 0,
    state          text NOT NULL,
    created_ms     bigint NOT NULL
);

CREATE TABLE sy_eb_archive_events (
    archive  text NOT NULL,
    seq      bigserial,
    time_ms  bigint NOT NULL,
    event    text NOT NULL,
    PRIMARY KEY (archive, seq)
);
CREATE INDEX sy_eb_archive_events_time ON sy_eb_archive_events (archive, time_ms);

CREATE TABLE sy_eb_replays (
    name        text PRIMARY KEY,
    arn         text NOT NULL,
    archive     text NOT NULL,
    archive_arn text NOT NULL,
    description text,
    destination jsonb NOT NULL,
    start_ms    bigint NOT NULL,
    end_ms      bigint NOT NULL,
    state       text NOT NULL,               -- STARTING RUNNING CANCELLING COMPLETED CANCELLED FAILED
    reason      text,
    created_ms  bigint NOT NULL,
    began_ms    bigint,
    ended_ms    bigint,
    last_ms     bigint
);

CREATE TABLE sy_eb_connections (
    name        text PRIMARY KEY,
    arn         text NOT NULL,
    description text,
    auth_type   text NOT NULL,
    auth        jsonb NOT NULL,
    state       text NOT NULL,
    created_ms  bigint NOT NULL,
    updated_ms  bigint NOT NULL
);

CREATE TABLE sy_eb_destinations (
    name           text PRIMARY KEY,
    arn            text NOT NULL,
    description    text,
    connection_arn text NOT NULL,
    endpoint       text NOT NULL,
    method         text NOT NULL,
    rate           integer NOT NULL DEFAULT 300,
    created_ms     bigint NOT NULL,
    updated_ms     bigint NOT NULL
);
