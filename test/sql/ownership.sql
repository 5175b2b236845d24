-- Models are owned: only the owner, members of the owning role and superusers manage them
SET search_path = planted, public;
SET bpr.progress = off;
CREATE ROLE regress_alice;
CREATE ROLE regress_bob;
CREATE ROLE regress_carol IN ROLE regress_alice;
CREATE ROLE regress_reader;
CREATE ROLE regress_partial;
-- the README's grants: a training role and a serving role
GRANT USAGE ON SCHEMA bpr, planted TO regress_alice, regress_bob, regress_carol, regress_reader, regress_partial;
GRANT SELECT, INSERT, UPDATE, DELETE ON bpr.model_names, bpr.models, bpr.features, bpr.parameters,
      bpr.embeddings, bpr.training_log TO regress_alice, regress_bob;
GRANT SELECT ON bpr.model_names, bpr.models, bpr.embeddings, bpr.features, bpr.parameters TO regress_reader;
GRANT SELECT ON planted.ratings, planted.users, planted.items TO regress_alice, regress_bob, regress_reader;
GRANT CREATE ON SCHEMA planted TO regress_bob;

-- the role that trains a model's first version owns it
SET ROLE regress_alice;
SELECT version FROM bpr.bpr_train('alicem', ratings => 'planted.ratings', epochs => 2);
RESET ROLE;
SELECT model, owner, last_version FROM bpr.model_names WHERE model = 'alicem';

-- bob cannot retrain alice's model (from a view that runs his code), activate or drop it:
-- 42501 at once, before any data is read or any lock is taken
CREATE TABLE planted.spy_calls (n int);
INSERT INTO planted.spy_calls VALUES (0);
GRANT UPDATE, SELECT ON planted.spy_calls TO regress_bob;
SET ROLE regress_bob;
CREATE FUNCTION planted.spy() RETURNS boolean LANGUAGE plpgsql AS
	$$ BEGIN UPDATE planted.spy_calls SET n = n + 1; RETURN true; END $$;
CREATE VIEW planted.bob_ratings AS SELECT * FROM planted.ratings WHERE planted.spy();
SELECT expect_error($$SELECT bpr.bpr_train('alicem', ratings => 'planted.bob_ratings', epochs => 100000)$$);
SELECT expect_error($$SELECT bpr.bpr_activate('alicem', 1)$$);
SELECT expect_error($$SELECT bpr.bpr_drop('alicem')$$);
SELECT expect_error($$SELECT bpr.bpr_drop('alicem', 1)$$);
SELECT expect_error($$SELECT bpr.bpr_set_owner('alicem', 'regress_bob')$$);
SELECT count(*) AS bpr_locks_held FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid();
RESET ROLE;
SELECT n AS spy_calls FROM planted.spy_calls;
-- serving alice's model (exclude_rated reads her ratings table) runs none of bob's code
SELECT count(*) FROM bpr.bpr_recommend(43, 5, 'alicem');
SELECT users FROM bpr.bpr_evaluate('alicem', 'planted.ratings_test');
SELECT n AS spy_calls FROM planted.spy_calls;
SELECT version, active FROM bpr.models WHERE model = 'alicem' ORDER BY version;

-- bob cannot make alice wait: his 100,000-epoch training of her model, started in another
-- session, fails before it takes the model's lock, so hers runs at once
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
SELECT 'host=' || split_part(current_setting('unix_socket_directories'), ',', 1) ||
       ' port=' || current_setting('port') || ' dbname=' || current_database() AS conninfo \gset
SELECT dblink_connect('bob', :'conninfo');
SELECT dblink_exec('bob', 'SET bpr.progress = off');
SELECT dblink_exec('bob', 'SET ROLE regress_bob');
SELECT dblink_send_query('bob', $$SELECT version FROM bpr.bpr_train('alicem', ratings => 'planted.bob_ratings', epochs => 100000)$$);
SELECT pg_sleep(0.5);
BEGIN;
SET LOCAL ROLE regress_alice;
SET LOCAL statement_timeout = '20s';
SELECT version FROM bpr.bpr_train('alicem', ratings => 'planted.ratings', epochs => 1);
ROLLBACK;
SELECT dblink_cancel_query('bob');
-- bob's error, from the other session
SELECT count(*) FROM dblink_get_result('bob', false) AS t(version int);
SELECT dblink_disconnect('bob');

-- a table found by its name stands in for the trained one only when a role the model trusts
-- owns it: bob's look-alike view in the place of alice's renamed or dropped table is never read
CREATE TABLE planted.alice_ratings AS SELECT * FROM planted.ratings;
CREATE INDEX ON planted.alice_ratings (user_id);
ALTER TABLE planted.alice_ratings OWNER TO regress_alice;
SET ROLE regress_alice;
SELECT version FROM bpr.bpr_train('alicet', ratings => 'planted.alice_ratings', epochs => 1);
SELECT data->'table_owners' AS table_owners FROM bpr.models WHERE model = 'alicet';
RESET ROLE;
ALTER TABLE planted.alice_ratings RENAME TO alice_ratings_old;
SET ROLE regress_bob;
CREATE VIEW planted.alice_ratings AS SELECT * FROM planted.ratings WHERE planted.spy();
RESET ROLE;
UPDATE planted.spy_calls SET n = 0;
-- renamed: exclude_rated reads the renamed table
SELECT count(*) FROM bpr.bpr_recommend(43, 5, 'alicet');
SELECT n AS spy_calls FROM planted.spy_calls;
-- dropped: the table is gone (42P01), and no view is read in its place
DROP TABLE planted.alice_ratings_old;
SELECT expect_error($$SELECT count(*) FROM bpr.bpr_recommend(43, 5, 'alicet')$$);
SELECT n AS spy_calls FROM planted.spy_calls;
-- a table of alice's under that name is read, as in a new session after a restore
DROP VIEW planted.alice_ratings;
CREATE TABLE planted.alice_ratings AS SELECT * FROM planted.ratings;
ALTER TABLE planted.alice_ratings OWNER TO regress_alice;
\c -
SET search_path = planted, public;
SET bpr.progress = off;
SELECT count(*) FROM bpr.bpr_recommend(43, 5, 'alicet');
SELECT bpr.bpr_drop('alicet');
DROP TABLE planted.alice_ratings;

-- members of the owning role may, and superusers
SET ROLE regress_carol;
SELECT version FROM bpr.bpr_train('alicem', ratings => 'planted.ratings', epochs => 1);
SELECT bpr.bpr_activate('alicem', 1);
RESET ROLE;
SELECT bpr.bpr_activate('alicem', 2);

-- handing a model over: only to a role the caller can SET ROLE to
SET ROLE regress_alice;
SELECT expect_error($$SELECT bpr.bpr_set_owner('alicem', 'regress_bob')$$);
RESET ROLE;
SELECT bpr.bpr_set_owner('alicem', 'regress_bob');
SELECT owner FROM bpr.model_names WHERE model = 'alicem';
SET ROLE regress_bob;
SELECT version FROM bpr.bpr_train('alicem', ratings => 'planted.ratings', epochs => 1);
RESET ROLE;
SET ROLE regress_alice;
SELECT expect_error($$SELECT bpr.bpr_train('alicem', ratings => 'planted.ratings', epochs => 1)$$);
RESET ROLE;

-- every privilege a training needs is checked before it starts, and a read-only transaction
GRANT SELECT ON planted.ratings TO regress_partial;
GRANT SELECT ON bpr.model_names, bpr.models, bpr.features, bpr.parameters, bpr.embeddings TO regress_partial;
SET ROLE regress_partial;
SELECT expect_error($$SELECT bpr.bpr_train('partialm', ratings => 'planted.ratings', epochs => 100000)$$);
RESET ROLE;
BEGIN READ ONLY;
SELECT expect_error($$SELECT bpr.bpr_train('alicem', ratings => 'planted.ratings', epochs => 100000)$$);
ROLLBACK;
REVOKE ALL ON bpr.model_names, bpr.models, bpr.features, bpr.parameters, bpr.embeddings FROM regress_partial;

-- what a role may serve does not depend on what this backend has cached
GRANT SELECT ON bpr.embeddings TO regress_partial;
SELECT bpr.bpr_score(1, 2, 'alicem') IS NOT NULL AS cache_warm;
SET ROLE regress_partial;
SELECT expect_error($$SELECT bpr.bpr_score(1, 2, 'alicem')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend(1, 2, 'alicem')$$);
RESET ROLE;
SET ROLE regress_reader;
SELECT bpr.bpr_score(1, 2, 'alicem') IS NOT NULL AS reader_serves;
RESET ROLE;

-- row-level security and column privileges on the source tables hold at serve time
CREATE TABLE planted.members AS SELECT * FROM planted.users;
ALTER TABLE planted.members ENABLE ROW LEVEL SECURITY;
CREATE POLICY even_only ON planted.members FOR SELECT USING (user_id % 2 = 0);
SELECT version FROM bpr.bpr_train('rls', ratings => 'planted.ratings', users => 'planted.members', epochs => 1);
INSERT INTO planted.members SELECT 7000 + g, age, segment, active FROM planted.users, generate_series(1, 2) g WHERE user_id = 42;
GRANT SELECT ON planted.members TO regress_reader;
SELECT bpr.bpr_score(7001, 1, 'rls') IS NOT NULL AS owner_sees_odd;
SET ROLE regress_reader;
SELECT bpr.bpr_score(7002, 1, 'rls') IS NOT NULL AS visible_cold_user,
       bpr.bpr_score(7001, 1, 'rls') IS NULL AS hidden_cold_user;
RESET ROLE;
REVOKE SELECT ON planted.members FROM regress_reader;
GRANT SELECT (user_id, age) ON planted.members TO regress_reader;
SET ROLE regress_reader;
SELECT expect_error($$SELECT bpr.bpr_score(7002, 1, 'rls')$$);
-- exclude_rated reads the ratings table as the caller
SELECT count(*) FROM bpr.bpr_recommend(42, 3, 'alicem');
RESET ROLE;
REVOKE SELECT ON planted.ratings FROM regress_reader;
SET ROLE regress_reader;
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend(42, 3, 'alicem')$$);
SELECT count(*) AS without_exclusion FROM bpr.bpr_recommend(42, 3, 'alicem', exclude_rated => false);
RESET ROLE;

SELECT bpr.bpr_drop('rls');
SELECT bpr.bpr_drop('alicem');
DROP VIEW planted.bob_ratings;
DROP FUNCTION planted.spy();
DROP TABLE planted.spy_calls, planted.members;
DROP OWNED BY regress_alice, regress_bob, regress_carol, regress_reader, regress_partial;
DELETE FROM bpr.model_names WHERE owner::text LIKE 'regress_%';
DROP ROLE regress_alice, regress_bob, regress_carol, regress_reader, regress_partial;
