-- Step Functions: state machines, executions (with their checkpoint), history, task tokens.
CREATE TABLE sy_sfn_machines (
    arn         text PRIMARY KEY,
    name        text NOT NULL,
    type        text NOT NULL,               -- STANDARD | EXPRESS
    definition  text NOT NULL,
    role_arn    text NOT NULL,
    extra       jsonb NOT NULL DEFAULT '{}', -- loggingConfiguration, tracingConfiguration, description
    tags        jsonb NOT NULL DEFAULT '{}',
    created_ms  bigint NOT NULL,
    updated_ms  bigint
);

CREATE TABLE sy_sfn_executions (
    arn           text PRIMARY KEY,
    machine_arn   text NOT NULL,
    name          text NOT NULL,
    type          text NOT NULL,
    status        text NOT NULL,               -- RUNNING SUCCEEDED FAILED TIMED_OUT ABORTED
    input         text NOT NULL,
    output        text,
    error         text,
    cause         text,
    definition    text NOT NULL,               -- the definition the execution runs
    role_arn      text NOT NULL,
    state         jsonb,                       -- the interpreter's checkpoint (NULL when finished)
    parent        jsonb,                       -- {"e": arn, "r": req, "m": "sync"|"sync2"} for nested .sync
    start_ms      bigint NOT NULL,
    stop_ms       bigint,
    redrive_count integer NOT NULL DEFAULT 0,
    redrive_ms    bigint,
    seq           bigserial
);
CREATE INDEX sy_sfn_executions_machine ON sy_sfn_executions (machine_arn, seq DESC);

CREATE TABLE sy_sfn_history (
    exec_arn  text NOT NULL,
    id        bigint NOT NULL,
    event     jsonb NOT NULL,
    PRIMARY KEY (exec_arn, id)
);

-- Outstanding callback tasks (.waitForTaskToken), keyed by their token.
CREATE TABLE sy_sfn_tasks (
    token       text PRIMARY KEY,
    exec_arn    text NOT NULL,
    req_id      bigint NOT NULL,
    heartbeat_s bigint NOT NULL DEFAULT 0,
    last_hb_ms  bigint NOT NULL,
    done        boolean NOT NULL DEFAULT false
);
CREATE INDEX sy_sfn_tasks_exec ON sy_sfn_tasks (exec_arn, req_id);
