-- Functions (the Lambda API): configuration only; the code is whatever
-- workers announce for the name. Event-source mappings from SQS queues.
CREATE TABLE sy_functions (
    account      text NOT NULL,
    name         text NOT NULL,
    config       jsonb NOT NULL,      -- Timeout, MemorySize, Environment, Description, Handler, Runtime, Role
    reserved     integer,             -- ReservedConcurrentExecutions, NULL: unreserved
    event_config jsonb,               -- PutFunctionEventInvokeConfig, NULL: defaults
    revision     uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    modified_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account, name)
);

CREATE TABLE sy_event_source_mappings (
    uuid            uuid PRIMARY KEY,
    account         text NOT NULL,
    function_name   text NOT NULL,
    source_arn      text NOT NULL,
    batch_size      integer NOT NULL,
    window_s        integer NOT NULL DEFAULT 0,
    enabled         boolean NOT NULL DEFAULT true,
    response_types  jsonb NOT NULL DEFAULT '[]',
    max_concurrency integer,          -- ScalingConfig.MaximumConcurrency
    modified_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sy_esm_function ON sy_event_source_mappings (account, function_name);
