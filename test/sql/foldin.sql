-- bpr_fold_in: users' vectors recomputed from their ratings as they are now, new items added
SET search_path = planted, public;
SET bpr.progress = off;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT 'host=' || split_part(current_setting('unix_socket_directories'), ',', 1) ||
       ' port=' || current_setting('port') || ' dbname=' || current_database() AS conninfo \gset
SELECT dblink_connect('other', :'conninfo');

-- copies of the planted tables, changed at will
CREATE TABLE planted.fr AS SELECT * FROM planted.ratings;
CREATE INDEX ON planted.fr (user_id);
CREATE TABLE planted.fu AS SELECT * FROM planted.users;
CREATE TABLE planted.fi AS SELECT * FROM planted.items;
-- the first item a user has not rated
CREATE FUNCTION pg_temp.unrated(u int) RETURNS int LANGUAGE sql
	AS $$ SELECT min(item_id) FROM planted.fi WHERE item_id NOT IN (SELECT item_id FROM planted.fr WHERE user_id = u) $$;
SELECT version FROM bpr.bpr_train('fold', ratings => 'planted.fr', users => 'planted.fu', items => 'planted.fi',
                                  seed => 1);
-- the offsets' fit is stored for fold-in
SELECT data ? 'offset_spread' AS spread, data ? 'offset_global_share' AS global_share
  FROM bpr.models WHERE model = 'fold';
CREATE TEMP TABLE before AS SELECT id, vector FROM bpr.embeddings WHERE model = 'fold' AND side = 'user';

-- nothing changed since training: nothing to do, and the revision stays
SELECT version, users, new_users, items, revision FROM bpr.bpr_fold_in('fold');

-- the default picks exactly the users whose ratings changed (a rating added, one changed, all
-- deleted), and users with ratings but no vector
INSERT INTO planted.fr VALUES (10, pg_temp.unrated(10), 5);
UPDATE planted.fr SET rating = 1 WHERE user_id = 11 AND rating = 5 AND item_id = (SELECT min(item_id) FROM planted.fr WHERE user_id = 11 AND rating = 5);
DELETE FROM planted.fr WHERE user_id = 15;
INSERT INTO planted.fr SELECT 9001, item_id, 5 FROM planted.fi WHERE item_id % 4 = 2 AND item_id <= 80;
INSERT INTO planted.fr SELECT 9001, item_id, 1 FROM planted.fi WHERE item_id % 4 = 1 AND item_id <= 20;
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend(9001, 5, 'fold')$$);
SELECT version, users, new_users, items, revision FROM bpr.bpr_fold_in('fold');
SELECT array_agg(e.id ORDER BY e.id) AS changed
  FROM bpr.embeddings e LEFT JOIN before b ON b.id = e.id
 WHERE e.model = 'fold' AND e.side = 'user' AND b.vector IS DISTINCT FROM e.vector;
SELECT users, new_users FROM bpr.bpr_fold_in('fold');
-- the stored fingerprints now match the ratings: a training of the same data stores the same ones
SELECT version FROM bpr.bpr_train('fold_check', ratings => 'planted.fr', epochs => 1);
SELECT count(*) AS fingerprints_differ
  FROM bpr.embeddings a JOIN bpr.embeddings b ON b.model = 'fold_check' AND b.side = 'user' AND b.id = a.id
 WHERE a.model = 'fold' AND a.side = 'user' AND a.fingerprint IS DISTINCT FROM b.fingerprint;
SELECT bpr.bpr_drop('fold_check');

-- the new user got a vector and recommendations of the genre they like (drama, item_id % 4 = 2)
SELECT count(*) AS k, count(*) FILTER (WHERE item_id % 4 = 2) >= 8 AS mostly_drama
  FROM bpr.bpr_recommend(9001, 10, 'fold');
-- their score offset is the one calibration gives their liked share (20 liked, 5 disliked); fitted to
-- their ratings, their vector has no items' offsets (0 in the last column, as a trained user's)
SELECT abs(e.vector[cardinality(e.vector) - 1] -
           (m.data->>'offset_spread')::float8 *
           ln(((20 + 2 * (m.data->>'offset_global_share')::float8) / 27) /
              (1 - (20 + 2 * (m.data->>'offset_global_share')::float8) / 27))) < 1e-4 AS calibrated_offset,
       e.vector[(m.hyperparameters->>'dim')::int + 1] = 1 AS bias_column,
       e.vector[cardinality(e.vector)] = 0 AS no_item_offsets
  FROM bpr.embeddings e JOIN bpr.models m USING (model, version)
 WHERE e.model = 'fold' AND e.side = 'user' AND e.id = 9001;
-- a new user with no liked item keeps the vector of a cold user, who gets the items' offsets (1)
BEGIN;
INSERT INTO planted.fr SELECT 9002, item_id, 1 FROM planted.fi WHERE item_id <= 5;
SELECT users, new_users FROM bpr.bpr_fold_in('fold', users => ARRAY[9002]);
SELECT e.vector[cardinality(e.vector)] = 1 AS cold_item_offsets
  FROM bpr.embeddings e WHERE e.model = 'fold' AND e.side = 'user' AND e.id = 9002;
ROLLBACK;

-- a folded-in user's top 10 moves toward their new interactions: user 4 (group 0, action) turns to scifi
SELECT count(*) FILTER (WHERE item_id % 4 = 3) AS scifi_before FROM bpr.bpr_recommend(4, 10, 'fold');
BEGIN;
INSERT INTO planted.fr SELECT 4, item_id, 5 FROM planted.fi
 WHERE item_id % 4 = 3 AND item_id NOT IN (SELECT item_id FROM planted.fr WHERE user_id = 4)
 ORDER BY item_id LIMIT 15;
SELECT users FROM bpr.bpr_fold_in('fold', users => ARRAY[4]);
-- 15 scifi likes next to about 20 action likes: scifi comes into the top 10
SELECT count(*) FILTER (WHERE item_id % 4 = 3) > 0 AS scifi_now FROM bpr.bpr_recommend(4, 10, 'fold');
-- and once the user turns away from action, scifi dominates
UPDATE planted.fr SET rating = 2 WHERE user_id = 4 AND item_id % 4 = 0;
SELECT users FROM bpr.bpr_fold_in('fold', users => ARRAY[4]);
SELECT count(*) FILTER (WHERE item_id % 4 = 3) >= 8 AS scifi_dominates FROM bpr.bpr_recommend(4, 10, 'fold');
ROLLBACK;

-- reproducible: the same vector from the same ratings, alone or with other users
BEGIN;
INSERT INTO planted.fr VALUES (20, pg_temp.unrated(20), 5), (21, pg_temp.unrated(21), 5);
SELECT users FROM bpr.bpr_fold_in('fold', users => ARRAY[20]);
SELECT vector::text AS alone FROM bpr.embeddings WHERE model = 'fold' AND side = 'user' AND id = 20 \gset
ROLLBACK;
BEGIN;
INSERT INTO planted.fr VALUES (20, pg_temp.unrated(20), 5), (21, pg_temp.unrated(21), 5);
SELECT users FROM bpr.bpr_fold_in('fold');
SELECT vector::text = :'alone' AS same_vector, vector::text <> (SELECT vector::text FROM before WHERE id = 20) AS changed
  FROM bpr.embeddings WHERE model = 'fold' AND side = 'user' AND id = 20;
ROLLBACK;

-- steps => 0 keeps the embedding and recomputes the offset; a trained user stays without the items' offsets
BEGIN;
INSERT INTO planted.fr VALUES (30, pg_temp.unrated(30), 1);
SELECT users FROM bpr.bpr_fold_in('fold', users => '{30}', steps => 0);
SELECT e.vector[1:64] = b.vector[1:64] AS same_embedding,
       e.vector[cardinality(e.vector) - 1] < b.vector[cardinality(b.vector) - 1] AS lower_offset,
       e.vector[cardinality(e.vector)] = 0 AND b.vector[cardinality(b.vector)] = 0 AS no_item_offsets
  FROM bpr.embeddings e JOIN before b ON b.id = e.id WHERE e.model = 'fold' AND e.side = 'user' AND e.id = 30;
ROLLBACK;

-- users named: unknown ones are left out with a NOTICE, repeats count once, NULLs are skipped
SET client_min_messages = notice;
SELECT users, new_users FROM bpr.bpr_fold_in('fold', users => ARRAY[5, 5, NULL, 777777]);
SET client_min_messages = warning;
SELECT users FROM bpr.bpr_fold_in('fold', users => '{}'::int[]);

-- new products in the items table get cold vectors from their features
INSERT INTO planted.fi VALUES (5001, 'New drama', '{drama}', 2021, 9.99), (5002, 'New scifi', '{scifi}', 2021, 9.99);
SELECT users, items FROM bpr.bpr_fold_in('fold');
-- (1 in the users' offset column, and no offset of their own: nobody rated them)
SELECT id, cold, cardinality(vector) = (SELECT vector_width FROM bpr.models WHERE model = 'fold') AS width,
       vector[cardinality(vector) - 1] = 1 AND vector[cardinality(vector)] = 0 AS offset_columns
  FROM bpr.embeddings WHERE model = 'fold' AND side = 'item' AND id > 5000 ORDER BY id;
SELECT count(*) AS new_items_ranked FROM bpr.bpr_recommend(42, 1000, 'fold') WHERE item_id > 5000;
SELECT count(*) AS unless_cold_items_false FROM bpr.bpr_recommend(42, 1000, 'fold', cold_items => false) WHERE item_id > 5000;
SELECT items FROM bpr.bpr_fold_in('fold');

-- transactional: a rollback leaves everything as it was
SELECT revision AS rev FROM bpr.models WHERE model = 'fold' \gset
SELECT bpr.bpr_score(12, 7, 'fold')::text AS score12 \gset
BEGIN;
INSERT INTO planted.fr SELECT 12, item_id, 5 FROM planted.fi WHERE item_id % 4 = 3 AND item_id <= 60
   AND item_id NOT IN (SELECT item_id FROM planted.fr WHERE user_id = 12);
SELECT users FROM bpr.bpr_fold_in('fold', users => ARRAY[12]);
SELECT bpr.bpr_score(12, 7, 'fold')::text <> :'score12' AS changed_here;
ROLLBACK;
SELECT revision = :rev AS same_revision, bpr.bpr_score(12, 7, 'fold')::text = :'score12' AS same_score
  FROM bpr.models WHERE model = 'fold';

-- another session sees the fold-in only after commit
SELECT score = :'score12' AS other_sees_old FROM dblink('other', $$SELECT bpr.bpr_score(12, 7, 'fold')::text$$) AS t(score text);
BEGIN;
INSERT INTO planted.fr SELECT 12, item_id, 5 FROM planted.fi WHERE item_id % 4 = 3 AND item_id <= 60
   AND item_id NOT IN (SELECT item_id FROM planted.fr WHERE user_id = 12);
SELECT users, revision = :rev + 1 AS bumped FROM bpr.bpr_fold_in('fold', users => ARRAY[12]);
SELECT score = :'score12' AS other_still_sees_old
  FROM dblink('other', $$SELECT bpr.bpr_score(12, 7, 'fold')::text$$) AS t(score text);
COMMIT;
SELECT score = bpr.bpr_score(12, 7, 'fold')::text AND score <> :'score12' AS other_sees_new
  FROM dblink('other', $$SELECT bpr.bpr_score(12, 7, 'fold')::text$$) AS t(score text);

-- a fold-in waits for another fold-in (or a training) of the same model, then runs on what it committed
BEGIN;
INSERT INTO planted.fr VALUES (13, pg_temp.unrated(13), 5);
SELECT users FROM bpr.bpr_fold_in('fold', users => ARRAY[13]);
SELECT dblink_send_query('other', $$SELECT users FROM bpr.bpr_fold_in('fold', users => ARRAY[14])$$);
SELECT pg_sleep(0.3);
SELECT dblink_is_busy('other') AS other_waits;
COMMIT;
SELECT * FROM dblink_get_result('other') AS t(users bigint);
SELECT * FROM dblink_get_result('other') AS t(users bigint);

-- only the owner; not in a read-only transaction; arguments checked
CREATE ROLE regress_bpr_other;
GRANT USAGE ON SCHEMA bpr, planted TO regress_bpr_other;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bpr TO regress_bpr_other;
GRANT SELECT ON ALL TABLES IN SCHEMA planted TO regress_bpr_other;
SET ROLE regress_bpr_other;
SELECT expect_error($$SELECT * FROM bpr.bpr_fold_in('fold')$$);
RESET ROLE;
DROP OWNED BY regress_bpr_other;
DROP ROLE regress_bpr_other;
BEGIN READ ONLY;
SELECT expect_error($$SELECT * FROM bpr.bpr_fold_in('fold')$$);
ROLLBACK;
SELECT expect_error($$SELECT * FROM bpr.bpr_fold_in(NULL)$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_fold_in('nosuch')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_fold_in('fold', steps => -1)$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_fold_in('fold', users => ARRAY['00000000-0000-0000-0000-000000000000'::uuid])$$);
CREATE TABLE planted.fr_gone AS SELECT * FROM planted.fr;
SELECT version FROM bpr.bpr_train('fold_gone', ratings => 'planted.fr_gone', epochs => 1);
DROP TABLE planted.fr_gone;
SELECT expect_error($$SELECT * FROM bpr.bpr_fold_in('fold_gone')$$);
SELECT bpr.bpr_drop('fold_gone');

-- a model without id embeddings: fold-in recomputes a user's vector from their features
SELECT version FROM bpr.bpr_train('foldf', ratings => 'planted.fr', users => 'planted.fu', items => 'planted.fi',
                                  use_ids => false, epochs => 3, seed => 3);
UPDATE planted.fu SET (age, segment, active) = (SELECT age, segment, active FROM planted.fu WHERE user_id = 43)
 WHERE user_id = 42;
SELECT users FROM bpr.bpr_fold_in('foldf', users => ARRAY[42]);
-- (a trained user keeps no items' offsets)
SELECT max(abs(x - y)) < 1e-5 AS like_twin, min(a.vector[cardinality(a.vector)]) = 0 AS no_item_offsets
  FROM bpr.embeddings a, bpr.embeddings b, unnest(a.vector[1:64], b.vector[1:64]) AS t(x, y)
 WHERE a.model = 'foldf' AND a.side = 'user' AND a.id = 42 AND b.model = 'foldf' AND b.side = 'user' AND b.id = 43;

-- text and uuid keys: a new uuid customer rating text SKUs
CREATE TABLE planted.fr_k AS
	SELECT md5(user_id::text)::uuid AS customer, 'sku-' || item_id AS sku, rating FROM planted.ratings;
CREATE TABLE planted.fi_k AS SELECT 'sku-' || item_id AS sku, genres, year, price FROM planted.items;
SELECT version FROM bpr.bpr_train('foldk', ratings => 'planted.fr_k', items => 'planted.fi_k',
                                  user_column => 'customer', item_column => 'sku', seed => 1);
INSERT INTO planted.fr_k SELECT md5('new customer')::uuid, 'sku-' || item_id, 5 FROM planted.items
 WHERE item_id % 4 = 1 AND item_id <= 80;
INSERT INTO planted.fi_k VALUES ('sku-new', '{comedy}', 2022, 5);
SELECT users, new_users, items FROM bpr.bpr_fold_in('foldk');
SELECT id = (SELECT max(id) FROM bpr.embeddings WHERE model = 'foldk' AND side = 'user') AS next_row,
       key = md5('new customer')::uuid::text AS text_form
  FROM bpr.embeddings WHERE model = 'foldk' AND side = 'user' AND key = md5('new customer')::uuid::text;
SELECT key, cold FROM bpr.embeddings WHERE model = 'foldk' AND side = 'item' AND key = 'sku-new';
SELECT pg_typeof(item_id) AS item_type, count(*) AS k,
       count(*) FILTER (WHERE i.genres[1] = 'comedy') >= 8 AS mostly_comedy
  FROM bpr.bpr_recommend(md5('new customer')::uuid::text, 10, 'foldk') r JOIN planted.fi_k i ON i.sku = r.item_id
 GROUP BY 1;
SELECT users FROM bpr.bpr_fold_in('foldk', users => ARRAY[md5('new customer')::uuid, md5('1')::uuid]);
SELECT users FROM bpr.bpr_fold_in('foldk', users => ARRAY[md5('1')]);

SELECT dblink_disconnect('other');
DROP EXTENSION dblink;
SELECT bpr.bpr_drop('fold'), bpr.bpr_drop('foldf'), bpr.bpr_drop('foldk');
DROP TABLE planted.fr, planted.fu, planted.fi, planted.fr_k, planted.fi_k;
RESET client_min_messages;
