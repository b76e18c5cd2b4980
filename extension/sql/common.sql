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
