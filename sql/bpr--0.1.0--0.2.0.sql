-- bpr 0.1.0 -> 0.2.0
-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION bpr UPDATE TO '0.2.0'" to load this file. \quit

-- the registry says what its width column holds: the stored vector width, not dim
ALTER TABLE @extschema@.models RENAME COLUMN dim TO vector_width;
COMMENT ON COLUMN @extschema@.models.vector_width IS 'width of the stored vectors: dim, plus the item bias column, plus the score offset columns (the users'', and the items'' for cold users when the version has them)';

-- implicit-feedback models record no thresholds, and no model records offsets it did not fit
UPDATE @extschema@.models
   SET hyperparameters = hyperparameters ||
       jsonb_build_object('positive_threshold', NULL, 'negative_threshold', NULL)
 WHERE rating_column IS NULL
   AND (hyperparameters->'positive_threshold' <> 'null' OR hyperparameters->'negative_threshold' <> 'null');
UPDATE @extschema@.models
   SET hyperparameters = jsonb_set(hyperparameters, '{calibrate}', 'false')
 WHERE NOT data ? 'cold_user_offset' AND (hyperparameters->>'calibrate')::boolean;

-- models are owned; version numbers are never reused.  Models trained before 0.2 belong
-- to the role that runs the update; hand them over with bpr_set_owner().
CREATE TABLE @extschema@.model_names (
	model text PRIMARY KEY,
	owner regrole NOT NULL,
	last_version integer NOT NULL DEFAULT 0 CHECK (last_version >= 0),
	created timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE @extschema@.model_names IS 'bpr model names: the owner (who may train, activate and drop the model) and the last version number issued';
INSERT INTO @extschema@.model_names (model, owner, last_version, created)
SELECT model, current_user::regrole, max(version), min(created) FROM @extschema@.models GROUP BY model;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_names', '');

-- keys of any type, deployment, fold-in revisions, lock waits
ALTER TABLE @extschema@.models
	ADD COLUMN user_key_type regtype NOT NULL DEFAULT 'bigint',
	ADD COLUMN item_key_type regtype NOT NULL DEFAULT 'bigint',
	ADD COLUMN weight_column text,
	ADD COLUMN revision integer NOT NULL DEFAULT 0,
	ADD COLUMN wait_seconds double precision NOT NULL DEFAULT 0,
	ADD COLUMN deployment jsonb,
	ADD COLUMN ratings_table text,
	ADD COLUMN users_table text,
	ADD COLUMN items_table text,
	ADD CONSTRAINT models_model_fkey FOREIGN KEY (model) REFERENCES @extschema@.model_names (model);
COMMENT ON COLUMN @extschema@.models.revision IS 'bumped by bpr_fold_in, which rewrites vectors of the version in place';
COMMENT ON COLUMN @extschema@.models.wait_seconds IS 'seconds the training waited for another training of the same model (not counted in seconds)';
COMMENT ON COLUMN @extschema@.models.deployment IS 'the activate policy of the training and its outcome';
COMMENT ON COLUMN @extschema@.models.ratings_table IS 'the ratings table by name: serving resolves it on each node (Citus) and after a restore';
COMMENT ON COLUMN @extschema@.models.users_table IS 'the users table by name';
COMMENT ON COLUMN @extschema@.models.items_table IS 'the items table by name';
-- the tables of models trained before, by name (NULL for a table dropped since)
UPDATE @extschema@.models m
   SET ratings_table = (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = m.ratings),
       users_table = (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = m.users),
       items_table = (SELECT format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = m.items);
-- and their owners, by name: serving reads a table found by its name (after a restore, on a
-- Citus worker) only when a role the model trusts owns it, the table's owner at training first
UPDATE @extschema@.models m
   SET data = coalesce(m.data, '{}'::jsonb) || jsonb_build_object('table_owners', jsonb_build_object(
       'ratings', (SELECT r.rolname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
                    WHERE c.oid = m.ratings),
       'users', (SELECT r.rolname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
                  WHERE c.oid = m.users),
       'items', (SELECT r.rolname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
                  WHERE c.oid = m.items)));

ALTER TABLE @extschema@.embeddings
	ADD COLUMN key text COLLATE "C",
	ADD COLUMN cold boolean NOT NULL DEFAULT false,
	ADD COLUMN fingerprint bigint;
CREATE UNIQUE INDEX embeddings_key ON @extschema@.embeddings (model, version, side, key) WHERE key IS NOT NULL;
COMMENT ON COLUMN @extschema@.embeddings.id IS 'the key of an integer-keyed side; else the row number, and key holds the key';
COMMENT ON COLUMN @extschema@.embeddings.key IS 'the text form of a text or uuid key (NULL for integer keys)';
COMMENT ON COLUMN @extschema@.embeddings.cold IS 'an item without interactions, scored from its features';
COMMENT ON COLUMN @extschema@.embeddings.fingerprint IS 'users: a hash of the user''s ratings when the vector was computed (bpr_fold_in)';

-- functions whose arguments or results changed are replaced
DROP FUNCTION @extschema@.bpr_train(text, regclass, regclass, regclass, text, text, text, text[], text[], text[], text, integer, integer[], integer[], text, boolean, double precision, double precision, text, text, integer, integer, integer, double precision, double precision, bigint, regclass, integer, double precision);
DROP FUNCTION @extschema@.bpr_score(bigint, bigint, text);
DROP FUNCTION @extschema@.bpr_recommend(bigint, integer, text, boolean);
DROP FUNCTION @extschema@.bpr_evaluate(text, regclass, integer, text, text, text, double precision);

-- every function says what it does (\df+ bpr.*)
COMMENT ON FUNCTION @extschema@.models_changed() IS 'trigger: invalidates every backend''s bpr serving cache when the registry changes';

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
	activate text DEFAULT 'always',
	keep_versions integer DEFAULT NULL,
	threads integer DEFAULT NULL,
	warm_start boolean DEFAULT false,
	weight_column text DEFAULT NULL,
	OUT model text, OUT version integer, OUT users bigint, OUT items bigint,
	OUT positives bigint, OUT triplets bigint, OUT epochs integer,
	OUT final_loss double precision, OUT seconds double precision, OUT active boolean)
RETURNS record
AS 'MODULE_PATHNAME', 'bpr_train' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bpr_train(text, regclass, regclass, regclass, text, text, text, text[], text[], text[], text, integer, integer[], integer[], text, boolean, double precision, double precision, text, text, integer, integer, integer, double precision, double precision, bigint, regclass, integer, double precision, text, integer, integer, boolean, text) IS
	'trains a new version of a two-tower BPR model from a ratings table (and user and item features) and activates it by its policy';

-- Scores one (user, item) pair with the active version of a model; keys of any supported type
CREATE FUNCTION @extschema@.bpr_score(user_id "any", item_id "any", model text DEFAULT NULL)
RETURNS real
AS 'MODULE_PATHNAME', 'bpr_score' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bpr_score("any", "any", text) IS
	'score of a (user, item) pair under the active version of a model; NULL when either is unknown';

-- Exact top-k items for a user, best first; item keys come back in the user key's type
CREATE FUNCTION @extschema@.bpr_recommend(user_id anycompatible, k integer DEFAULT 10,
	model text DEFAULT NULL, exclude_rated boolean DEFAULT true, items "any" DEFAULT NULL,
	exclude "any" DEFAULT NULL, cold_items boolean DEFAULT true)
RETURNS TABLE (item_id anycompatible, score real, rank integer)
AS 'MODULE_PATHNAME', 'bpr_recommend' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.bpr_recommend(anycompatible, integer, text, boolean, "any", "any", boolean) IS
	'exact top-k items for a user under the active version of a model, best first, optionally among given items only';

-- Items whose embeddings are closest to an item's (cosine over the embedding), best first
CREATE FUNCTION @extschema@.bpr_similar_items(item_key anycompatible, k integer DEFAULT 10,
	model text DEFAULT NULL, items "any" DEFAULT NULL, exclude "any" DEFAULT NULL,
	cold_items boolean DEFAULT true)
RETURNS TABLE (item_id anycompatible, score real, rank integer)
AS 'MODULE_PATHNAME', 'bpr_similar_items' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.bpr_similar_items(anycompatible, integer, text, "any", "any", boolean) IS
	'the k items most similar to an item under the active version of a model (cosine of their embeddings), best first, the item itself left out';

-- Users whose embeddings are closest to a user's (cosine over the embedding), best first
CREATE FUNCTION @extschema@.bpr_similar_users(user_key anycompatible, k integer DEFAULT 10,
	model text DEFAULT NULL, users "any" DEFAULT NULL, exclude "any" DEFAULT NULL)
RETURNS TABLE (user_id anycompatible, score real, rank integer)
AS 'MODULE_PATHNAME', 'bpr_similar_users' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.bpr_similar_users(anycompatible, integer, text, "any", "any") IS
	'the k users most similar to a user under the active version of a model (cosine of their embeddings), best first, the user itself left out';

-- The users most likely to like an item (targeting), best first
CREATE FUNCTION @extschema@.bpr_recommend_users(item_key anycompatible, k integer DEFAULT 10,
	model text DEFAULT NULL, exclude_rated boolean DEFAULT true, users "any" DEFAULT NULL,
	exclude "any" DEFAULT NULL)
RETURNS TABLE (user_id anycompatible, score real, rank integer)
AS 'MODULE_PATHNAME', 'bpr_recommend_users' LANGUAGE C STABLE PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.bpr_recommend_users(anycompatible, integer, text, boolean, "any", "any") IS
	'the k users who score an item highest under the active version of a model, best first, optionally without those who rated it';

-- Recomputes users' vectors from their ratings as they are now, and adds new items, in the active version
CREATE FUNCTION @extschema@.bpr_fold_in(model text, users "any" DEFAULT NULL, steps integer DEFAULT NULL,
	OUT version integer, OUT users bigint, OUT new_users bigint, OUT items bigint,
	OUT seconds double precision, OUT revision integer)
RETURNS record
AS 'MODULE_PATHNAME', 'bpr_fold_in' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.bpr_fold_in(text, "any", integer) IS
	'recomputes, in the active version of a model, the vectors of the given users or of every user whose ratings changed since training, with the items frozen, and gives new items cold vectors (owner only)';

-- Ranking quality of a model version on a test ratings table (../shared/EVALUATION.md)
CREATE FUNCTION @extschema@.bpr_evaluate(model text, test regclass, k integer DEFAULT 10,
	user_column text DEFAULT NULL, item_column text DEFAULT NULL,
	rating_column text DEFAULT NULL, positive_threshold double precision DEFAULT NULL,
	version integer DEFAULT NULL,
	OUT users bigint, OUT seed_auc double precision, OUT rank_auc double precision,
	OUT precision_at_k double precision, OUT recall_at_k double precision,
	OUT ndcg_at_k double precision, OUT map_at_k double precision,
	OUT coverage_at_k double precision)
RETURNS record
AS 'MODULE_PATHNAME', 'bpr_evaluate' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bpr_evaluate(text, regclass, integer, text, text, text, double precision, integer) IS
	'ranking quality (precision, recall, ndcg, map at k, AUCs, coverage) of a model version on a test ratings table';

-- Raises 42501 unless the caller may manage the model (its owner, a member, or a superuser)
CREATE FUNCTION @extschema@.check_owner(model text, action text)
RETURNS void
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	model_owner regrole;
BEGIN
	SELECT n.owner INTO model_owner FROM @extschema@.model_names n WHERE n.model = $1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'bpr model "%" does not exist', $1 USING ERRCODE = 'undefined_object';
	END IF;
	IF NOT pg_has_role(model_owner, 'USAGE') THEN
		RAISE EXCEPTION 'permission denied to % bpr model "%"', $2, $1
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = format('The model is owned by %s.', model_owner);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.check_owner(text, text) IS 'raises 42501 unless the caller owns the model, is a member of its owner, or is a superuser';

-- Makes an earlier version of a model the active one
CREATE OR REPLACE FUNCTION @extschema@.bpr_activate(model text, version integer)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM @extschema@.check_owner($1, 'activate');
	PERFORM 1 FROM @extschema@.models m WHERE m.model = $1 ORDER BY m.version FOR UPDATE;
	IF NOT EXISTS (SELECT 1 FROM @extschema@.models m WHERE m.model = $1 AND m.version = $2) THEN
		RAISE EXCEPTION 'model "%" has no version %', $1, $2 USING ERRCODE = 'undefined_object';
	END IF;
	UPDATE @extschema@.models m SET active = false WHERE m.model = $1 AND m.active AND m.version <> $2;
	UPDATE @extschema@.models m SET active = true WHERE m.model = $1 AND m.version = $2 AND NOT m.active;
END
$$;
COMMENT ON FUNCTION @extschema@.bpr_activate(text, integer) IS
	'makes a stored version of a model the active one (owner only)';

-- Drops one version of a model, or every version when version is NULL; returns how many
CREATE OR REPLACE FUNCTION @extschema@.bpr_drop(model text, version integer DEFAULT NULL)
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
	PERFORM @extschema@.check_owner($1, 'drop');
	PERFORM 1 FROM @extschema@.models m WHERE m.model = $1 ORDER BY m.version FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'bpr model "%" has no versions', $1 USING ERRCODE = 'undefined_object';
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
	'drops one inactive version of a model, or every version when version is NULL (owner only); version numbers are never reused';

-- Hands a model over to another role
CREATE FUNCTION @extschema@.bpr_set_owner(model text, owner regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM @extschema@.check_owner($1, 'change the owner of');
	IF NOT pg_has_role($2, 'MEMBER') THEN
		RAISE EXCEPTION 'must be able to SET ROLE "%" to give it bpr model "%"', $2, $1
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	UPDATE @extschema@.model_names n SET owner = $2 WHERE n.model = $1;
	-- the registry changed hands too: every backend re-reads it
	UPDATE @extschema@.models m SET active = m.active WHERE m.model = $1 AND m.active;
END
$$;
COMMENT ON FUNCTION @extschema@.bpr_set_owner(text, regrole) IS
	'hands a model over to another role (the owner only, and only to a role the caller can SET ROLE to)';

-- Trainings running now, in any session (needs bpr in shared_preload_libraries)
CREATE FUNCTION @extschema@.bpr_training_progress(
	OUT pid integer, OUT model text, OUT role regrole, OUT phase text, OUT epoch integer,
	OUT epochs integer, OUT loss double precision, OUT validation double precision,
	OUT triplets_per_second double precision, OUT started timestamptz,
	OUT seconds double precision, OUT eta_seconds double precision)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bpr_training_progress' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.bpr_training_progress() IS
	'progress of the trainings running now in any session: phase, epoch, loss, validation precision@10, speed, ETA';
CREATE VIEW @extschema@.training_progress AS SELECT * FROM @extschema@.bpr_training_progress();
COMMENT ON VIEW @extschema@.training_progress IS 'bpr trainings running now, in any session';
-- like pg_stat_activity: anyone sees that a training runs; its figures are for its role and pg_read_all_stats
GRANT SELECT ON @extschema@.training_progress TO PUBLIC;

-- The shared copies of models' vectors in this database (with bpr in shared_preload_libraries)
CREATE FUNCTION @extschema@.bpr_shared_models(
	OUT model text, OUT version integer, OUT revision integer, OUT side text, OUT bytes bigint,
	OUT backends integer, OUT state text, OUT superseded boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'bpr_shared_models' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.bpr_shared_models() IS
	'the shared copies of models'' vectors in this database: size and the backends holding each';
CREATE VIEW @extschema@.shared_models AS SELECT * FROM @extschema@.bpr_shared_models();
COMMENT ON VIEW @extschema@.shared_models IS 'bpr vectors held once per server in shared memory';

-- For benchmarks: milliseconds of a plain cblas_sgemv over the item matrix bpr_recommend scans
CREATE FUNCTION @extschema@.bpr_benchmark_sgemv(model text DEFAULT NULL, calls integer DEFAULT 10)
RETURNS double precision
AS 'MODULE_PATHNAME', 'bpr_benchmark_sgemv' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.bpr_benchmark_sgemv(text, integer) IS
	'milliseconds of one plain cblas_sgemv over the model''s item matrix (the bound of bpr_recommend), for benchmarks';

-- Citus (bpr_distribute, bpr_undistribute): bpr's tables that Citus knows, or does not, FK parents first
CREATE FUNCTION @extschema@.citus_tables(distributed boolean, caller text)
RETURNS SETOF regclass
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	coordinator boolean;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = current_user AND r.rolsuper) THEN
		RAISE EXCEPTION '% must be run by a superuser', caller USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_extension e WHERE e.extname = 'citus') THEN
		RAISE EXCEPTION 'extension "citus" is not installed in this database'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = format('%s is for a Citus cluster; on a single server bpr needs nothing more.', caller);
	END IF;
	-- Citus is reached through EXECUTE only: nothing in bpr's install script needs it
	EXECUTE 'SELECT pg_catalog.citus_is_coordinator()' INTO coordinator;
	IF NOT coordinator THEN
		RAISE EXCEPTION '% must be run on the coordinator', caller USING ERRCODE = 'object_not_in_prerequisite_state';
	END IF;
	RETURN QUERY EXECUTE $q$
		WITH RECURSIVE members AS (
			SELECT c.oid FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
			 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
			   AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'bpr')
			   AND d.deptype = 'e' AND c.relkind = 'r'),
		depth (rel, n) AS (
			SELECT m.oid, 0 FROM members m
			UNION ALL
			SELECT k.conrelid, d.n + 1 FROM depth d
			  JOIN pg_constraint k ON k.confrelid = d.rel AND k.contype = 'f' AND k.conrelid <> k.confrelid
			 WHERE k.conrelid IN (SELECT m.oid FROM members m) AND d.n < 100)
		SELECT d.rel::regclass FROM depth d
		 WHERE EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = d.rel) = $1
		 GROUP BY d.rel ORDER BY max(d.n), d.rel::regclass::text$q$ USING distributed;
END
$$;
COMMENT ON FUNCTION @extschema@.citus_tables(boolean, text) IS
	'Citus: bpr''s tables that are (or are not) Citus tables, foreign-key parents first; raises unless a superuser runs it on a Citus coordinator';

-- Citus: runs commands on every worker, in one transaction a worker, without DDL propagation
CREATE FUNCTION @extschema@.citus_on_workers(commands text[])
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	script text := format('DO %L', 'BEGIN PERFORM pg_catalog.set_config(''citus.enable_ddl_propagation'', ''off'', true); '
		|| (SELECT string_agg(format('EXECUTE %L;', c), ' ' ORDER BY n) FROM unnest(commands) WITH ORDINALITY u (c, n))
		|| ' END');
	r record;
BEGIN
	IF cardinality(commands) = 0 THEN
		RETURN;
	END IF;
	FOR r IN EXECUTE 'SELECT nodename, nodeport, result FROM pg_catalog.run_command_on_workers($1) WHERE NOT success'
		USING script LOOP
		RAISE EXCEPTION 'bpr could not prepare worker %:%: %', r.nodename, r.nodeport, r.result
			USING ERRCODE = 'connection_failure';
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.citus_on_workers(text[]) IS
	'Citus: runs commands on every worker (one transaction a worker, DDL not propagated); raises when a worker fails';
REVOKE EXECUTE ON FUNCTION @extschema@.citus_on_workers(text[]) FROM PUBLIC;

-- Citus: the commands that drop, and add again, the foreign keys that touch some of bpr's tables
CREATE FUNCTION @extschema@.citus_foreign_keys(tables regclass[], OUT drops text[], OUT adds text[])
RETURNS record
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	SELECT coalesce(array_agg(format('ALTER TABLE %s DROP CONSTRAINT IF EXISTS %I', k.conrelid::regclass, k.conname)
	                          ORDER BY k.oid), '{}'),
	       coalesce(array_agg(format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.conrelid::regclass, k.conname,
	                                 pg_get_constraintdef(k.oid)) ORDER BY k.oid), '{}')
	  INTO drops, adds
	  FROM pg_constraint k
	 WHERE k.contype = 'f' AND (k.conrelid = ANY (tables) OR k.confrelid = ANY (tables));
END
$$;
COMMENT ON FUNCTION @extschema@.citus_foreign_keys(regclass[]) IS
	'Citus: the commands that drop (if they exist) and add again the foreign keys that touch the given tables';

-- Turns bpr on for a Citus cluster: bpr's tables become reference tables that every node reads
CREATE FUNCTION @extschema@.bpr_distribute()
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tables regclass[] := ARRAY(SELECT @extschema@.citus_tables(false, 'bpr_distribute'));
	drops text[];
	adds text[];
	sequential text[] := ARRAY(SELECT format('ALTER FUNCTION %s SET citus.multi_shard_modify_mode = sequential', p.oid::regprocedure)
	                             FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
	                            WHERE p.pronamespace = '@extschema@'::regnamespace AND p.provolatile = 'v'
	                              AND l.lanname = 'c' AND p.prorettype <> 'trigger'::regtype ORDER BY 1);
	messages text := current_setting('client_min_messages');
	command text;
	t regclass;
	n bigint;
	r record;
BEGIN
	SELECT f.drops, f.adds INTO drops, adds FROM @extschema@.citus_foreign_keys(tables) f;
	-- the workers' own copies of the tables, made by CREATE EXTENSION, first: this transaction has not locked them
	PERFORM @extschema@.citus_on_workers(ARRAY['DROP TRIGGER IF EXISTS models_changed ON @extschema@.models']
	                                     || drops || sequential);
	-- Citus refuses a table with a trigger, or with foreign keys to tables that are not yet Citus tables
	IF EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = '@extschema@.models'::regclass AND g.tgname = 'models_changed') THEN
		DROP TRIGGER models_changed ON @extschema@.models;
		RETURN NEXT 'dropped trigger models_changed on every node: serving checks the active version at each statement';
	END IF;
	FOREACH command IN ARRAY drops LOOP
		EXECUTE command;
	END LOOP;
	PERFORM set_config('client_min_messages', 'warning', true);
	FOREACH t IN ARRAY tables LOOP
		EXECUTE format('SELECT count(*) FROM %s', t) INTO n;
		EXECUTE 'SELECT pg_catalog.create_reference_table($1)' USING t;
		RETURN NEXT format('%s is a reference table: %s rows copied to every node', t, n);
	END LOOP;
	FOREACH command IN ARRAY adds LOOP
		EXECUTE command;
	END LOOP;
	-- the coordinator's own copies of the rows are hidden now: free them
	FOREACH t IN ARRAY tables LOOP
		EXECUTE 'SELECT pg_catalog.truncate_local_data_after_distributing_table($1)' USING t;
	END LOOP;
	PERFORM set_config('client_min_messages', messages, true);
	IF cardinality(adds) > 0 THEN
		RETURN NEXT format('%s foreign keys re-added between the reference tables', cardinality(adds));
	END IF;
	IF cardinality(tables) = 0 THEN
		RETURN NEXT 'bpr''s tables were reference tables already';
	END IF;

	-- on reference tables, GRANT reaches every node: grant again what the coordinator's tables grant
	n := 0;
	FOR r IN SELECT c.oid::regclass AS rel, a.grantee, string_agg(a.privilege_type, ', ') AS privileges
	           FROM pg_class c, aclexplode(c.relacl) a
	          WHERE c.oid IN (SELECT @extschema@.citus_tables(true, 'bpr_distribute')) AND a.grantee <> c.relowner
	          GROUP BY 1, 2 LOOP
		EXECUTE format('GRANT %s ON %s TO %s', r.privileges, r.rel,
					   CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r.grantee)) END);
		n := n + 1;
	END LOOP;
	RETURN NEXT format('%s grants on bpr''s tables issued again for every node', n);
	-- role OIDs differ between nodes: write each owner by name, as Citus writes rows from now on
	n := 0;
	FOR r IN SELECT m.model, m.owner FROM @extschema@.model_names m LOOP
		EXECUTE format('UPDATE @extschema@.model_names m SET owner = %L::regrole WHERE m.model = %L', r.owner, r.model);
		n := n + 1;
	END LOOP;
	RETURN NEXT format('owners of %s models written by role name on every node', n);
	-- training reads distributed tables, then writes reference tables that have foreign keys
	FOREACH command IN ARRAY sequential LOOP
		EXECUTE command;
	END LOOP;
	RETURN NEXT format('%s functions read distributed tables over one connection a worker (citus.multi_shard_modify_mode)',
					   cardinality(sequential));

	-- where pushed-down serving reads each active model's ratings
	FOR r IN EXECUTE $q$
		SELECT m.model, m.user_column, rt.rel AS ratings, ut.rel AS users,
		       rp.partmethod AS r_method, rp.colocationid AS r_group,
		       CASE WHEN rp.partmethod = 'h' THEN pg_catalog.column_to_column_name(rp.logicalrelid, rp.partkey) END AS r_column,
		       up.partmethod AS u_method, up.colocationid AS u_group,
		       CASE WHEN up.partmethod = 'h' THEN pg_catalog.column_to_column_name(up.logicalrelid, up.partkey) END AS u_column
		  FROM @extschema@.models m
		  CROSS JOIN LATERAL (SELECT to_regclass(m.ratings_table) AS rel) rt
		  CROSS JOIN LATERAL (SELECT to_regclass(m.users_table) AS rel) ut
		  LEFT JOIN pg_dist_partition rp ON rp.logicalrelid = rt.rel
		  LEFT JOIN pg_dist_partition up ON up.logicalrelid = ut.rel
		 WHERE m.active ORDER BY m.model$q$ LOOP
		IF r.ratings IS NOT NULL AND r.r_method IS NULL THEN
			RAISE NOTICE 'the ratings table % of bpr model "%" is not a Citus table', r.ratings, r.model
				USING DETAIL = 'On a worker, bpr_recommend cannot read the items a user rated (exclude_rated).',
					  HINT = format('Distribute it by its user column: SELECT create_distributed_table(%L, %L).',
									r.ratings, r.user_column);
		ELSIF r.r_method = 'h' AND r.r_column IS DISTINCT FROM r.user_column THEN
			RAISE NOTICE 'the ratings table % of bpr model "%" is distributed by % and not by its user column %',
				r.ratings, r.model, r.r_column, r.user_column
				USING DETAIL = 'bpr_recommend then reads the items a user rated (exclude_rated) from other nodes, outside the query''s transaction.',
					  HINT = format('Distribute it by the user column: SELECT alter_distributed_table(%L, distribution_column => %L).',
									r.ratings, r.user_column);
		END IF;
		IF r.u_method = 'h' AND (r.r_method IS DISTINCT FROM 'h' OR r.u_group <> r.r_group) THEN
			RAISE NOTICE 'the users table % of bpr model "%" is not colocated with its ratings table %',
				r.users, r.model, r.ratings
				USING DETAIL = 'A LATERAL bpr_recommend over the users table then reads the items each user rated (exclude_rated) from another node.',
					  HINT = format('Distribute the ratings table by %I too, and colocate the users table with it: SELECT alter_distributed_table(%L, colocate_with => %L).',
									r.user_column, r.users, r.ratings);
		END IF;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.bpr_distribute() IS
	'Citus: makes bpr''s tables reference tables (models trained before are copied to every node) so that queries pushed down to workers serve; run on the coordinator as a superuser, again after adding a node';

-- Turns bpr back into tables of the coordinator alone (before ALTER EXTENSION bpr UPDATE or DROP EXTENSION bpr)
CREATE FUNCTION @extschema@.bpr_undistribute()
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	tables regclass[] := ARRAY(SELECT @extschema@.citus_tables(true, 'bpr_undistribute'));
	functions text[] := ARRAY(SELECT format('ALTER FUNCTION %s RESET citus.multi_shard_modify_mode', p.oid::regprocedure)
	                            FROM pg_proc p
	                           WHERE p.pronamespace = '@extschema@'::regnamespace
	                             AND 'citus.multi_shard_modify_mode=sequential' = ANY (p.proconfig) ORDER BY 1);
	trigger_sql text := 'CREATE TRIGGER models_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.models '
		'FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.models_changed()';
	keys text[];
	command text;
	t regclass;
	n bigint;
	r record;
BEGIN
	IF cardinality(tables) = 0 THEN
		RETURN NEXT 'bpr''s tables are not Citus tables';
		RETURN;
	END IF;
	-- the workers' own tables first, as CREATE EXTENSION made them: this transaction has not locked them
	SELECT f.drops || f.adds INTO keys FROM @extschema@.citus_foreign_keys(tables) f;
	PERFORM @extschema@.citus_on_workers(ARRAY['DROP TRIGGER IF EXISTS models_changed ON @extschema@.models', trigger_sql]
	                                     || keys || functions);
	-- the rows, read through Citus while it still knows the tables
	FOREACH t IN ARRAY tables LOOP
		EXECUTE format('CREATE TEMP TABLE %I ON COMMIT DROP AS SELECT * FROM %s', 'bpr_undistribute_' || t::oid, t);
	END LOOP;
	-- what Citus does for a dropped table: its metadata on the workers, its shards, its metadata here
	FOR r IN SELECT c.oid::regclass AS rel, c.relname FROM unnest(tables) WITH ORDINALITY u (t, i)
	           JOIN pg_class c ON c.oid = u.t ORDER BY u.i DESC LOOP
		EXECUTE 'SELECT pg_catalog.master_remove_distributed_table_metadata_from_workers($1, $2, $3)'
			USING r.rel, '@extschema@', r.relname::text;
		EXECUTE 'SELECT pg_catalog.citus_drop_all_shards($1, $2, $3, false)' USING r.rel, '@extschema@', r.relname::text;
		EXECUTE 'SELECT pg_catalog.master_remove_partition_metadata($1, $2, $3)' USING r.rel, '@extschema@', r.relname::text;
	END LOOP;
	-- and the TRUNCATE triggers it put on the coordinator's tables
	FOR r IN SELECT g.tgrelid::regclass AS rel, g.tgname FROM pg_trigger g
	          WHERE g.tgrelid = ANY (tables) AND g.tgfoid::regproc::text = 'citus_truncate_trigger' LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.rel);
	END LOOP;
	-- the rows back into the coordinator's tables, local again, parents first
	EXECUTE format('TRUNCATE %s', array_to_string(tables, ', '));
	FOREACH t IN ARRAY tables LOOP
		EXECUTE format('INSERT INTO %s SELECT * FROM pg_temp.%I', t, 'bpr_undistribute_' || t::oid);
		GET DIAGNOSTICS n = ROW_COUNT;
		EXECUTE format('DROP TABLE pg_temp.%I', 'bpr_undistribute_' || t::oid);
		RETURN NEXT format('%s is a table of the coordinator: %s rows', t, n);
	END LOOP;
	IF NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = '@extschema@.models'::regclass AND g.tgname = 'models_changed') THEN
		EXECUTE trigger_sql;
	END IF;
	RETURN NEXT 'trigger models_changed restored on every node';
	FOREACH command IN ARRAY functions LOOP
		EXECUTE command;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.bpr_undistribute() IS
	'Citus: makes bpr''s tables tables of the coordinator alone again, keeping every model; run before ALTER EXTENSION bpr UPDATE or DROP EXTENSION bpr';
