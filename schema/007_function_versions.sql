-- Versions and aliases of functions (issue 12). A version is a frozen copy
-- of the function's configuration ($LATEST) when it was published; numbers
-- are never reused (sy_functions.last_version). An alias names a version
-- ("$LATEST" allowed) and may send a share of invocations to one more
-- version (RoutingConfig.AdditionalVersionWeights).
ALTER TABLE sy_functions ADD COLUMN last_version integer NOT NULL DEFAULT 0;

CREATE TABLE sy_function_versions (
    account     text NOT NULL,
    name        text NOT NULL,
    version     integer NOT NULL,
    config      jsonb NOT NULL,
    description text NOT NULL DEFAULT '',
    revision    uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account, name, version),
    FOREIGN KEY (account, name) REFERENCES sy_functions (account, name) ON DELETE CASCADE
);

CREATE TABLE sy_function_aliases (
    account     text NOT NULL,
    name        text NOT NULL,
    alias       text NOT NULL,
    version     text NOT NULL,          -- a version number or '$LATEST'
    description text NOT NULL DEFAULT '',
    routing     jsonb,                  -- {"AdditionalVersionWeights": {"N": w}} or NULL
    revision    uuid NOT NULL,
    PRIMARY KEY (account, name, alias),
    FOREIGN KEY (account, name) REFERENCES sy_functions (account, name) ON DELETE CASCADE
);

-- An event-source mapping may name a version or an alias of its function.
ALTER TABLE sy_event_source_mappings ADD COLUMN qualifier text;
