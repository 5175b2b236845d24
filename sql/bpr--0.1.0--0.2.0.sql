-- bpr 0.1.0 -> 0.2.0
-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bpr UPDATE TO '0.2.0'" to load this file. \quit

-- the registry says what its width column holds: the stored vector width, not dim
ALTER TABLE @extschema@.models RENAME COLUMN dim TO vector_width;
COMMENT ON COLUMN @extschema@.models.vector_width IS 'width of the stored vectors: dim, plus the item bias column, plus the score offset column';

-- implicit-feedback models record no thresholds, and no model records offsets it did not fit
UPDATE @extschema@.models
   SET hyperparameters = hyperparameters ||
       jsonb_build_object('positive_threshold', NULL, 'negative_threshold', NULL)
 WHERE rating_column IS NULL
   AND (hyperparameters->'positive_threshold' <> 'null' OR hyperparameters->'negative_threshold' <> 'null');
UPDATE @extschema@.models
   SET hyperparameters = jsonb_set(hyperparameters, '{calibrate}', 'false')
 WHERE NOT data ? 'cold_user_offset' AND (hyperparameters->>'calibrate')::boolean;

-- every function says what it does (\df+ bpr.*)
COMMENT ON FUNCTION @extschema@.models_changed() IS 'trigger: invalidates every backend''s bpr serving cache when the registry changes';
COMMENT ON FUNCTION @extschema@.bpr_train(text, regclass, regclass, regclass, text, text, text, text[], text[], text[], text, integer, integer[], integer[], text, boolean, double precision, double precision, text, text, integer, integer, integer, double precision, double precision, bigint, regclass, integer, double precision) IS
	'trains a new version of a two-tower BPR model from a ratings table (and user and item features) and activates it';
COMMENT ON FUNCTION @extschema@.bpr_score(bigint, bigint, text) IS
	'score of a (user, item) pair under the active version of a model; NULL when either is unknown';
COMMENT ON FUNCTION @extschema@.bpr_recommend(bigint, integer, text, boolean) IS
	'exact top-k items for a user under the active version of a model, best first';
COMMENT ON FUNCTION @extschema@.bpr_evaluate(text, regclass, integer, text, text, text, double precision) IS
	'ranking quality (precision, recall, ndcg, map at k, AUCs, coverage) of a model on a test ratings table';
COMMENT ON FUNCTION @extschema@.bpr_activate(text, integer) IS
	'makes a stored version of a model the active one';
COMMENT ON FUNCTION @extschema@.bpr_drop(text, integer) IS
	'drops one inactive version of a model, or every version when version is NULL; returns how many';
