-- Deploying on purpose: activate policies, retention, version numbers, caught errors, waits
SET search_path = planted, public;
SET bpr.progress = off;

-- activate => 'never' stores a version without serving it
SELECT version, active FROM bpr.bpr_train('dep', ratings => 'planted.ratings', epochs => 1,
                                         learning_rate => 0.0001, seed => 1);
SELECT version, active FROM bpr.bpr_train('dep', ratings => 'planted.ratings', epochs => 2,
                                         seed => 2, activate => 'never');
SELECT version, active, deployment FROM bpr.models WHERE model = 'dep' ORDER BY version;
-- if_better needs a validation table
SELECT expect_error($$SELECT bpr.bpr_train('dep', ratings => 'planted.ratings', activate => 'if_better')$$);
SELECT expect_error($$SELECT bpr.bpr_train('dep', ratings => 'planted.ratings', activate => 'sometimes')$$);
-- a better version is activated, a worse one is not; the registry and a NOTICE say which
SELECT version, active FROM bpr.bpr_train('dep', ratings => 'planted.ratings', epochs => 20, seed => 3,
                                         validation => 'planted.ratings_test', activate => 'if_better');
SELECT version, active FROM bpr.bpr_train('dep', ratings => 'planted.ratings', epochs => 1, seed => 4,
                                         learning_rate => 0.0001, validation => 'planted.ratings_test',
                                         activate => 'if_better');
SELECT version, active, deployment->>'policy' AS policy, deployment->>'activated' AS activated,
       deployment->>'active_version' AS compared_with,
       (deployment->>'new')::float8 > (deployment->>'active')::float8 AS beats
  FROM bpr.models WHERE model = 'dep' AND version >= 3 ORDER BY version;
-- bpr_evaluate evaluates any stored version, active or not, by number
SELECT e1.precision_at_k < e3.precision_at_k AS v3_better_than_v1,
       abs(e4.precision_at_k - (SELECT deployment->>'new' FROM bpr.models WHERE model = 'dep' AND version = 4)::float8) < 1e-6 AS v4_as_compared
  FROM bpr.bpr_evaluate('dep', 'planted.ratings_test', version => 1) e1,
       bpr.bpr_evaluate('dep', 'planted.ratings_test', version => 3) e3,
       bpr.bpr_evaluate('dep', 'planted.ratings_test', version => 4) e4;
SELECT abs(a.precision_at_k - b.precision_at_k) < 1e-12 AS active_by_number
  FROM bpr.bpr_evaluate('dep', 'planted.ratings_test') a,
       bpr.bpr_evaluate('dep', 'planted.ratings_test', version => 3) b;
SELECT expect_error($$SELECT * FROM bpr.bpr_evaluate('dep', 'planted.ratings_test', version => 99)$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_evaluate('dep', 'planted.ratings_test', version => 0)$$);

-- retention: after a training, the oldest inactive versions beyond keep_versions go
SELECT version FROM bpr.bpr_train('dep', ratings => 'planted.ratings', epochs => 1, seed => 5,
                                  activate => 'never', keep_versions => 3);
SELECT array_agg(version ORDER BY version) AS kept, array_agg(version ORDER BY version) FILTER (WHERE active) AS active
  FROM bpr.models WHERE model = 'dep';
-- the active and the new version always stay
SELECT version FROM bpr.bpr_train('dep', ratings => 'planted.ratings', epochs => 1, seed => 6,
                                  activate => 'never', keep_versions => 1);
SELECT array_agg(version ORDER BY version) AS kept FROM bpr.models WHERE model = 'dep';
-- the default comes from bpr.keep_versions (5; 0 keeps every version)
SHOW bpr.keep_versions;
SET bpr.keep_versions = 2;
SELECT version FROM bpr.bpr_train('dep', ratings => 'planted.ratings', epochs => 1, seed => 7);
SELECT array_agg(version ORDER BY version) AS kept FROM bpr.models WHERE model = 'dep';
RESET bpr.keep_versions;
SELECT count(*) AS orphan_rows FROM bpr.embeddings e
 WHERE e.model = 'dep' AND NOT EXISTS (SELECT 1 FROM bpr.models m WHERE m.model = e.model AND m.version = e.version);

-- version numbers are never reused, even after every version is dropped
SELECT bpr.bpr_drop('dep');
SELECT version FROM bpr.bpr_train('dep', ratings => 'planted.ratings', epochs => 1);
SELECT last_version FROM bpr.model_names WHERE model = 'dep';

-- a validation table that matches no trained user is an error, not a model trained blind
CREATE TABLE planted.strangers AS SELECT user_id + 100000 AS user_id, item_id, rating FROM planted.ratings_test;
SELECT expect_error($$SELECT bpr.bpr_train('dep', ratings => 'planted.ratings', validation => 'planted.strangers')$$);
-- so is a test table in bpr_evaluate that is empty or shares nobody with the model
CREATE TABLE planted.no_rows (LIKE planted.ratings_test);
SELECT expect_error($$SELECT * FROM bpr.bpr_evaluate('dep', 'planted.no_rows')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_evaluate('dep', 'planted.strangers')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_evaluate('dep', 'planted.ratings_test', positive_threshold => 'NaN')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_evaluate('dep', 'planted.ratings_test', positive_threshold => 99)$$);

-- a caught error leaves nothing pinned: the transaction serves the next version, and a drop
SELECT version FROM bpr.bpr_train('pin', ratings => 'planted.ratings', epochs => 1, seed => 1);
BEGIN;
SELECT bpr.bpr_score(1, 2, 'pin')::text AS pin_v1 \gset
SAVEPOINT before_error;
SELECT * FROM bpr.bpr_recommend(999999, 5, 'pin');
ROLLBACK TO SAVEPOINT before_error;
SAVEPOINT before_error2;
SELECT bpr.bpr_score(now(), 2, 'pin');
ROLLBACK TO SAVEPOINT before_error2;
SELECT version FROM bpr.bpr_train('pin', ratings => 'planted.ratings', epochs => 1, seed => 2);
SELECT bpr.bpr_score(1, 2, 'pin')::text <> :'pin_v1' AS serves_version_2;
SELECT bpr.bpr_drop('pin');
SELECT expect_error($$SELECT bpr.bpr_score(1, 2, 'pin')$$);
COMMIT;
-- the same in a DO block that catches the error
SELECT version FROM bpr.bpr_train('pin', ratings => 'planted.ratings', epochs => 1, seed => 1);
DO $$
DECLARE
	before real := bpr.bpr_score(1, 2, 'pin');
BEGIN
	BEGIN
		PERFORM * FROM bpr.bpr_recommend(999999, 5, 'pin');
	EXCEPTION WHEN undefined_object THEN
		RAISE NOTICE 'caught: %', SQLERRM;
	END;
	PERFORM bpr.bpr_train('pin', ratings => 'planted.ratings', epochs => 1, seed => 2);
	IF bpr.bpr_score(1, 2, 'pin') = before THEN
		RAISE EXCEPTION 'the old version is still served';
	END IF;
	RAISE NOTICE 'the new version is served';
END
$$;
SELECT bpr.bpr_drop('pin');

-- a dropped ratings table: exclude_rated says so (42P01) instead of recommending rated items
CREATE TABLE planted.ratings_copy AS SELECT * FROM planted.ratings;
SELECT version FROM bpr.bpr_train('gone', ratings => 'planted.ratings_copy', epochs => 1);
DROP TABLE planted.ratings_copy;
SELECT ratings::text ~ '^[0-9]+$' AS regclass_shows_an_oid, ratings_table FROM bpr.models WHERE model = 'gone';
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend(42, 5, 'gone')$$);
SELECT count(*) FROM bpr.bpr_recommend(42, 5, 'gone', exclude_rated => false);
SELECT bpr.bpr_score(42, 5, 'gone') IS NOT NULL AS scores;
SELECT bpr.bpr_drop('gone');

-- small things: a relation that does not exist, what was skipped, names in bytes
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 999999::oid::regclass)$$);
CREATE TABLE planted.odd_values AS SELECT user_id, item_id, rating::float8 AS rating FROM planted.ratings;
INSERT INTO planted.odd_values VALUES (1, 1, 'NaN'), (2, 2, 'Infinity'), (3, 3, NULL), (NULL, 4, 5);
SELECT users FROM bpr.bpr_train('oddvals', ratings => 'planted.odd_values', epochs => 1);
SELECT bpr.bpr_drop('oddvals');
SELECT expect_error($$SELECT bpr.bpr_train(repeat('é', 101), ratings => 'planted.ratings')$$);

-- seconds count training, not the wait for another training of the model
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
SELECT 'host=' || split_part(current_setting('unix_socket_directories'), ',', 1) ||
       ' port=' || current_setting('port') || ' dbname=' || current_database() AS conninfo \gset
SELECT dblink_connect('other', :'conninfo');
BEGIN;
SELECT version FROM bpr.bpr_train('wait', ratings => 'planted.ratings', epochs => 1);
SELECT dblink_exec('other', 'SET bpr.progress = off');
SELECT dblink_send_query('other', $$SELECT version FROM bpr.bpr_train('wait', ratings => 'planted.ratings', epochs => 1)$$);
SELECT pg_sleep(1);
COMMIT;
SELECT * FROM dblink_get_result('other') AS t(version int);
SELECT * FROM dblink_get_result('other') AS t(version int);
SELECT version, wait_seconds > 0.5 AS waited, seconds < wait_seconds AS seconds_exclude_wait
  FROM bpr.models WHERE model = 'wait' ORDER BY version;
SELECT dblink_disconnect('other');
SELECT bpr.bpr_drop('wait');
SELECT bpr.bpr_drop('dep');
DROP TABLE planted.strangers, planted.no_rows, planted.odd_values;
