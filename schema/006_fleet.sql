-- Many brokers as one service (issue 11). Both tables are UNLOGGED: they
-- hold only what live brokers say about themselves right now (rewritten every
-- heartbeat) and synchronous calls in flight, which die with their callers
-- anyway; a commit that touches only them writes no WAL to flush, so the
-- forward path costs no fsync. After a crash or a failover they are empty
-- and refill within one heartbeat.

-- The registry of live brokers: a row per broker, its heartbeat, and per
-- function its workers, free credit, reserved-concurrency room and running
-- invocations ({"fn": {"w": sessions, "c": credit, "r": room or -1, "s": sync
-- running, "o": async running}}).
CREATE UNLOGGED TABLE sy_brokers (
    id           uuid PRIMARY KEY,
    account      text NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    draining     boolean NOT NULL DEFAULT false,
    functions    jsonb NOT NULL DEFAULT '{}'
);

-- A synchronous invocation one broker hands to another whose workers host
-- the function: inserted with pg_notify('sy_fleet_<target>', 'R <id>'), the
-- target claims it (state new -> running), invokes through its pool and
-- writes the outcome (-> done) with pg_notify('sy_fleet_<origin>', 'D <id>');
-- the origin deletes the row as it reads it. Rows of a vanished origin are
-- removed by any broker once their deadline is a minute old.
CREATE UNLOGGED TABLE sy_fleet_calls (
    id            uuid PRIMARY KEY,              -- chosen by the origin
    origin        uuid NOT NULL,
    target        uuid NOT NULL,
    state         text NOT NULL DEFAULT 'new',   -- new, running, done
    function      text NOT NULL,
    deadline_ms   bigint NOT NULL,
    request_id    text,
    traceparent   text,
    payload       bytea NOT NULL,
    status        integer,                        -- sy_invoke_status_t
    error_type    text,
    error_message text,
    result        bytea,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sy_fleet_calls_deadline ON sy_fleet_calls (deadline_ms);
