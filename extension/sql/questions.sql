-- What the question pipeline asks of the extension besides the catalog and the executor: whether
-- SQL would be accepted, what a dataset says about itself to whoever writes its SQL, and recording
-- a question's steps in one go.

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

-- Records one turn of a conversation in one transaction: starts the conversation (titled after the
-- question) unless one is given, then appends the turn's blocks ([{kind, content}, ...]) in order.
-- Returns the conversation's id.
CREATE FUNCTION save_turn(account_id bigint, dataset_id bigint, conversation_id bigint, title text, blocks jsonb)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint := conversation_id;
    v_block jsonb;
BEGIN
    IF blocks IS NULL OR jsonb_typeof(blocks) <> 'array' THEN
        RAISE EXCEPTION 'blocks must be a JSON array of {kind, content}' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF v_id IS NULL THEN
        v_id := quarry.start_conversation(account_id, dataset_id, title);
    ELSIF (quarry._conversation_for(account_id, v_id)).dataset_id IS DISTINCT FROM dataset_id THEN
        RAISE EXCEPTION 'conversation % is about another dataset', v_id USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR v_block IN SELECT b FROM jsonb_array_elements(blocks) b LOOP
        PERFORM quarry.add_block(account_id, v_id, v_block->>'kind', v_block->'content');
    END LOOP;
    RETURN v_id;
END $$;
