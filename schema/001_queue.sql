-- The queue store: the one durable primitive (SQS queues and every internal queue).
CREATE TABLE sy_queues (
    id            bigserial PRIMARY KEY,
    account       text NOT NULL,
    name          text NOT NULL,
    fifo          boolean NOT NULL,
    attrs         jsonb NOT NULL,              -- settable attributes, values as strings
    retention_s   integer NOT NULL DEFAULT 345600,
    tags          jsonb NOT NULL DEFAULT '{}',
    permissions   jsonb NOT NULL DEFAULT '{}',  -- AddPermission statements by label
    internal      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    modified_at   timestamptz NOT NULL DEFAULT now(),
    purged_at     timestamptz,
    UNIQUE (account, name)
);

CREATE TABLE sy_messages (
    id               bigserial PRIMARY KEY,     -- also the FIFO SequenceNumber
    queue_id         bigint NOT NULL,
    visible_at       timestamptz NOT NULL,
    sent_at          timestamptz NOT NULL DEFAULT now(),
    receive_count    integer NOT NULL DEFAULT 0,
    first_receive_at timestamptz,
    receipt          text,                      -- token of the current lease
    msg_uuid         uuid NOT NULL,
    group_id         text,
    dedup_id         text,
    sender_id        text,
    source_queue_id  bigint,                    -- set when moved to a dead-letter queue
    md5_body         text NOT NULL,
    md5_attrs        text,
    attrs            jsonb,                     -- message attributes
    sys_attrs        jsonb,                     -- AWSTraceHeader
    body             text NOT NULL
);
CREATE INDEX sy_messages_ready ON sy_messages (queue_id, visible_at, id);
CREATE INDEX sy_messages_group ON sy_messages (queue_id, group_id, id) WHERE group_id IS NOT NULL;
ALTER TABLE sy_messages SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_cost_delay = 0,
                             fillfactor = 90);

-- FIFO exactly-once window (5 minutes).
CREATE TABLE sy_dedup (
    queue_id     bigint NOT NULL,
    dedup_key    text NOT NULL,
    message_uuid uuid NOT NULL,
    seq          bigint NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (queue_id, dedup_key)
);

-- StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask.
CREATE TABLE sy_move_tasks (
    handle          text PRIMARY KEY,
    source_queue_id bigint NOT NULL,
    source_arn      text NOT NULL,
    dest_arn        text,
    max_per_second  integer,
    status          text NOT NULL,             -- RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED
    moved           bigint NOT NULL DEFAULT 0,
    to_move         bigint NOT NULL DEFAULT 0,
    failure_reason  text,
    started_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sy_move_tasks_source ON sy_move_tasks (source_queue_id, started_at DESC);
