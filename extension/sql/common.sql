-- Small helpers shared by the API. Names starting with an underscore are internal: they are never
-- granted to anyone and carry no stability promise.

-- Raises a clear null_value_not_allowed error when a required argument is missing.
CREATE FUNCTION _require(value anyelement, argument text) RETURNS anyelement
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be null', argument USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN value;
END $$;

-- Trims a piece of free text and checks its length; raises invalid_parameter_value otherwise.
CREATE FUNCTION _text_arg(value text, argument text, min_len integer, max_len integer) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v text := btrim(quarry._require(value, argument));
BEGIN
    IF length(v) < min_len THEN
        RAISE EXCEPTION '% must not be empty', argument USING ERRCODE = 'invalid_parameter_value';
    ELSIF length(v) > max_len THEN
        RAISE EXCEPTION '% is too long (at most % characters)', argument, max_len
            USING ERRCODE = 'string_data_right_truncation';
    END IF;
    RETURN v;
END $$;

-- The installed version of the extension, for health checks and clients.
CREATE FUNCTION version() RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'quarry'
$$;

-- Checks that a count-like argument lies in 1..max_value; raises invalid_parameter_value otherwise.
CREATE FUNCTION _positive(value integer, argument text, max_value integer, nullable boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF value IS NULL THEN
        IF nullable THEN RETURN NULL; END IF;
        RAISE EXCEPTION '% must not be null', argument USING ERRCODE = 'null_value_not_allowed';
    ELSIF value < 1 OR value > max_value THEN
        RAISE EXCEPTION '% must be between 1 and %, not %', argument, max_value, value
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN value;
END $$;

-- Counts one attempt against a key allowed max_count attempts per period, and returns the seconds
-- until the period ends when this attempt is one too many (NULL when it is allowed). Used where
-- every attempt counts, not only failures (client registration).
CREATE FUNCTION _rate_limit(key text, max_count integer, period interval) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v quarry.sign_in_throttle;
BEGIN
    IF max_count IS NULL OR max_count < 1 THEN
        RAISE EXCEPTION 'a rate limit must allow at least one attempt' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO quarry.sign_in_throttle AS t (key, failures, window_started_at)
    VALUES (_rate_limit.key, 1, now())
    ON CONFLICT ON CONSTRAINT sign_in_throttle_pkey DO UPDATE
       SET failures = CASE WHEN t.window_started_at < now() - period THEN 1 ELSE t.failures + 1 END,
           window_started_at = CASE WHEN t.window_started_at < now() - period THEN now() ELSE t.window_started_at END
    RETURNING t.* INTO v;
    IF v.failures > max_count THEN
        RETURN greatest(1, ceil(extract(epoch FROM v.window_started_at + period - now())))::integer;
    END IF;
    RETURN NULL;
END $$;
