-- The audit log: one row per tool call and security-relevant event, for DBAs to query.

CREATE FUNCTION audit(
    account_id   bigint,
    client_id    text,
    action       text,
    arguments    jsonb,
    outcome      text,
    duration_ms  double precision,
    error        text DEFAULT NULL,
    question     text DEFAULT NULL,
    sql          text DEFAULT NULL,
    row_count    bigint DEFAULT NULL
) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- (PL/pgSQL, not SQL, so that the INSERT is planned once per connection, not on every call.)
    INSERT INTO quarry.audit_log (account_id, client_id, action, arguments, outcome, duration_ms, error, question, sql, row_count)
    VALUES (audit.account_id, audit.client_id, left(audit.action, 100), coalesce(audit.arguments, '{}'), audit.outcome,
            audit.duration_ms, left(audit.error, 2000), left(audit.question, 2000), left(audit.sql, 20000), audit.row_count);
END $$;
