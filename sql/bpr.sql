-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION bpr" to load this file. \quit

-- Model registry: one row per trained version; at most one active version per model
CREATE TABLE @extschema@.models (
	model text NOT NULL,
	version integer NOT NULL CHECK (version > 0),
	created timestamptz NOT NULL DEFAULT now(),
	active boolean NOT NULL DEFAULT false,
	ratings regclass NOT NULL,
	users regclass,
	items regclass,
	user_column text NOT NULL,
	item_column text NOT NULL,
	rating_column text,
	vector_width integer NOT NULL,
	hyperparameters jsonb NOT NULL,
	data jsonb NOT NULL,
	epochs integer NOT NULL,
	triplets bigint NOT NULL,
	final_loss double precision,
	seconds double precision NOT NULL,
	metrics jsonb,
	PRIMARY KEY (model, version)
);
CREATE UNIQUE INDEX models_one_active ON @extschema@.models (model) WHERE active;
COMMENT ON TABLE @extschema@.models IS 'bpr model registry: one row per trained version';

-- Feature encodings: one row per input field of a tower
CREATE TABLE @extschema@.features (
	model text NOT NULL,
	version integer NOT NULL,
	tower text NOT NULL CHECK (tower IN ('user', 'item')),
	position integer NOT NULL,
	column_name text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('numeric', 'categorical', 'multi')),
	mean double precision,
	scale double precision,
	vocabulary text[],
	PRIMARY KEY (model, version, tower, position),
	FOREIGN KEY (model, version) REFERENCES @extschema@.models ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.features IS 'bpr feature encodings (standardisation and vocabularies) of each model version';

-- Tower parameters: small tensors, split in chunks of rows
CREATE TABLE @extschema@.parameters (
	model text NOT NULL,
	version integer NOT NULL,
	tower text NOT NULL CHECK (tower IN ('user', 'item')),
	tensor text NOT NULL,
	first_row integer NOT NULL,
	n_rows integer NOT NULL,
	n_cols integer NOT NULL,
	value real[] NOT NULL,
	PRIMARY KEY (model, version, tower, tensor, first_row),
	FOREIGN KEY (model, version) REFERENCES @extschema@.models ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.parameters IS 'bpr tower weights (for cold-start scoring from features)';

-- Tower outputs of every user and item seen in training
CREATE TABLE @extschema@.embeddings (
	model text NOT NULL,
	version integer NOT NULL,
	side text NOT NULL CHECK (side IN ('user', 'item')),
	id bigint NOT NULL,
	vector real[] NOT NULL,
	PRIMARY KEY (model, version, side, id),
	FOREIGN KEY (model, version) REFERENCES @extschema@.models ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.embeddings IS 'bpr embeddings: score(user, item) = dot(user vector, item vector)';

-- Per-epoch training log (learning curve)
CREATE TABLE @extschema@.training_log (
	model text NOT NULL,
	version integer NOT NULL,
	epoch integer NOT NULL,
	loss double precision NOT NULL,
	seconds double precision NOT NULL,
	metrics jsonb,
	PRIMARY KEY (model, version, epoch),
	FOREIGN KEY (model, version) REFERENCES @extschema@.models ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.training_log IS 'bpr per-epoch training loss and validation metrics';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.models', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.features', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.parameters', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.embeddings', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.training_log', '');

COMMENT ON COLUMN @extschema@.models.vector_width IS 'width of the stored vectors: dim, plus the item bias column, plus the score offset column';

-- Any change to the registry invalidates every backend's serving cache
CREATE FUNCTION @extschema@.models_changed() RETURNS trigger
	AS 'MODULE_PATHNAME', 'bpr_models_changed' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.models_changed() IS 'trigger: invalidates every backend''s bpr serving cache when the registry changes';
CREATE TRIGGER models_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
	ON @extschema@.models FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.models_changed();

-- Trains a new version of a model from ratings (and user/item features) and activates it
CREATE FUNCTION @extschema@.bpr_train(
	model text,
	ratings regclass,
	users regclass DEFAULT NULL,
	items regclass DEFAULT NULL,
	user_column text DEFAULT 'user_id',
	item_column text DEFAULT 'item_id',
	rating_column text DEFAULT 'rating',
	user_features text[] DEFAULT NULL,
	item_features text[] DEFAULT NULL,
	categorical text[] DEFAULT NULL,
	preset text DEFAULT 'default',
	dim integer DEFAULT NULL,
	user_layers integer[] DEFAULT NULL,
	item_layers integer[] DEFAULT NULL,
	output text DEFAULT NULL,
	use_ids boolean DEFAULT NULL,
	positive_threshold double precision DEFAULT NULL,
	negative_threshold double precision DEFAULT NULL,
	negatives text DEFAULT NULL,
	hard_negatives text DEFAULT NULL,
	hard_candidates integer DEFAULT NULL,
	epochs integer DEFAULT NULL,
	batch_size integer DEFAULT NULL,
	learning_rate double precision DEFAULT NULL,
	l2 double precision DEFAULT NULL,
	seed bigint DEFAULT NULL,
	validation regclass DEFAULT NULL,
	patience integer DEFAULT NULL,
	rated_share double precision DEFAULT NULL,
	OUT model text, OUT version integer, OUT users bigint, OUT items bigint,
	OUT positives bigint, OUT triplets bigint, OUT epochs integer,
	OUT final_loss double precision, OUT seconds double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'bpr_train' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bpr_train(text, regclass, regclass, regclass, text, text, text, text[], text[], text[], text, integer, integer[], integer[], text, boolean, double precision, double precision, text, text, integer, integer, integer, double precision, double precision, bigint, regclass, integer, double precision) IS
	'trains a new version of a two-tower BPR model from a ratings table (and user and item features) and activates it';

-- Scores one (user, item) pair with the active version of a model
CREATE FUNCTION @extschema@.bpr_score(user_id bigint, item_id bigint, model text DEFAULT NULL)
RETURNS real
AS 'MODULE_PATHNAME', 'bpr_score' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bpr_score(bigint, bigint, text) IS
	'score of a (user, item) pair under the active version of a model; NULL when either is unknown';

-- Exact top-k items for a user, best first
CREATE FUNCTION @extschema@.bpr_recommend(user_id bigint, k integer DEFAULT 10,
	model text DEFAULT NULL, exclude_rated boolean DEFAULT true)
RETURNS TABLE (item_id bigint, score real, rank integer)
AS 'MODULE_PATHNAME', 'bpr_recommend' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.bpr_recommend(bigint, integer, text, boolean) IS
	'exact top-k items for a user under the active version of a model, best first';

-- Ranking quality of a model on a test ratings table (../shared/EVALUATION.md)
CREATE FUNCTION @extschema@.bpr_evaluate(model text, test regclass, k integer DEFAULT 10,
	user_column text DEFAULT NULL, item_column text DEFAULT NULL,
	rating_column text DEFAULT NULL, positive_threshold double precision DEFAULT NULL,
	OUT users bigint, OUT seed_auc double precision, OUT rank_auc double precision,
	OUT precision_at_k double precision, OUT recall_at_k double precision,
	OUT ndcg_at_k double precision, OUT map_at_k double precision,
	OUT coverage_at_k double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'bpr_evaluate' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bpr_evaluate(text, regclass, integer, text, text, text, double precision) IS
	'ranking quality (precision, recall, ndcg, map at k, AUCs, coverage) of a model on a test ratings table';

-- Makes an earlier version of a model the active one
CREATE FUNCTION @extschema@.bpr_activate(model text, version integer)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM 1 FROM @extschema@.models m WHERE m.model = $1 ORDER BY m.version FOR UPDATE;
	IF NOT FOUND OR NOT EXISTS (SELECT 1 FROM @extschema@.models m WHERE m.model = $1 AND m.version = $2) THEN
		RAISE EXCEPTION 'model "%" has no version %', $1, $2 USING ERRCODE = 'undefined_object';
	END IF;
	UPDATE @extschema@.models m SET active = false WHERE m.model = $1 AND m.active AND m.version <> $2;
	UPDATE @extschema@.models m SET active = true WHERE m.model = $1 AND m.version = $2 AND NOT m.active;
END
$$;

COMMENT ON FUNCTION @extschema@.bpr_activate(text, integer) IS
	'makes a stored version of a model the active one';

-- Drops one version of a model, or every version when version is NULL; returns how many
CREATE FUNCTION @extschema@.bpr_drop(model text, version integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	dropped integer;
BEGIN
	IF $1 IS NULL THEN
		RAISE EXCEPTION 'model must not be NULL' USING ERRCODE = 'invalid_parameter_value';
	END IF;
	PERFORM 1 FROM @extschema@.models m WHERE m.model = $1 ORDER BY m.version FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'bpr model "%" does not exist', $1 USING ERRCODE = 'undefined_object';
	END IF;
	IF $2 IS NOT NULL AND EXISTS (SELECT 1 FROM @extschema@.models m
								  WHERE m.model = $1 AND m.version = $2 AND m.active)
	   AND EXISTS (SELECT 1 FROM @extschema@.models m WHERE m.model = $1 AND m.version <> $2) THEN
		RAISE EXCEPTION 'version % is the active version of model "%"', $2, $1
			USING ERRCODE = 'object_in_use',
				  HINT = 'Activate another version with bpr_activate() first, or drop every version.';
	END IF;
	DELETE FROM @extschema@.models m WHERE m.model = $1 AND ($2 IS NULL OR m.version = $2);
	GET DIAGNOSTICS dropped = ROW_COUNT;
	RETURN dropped;
END
$$;
COMMENT ON FUNCTION @extschema@.bpr_drop(text, integer) IS
	'drops one inactive version of a model, or every version when version is NULL; returns how many';
