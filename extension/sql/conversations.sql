-- Conversations: a person's threads of questions about one dataset, each step stored as a block
-- (question, sql, result, chart, analysis, error). A conversation is its owner's: nobody else
-- sees it, and its owner only while still a member of the dataset's team.

-- The conversation, provided the account owns it and may still use its dataset; an unknown
-- conversation and someone else's look the same.
CREATE FUNCTION _conversation_for(account_id bigint, conversation_id bigint) RETURNS quarry.conversations
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.conversations;
BEGIN
    PERFORM quarry._require(conversation_id, 'conversation_id');
    SELECT c.* INTO v FROM quarry.conversations c
      JOIN quarry.datasets d ON d.id = c.dataset_id
      JOIN quarry.team_members m ON m.team_id = d.team_id AND m.account_id = c.account_id
     WHERE c.id = _conversation_for.conversation_id AND c.account_id = _conversation_for.account_id;
    IF v.id IS NULL THEN
        PERFORM quarry._account(account_id);
        RAISE EXCEPTION 'conversation % does not exist', conversation_id USING ERRCODE = 'undefined_object';
    END IF;
    PERFORM quarry._require_member((SELECT d.team_id FROM quarry.datasets d WHERE d.id = v.dataset_id), account_id);
    RETURN v;
END $$;

-- A title from a question: its first line, at most 120 characters.
CREATE FUNCTION _title(question text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN length(t) > 120 THEN left(t, 119) || '…' ELSE t END
      FROM (SELECT btrim(split_part(btrim(question), E'\n', 1)) AS t) x
$$;

-- Starts a conversation about a dataset; its title comes from the first question.
CREATE FUNCTION start_conversation(account_id bigint, dataset_id bigint, title text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.datasets := quarry._dataset_for(dataset_id, account_id);
    v_id bigint;
BEGIN
    INSERT INTO quarry.conversations AS c (dataset_id, account_id, title)
    VALUES (v.id, start_conversation.account_id, quarry._text_arg(quarry._title(title), 'title', 1, 300))
    RETURNING id INTO v_id;
    RETURN v_id;
END $$;

-- Appends a block to a conversation and returns its sequence number.
CREATE FUNCTION add_block(account_id bigint, conversation_id bigint, kind text, content jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.conversations := quarry._conversation_for(account_id, conversation_id);
    v_seq integer;
BEGIN
    IF kind IS NULL OR kind NOT IN ('question', 'sql', 'result', 'chart', 'analysis', 'error') THEN
        RAISE EXCEPTION 'a block is a question, sql, result, chart, analysis or error, not %', coalesce(quote_literal(kind), 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    ELSIF content IS NULL OR jsonb_typeof(content) <> 'object' THEN
        RAISE EXCEPTION 'block content must be a JSON object' USING ERRCODE = 'invalid_parameter_value';
    ELSIF pg_column_size(content) > 4 * 1024 * 1024 THEN
        RAISE EXCEPTION 'block content is larger than 4 MB' USING ERRCODE = 'program_limit_exceeded';
    END IF;
    -- Blocks of one conversation are numbered in order even when two arrive at once.
    PERFORM 1 FROM quarry.conversations c WHERE c.id = v.id FOR UPDATE;
    SELECT coalesce(max(b.seq), 0) + 1 INTO v_seq FROM quarry.conversation_blocks b WHERE b.conversation_id = v.id;
    INSERT INTO quarry.conversation_blocks (conversation_id, seq, kind, content) VALUES (v.id, v_seq, add_block.kind, content);
    UPDATE quarry.conversations c SET updated_at = now() WHERE c.id = v.id;
    RETURN v_seq;
END $$;

-- An account's conversations, newest first, optionally of one dataset, one page at a time.
CREATE FUNCTION list_conversations(account_id bigint, dataset_id bigint DEFAULT NULL,
                                   page_size integer DEFAULT 20, page_offset integer DEFAULT 0) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_result jsonb;
BEGIN
    PERFORM quarry._account(account_id);
    PERFORM quarry._positive(page_size, 'page_size', 200);
    IF page_offset IS NULL OR page_offset < 0 THEN
        RAISE EXCEPTION 'page_offset must be zero or more' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF list_conversations.dataset_id IS NOT NULL THEN
        PERFORM quarry._dataset_for(list_conversations.dataset_id, account_id);
    END IF;
    WITH mine AS (
        SELECT c.*, d.name AS dataset_name, count(*) OVER () AS total
          FROM quarry.conversations c
          JOIN quarry.datasets d ON d.id = c.dataset_id
          JOIN quarry.team_members m ON m.team_id = d.team_id AND m.account_id = c.account_id
         WHERE c.account_id = list_conversations.account_id
           AND (list_conversations.dataset_id IS NULL OR c.dataset_id = list_conversations.dataset_id)
         ORDER BY c.updated_at DESC, c.id DESC
         LIMIT page_size OFFSET page_offset)
    SELECT jsonb_build_object(
               'conversations', coalesce(jsonb_agg(jsonb_build_object(
                   'id', m.id, 'title', m.title,
                   'dataset', jsonb_build_object('id', m.dataset_id, 'name', m.dataset_name),
                   'created_at', m.created_at, 'updated_at', m.updated_at,
                   'questions', (SELECT count(*) FROM quarry.conversation_blocks b WHERE b.conversation_id = m.id AND b.kind = 'question'),
                   'blocks', (SELECT count(*) FROM quarry.conversation_blocks b WHERE b.conversation_id = m.id))
                   ORDER BY m.updated_at DESC, m.id DESC), '[]'),
               'total', coalesce(max(m.total), 0),
               'page_offset', page_offset, 'page_size', page_size)
      INTO v_result FROM mine m;
    IF (v_result->>'total')::bigint = 0 AND page_offset > 0 THEN
        v_result := jsonb_set(v_result, '{total}', to_jsonb((
            SELECT count(*) FROM quarry.conversations c
              JOIN quarry.datasets d ON d.id = c.dataset_id
              JOIN quarry.team_members m ON m.team_id = d.team_id AND m.account_id = c.account_id
             WHERE c.account_id = list_conversations.account_id
               AND (list_conversations.dataset_id IS NULL OR c.dataset_id = list_conversations.dataset_id))));
    END IF;
    RETURN v_result;
END $$;

-- One conversation with all its blocks, in order.
CREATE FUNCTION get_conversation(account_id bigint, conversation_id bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.conversations := quarry._conversation_for(account_id, conversation_id);
BEGIN
    RETURN jsonb_build_object(
        'id', v.id, 'title', v.title,
        'dataset', (SELECT jsonb_build_object('id', d.id, 'name', d.name) FROM quarry.datasets d WHERE d.id = v.dataset_id),
        'created_at', v.created_at, 'updated_at', v.updated_at,
        'blocks', coalesce((SELECT jsonb_agg(jsonb_build_object('seq', b.seq, 'kind', b.kind, 'content', b.content,
                                                                'created_at', b.created_at) ORDER BY b.seq)
                              FROM quarry.conversation_blocks b WHERE b.conversation_id = v.id), '[]'));
END $$;

CREATE FUNCTION rename_conversation(account_id bigint, conversation_id bigint, title text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.conversations := quarry._conversation_for(account_id, conversation_id);
BEGIN
    UPDATE quarry.conversations c SET title = quarry._text_arg(rename_conversation.title, 'title', 1, 300), updated_at = now()
     WHERE c.id = v.id;
END $$;

-- Deletes a conversation with its blocks; pins made from it stay on their dashboards.
CREATE FUNCTION delete_conversation(account_id bigint, conversation_id bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.conversations := quarry._conversation_for(account_id, conversation_id);
BEGIN
    DELETE FROM quarry.conversations c WHERE c.id = v.id;
END $$;

-- What answering a follow-up needs: the conversation's dataset and its latest questions with the
-- SQL that answered each (if any), oldest first.
CREATE FUNCTION conversation_history(account_id bigint, conversation_id bigint, max_turns integer DEFAULT 5)
RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v quarry.conversations := quarry._conversation_for(account_id, conversation_id);
BEGIN
    RETURN jsonb_build_object('conversation_id', v.id, 'dataset_id', v.dataset_id, 'turns', coalesce((
        SELECT jsonb_agg(jsonb_build_object('question', q.content->>'text', 'sql', s.content->>'sql',
                                              'semantic_query', s.content->'semantic_query') ORDER BY q.seq)
          FROM (SELECT b.* FROM quarry.conversation_blocks b
                 WHERE b.conversation_id = v.id AND b.kind = 'question'
                 ORDER BY b.seq DESC LIMIT greatest(1, least(coalesce(max_turns, 5), 20))) q
          LEFT JOIN LATERAL (
                SELECT b.content FROM quarry.conversation_blocks b
                 WHERE b.conversation_id = v.id AND b.kind = 'sql' AND b.seq > q.seq
                   AND NOT EXISTS (SELECT 1 FROM quarry.conversation_blocks n
                                    WHERE n.conversation_id = v.id AND n.kind = 'question' AND n.seq > q.seq AND n.seq < b.seq)
                 ORDER BY b.seq DESC LIMIT 1) s ON true), '[]'));
END $$;
