-- What the question pipeline asks of the extension besides the catalog and the executor: whether
-- SQL would be accepted, and what a dataset says about itself to whoever writes its SQL.

-- NULL when Quarry would run `sql` (exactly one plain query that only reads), otherwise the reason.
-- It is the check quarry.execute_as applies before running anything, offered on its own so that a
-- model can be told what to change, and so a DBA can try SQL before pinning it.
CREATE FUNCTION check_query(sql text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM quarry._check_query(sql);
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLERRM;
END $$;

-- A dataset as the question pipeline reads it: its limits and search path (dataset_runtime), its
-- description, glossary and example questions.
CREATE FUNCTION question_context(account_id bigint, dataset_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.datasets := quarry._dataset_for(dataset_id, account_id);
BEGIN
    RETURN quarry.dataset_runtime(account_id, v.id) || jsonb_build_object(
        'description', v.description,
        'glossary', quarry._glossary_json(v.id),
        'examples', quarry._examples_json(v.id));
END $$;
