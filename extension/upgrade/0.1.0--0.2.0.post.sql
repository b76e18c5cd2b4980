-- Data, 0.1.0 to 0.2.0, once the 0.2.0 functions exist: written by hand, the last part of
-- quarry--0.1.0--0.2.0.sql before the service roles are granted again.

-- 0.2.0 derives a dataset's semantic model from the catalog when the dataset is created or its
-- sources change; datasets made in 0.1.0 get theirs now, as if created in 0.2.0.
SELECT _derive_semantic_model(d.id) FROM datasets d ORDER BY d.id;
