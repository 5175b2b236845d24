-- bpr_train(warm_start => true): a training started from the model's active version
SET search_path = planted, public;
SET bpr.progress = off;
SET client_min_messages = warning;

-- the ratings of yesterday (users 181-200 not there yet) and of today
CREATE TABLE planted.wr AS SELECT * FROM planted.ratings WHERE user_id <= 180;
CREATE INDEX ON planted.wr (user_id);
CREATE TABLE planted.wi AS SELECT * FROM planted.items;

-- no active version: a NOTICE, and a fresh start
SET client_min_messages = notice;
SELECT version FROM bpr.bpr_train('warm', ratings => 'planted.wr', users => 'planted.users',
                                  items => 'planted.wi', seed => 1, warm_start => true);
SET client_min_messages = warning;
SELECT data ? 'warm_start' AS recorded, data->'warm_start'->>'version' AS from_version
  FROM bpr.models WHERE model = 'warm' AND version = 1;

-- Largest difference between the vectors two versions store for the same entities
CREATE FUNCTION pg_temp.vector_diff(model text, a int, b int) RETURNS float8 LANGUAGE sql AS $$
	SELECT max(abs(x.v - y.v))
	  FROM (SELECT e.side, e.id, v, n FROM bpr.embeddings e, unnest(e.vector) WITH ORDINALITY u(v, n)
	         WHERE e.model = $1 AND e.version = $2) x
	  JOIN (SELECT e.side, e.id, v, n FROM bpr.embeddings e, unnest(e.vector) WITH ORDINALITY u(v, n)
	         WHERE e.model = $1 AND e.version = $3) y USING (side, id, n) $$;

-- the same data, a learning rate too small to move anything: a warm start reproduces every
-- stored vector (features part plus id embedding), a fresh start does not
SET client_min_messages = notice;
SELECT version FROM bpr.bpr_train('warm', ratings => 'planted.wr', users => 'planted.users',
                                  items => 'planted.wi', seed => 2, epochs => 1,
                                  learning_rate => 1e-9, warm_start => true, activate => 'never');
SET client_min_messages = warning;
SELECT pg_temp.vector_diff('warm', 1, 2) < 1e-5 AS warm_reproduces;
SELECT data->'warm_start' AS carried FROM bpr.models WHERE model = 'warm' AND version = 2;
SELECT version FROM bpr.bpr_train('warm', ratings => 'planted.wr', users => 'planted.users',
                                  items => 'planted.wi', seed => 2, epochs => 1,
                                  learning_rate => 1e-9, activate => 'never');
SELECT pg_temp.vector_diff('warm', 1, 3) > 0.01 AS fresh_differs;
-- it starts from the active version, not the latest
SELECT active FROM bpr.models WHERE model = 'warm' ORDER BY version;

-- today: 20 new users, a new item of a new category; one epoch from yesterday's model
INSERT INTO planted.wr SELECT * FROM planted.ratings WHERE user_id > 180;
INSERT INTO planted.wi VALUES (121, 'Item 121', '{western}', 2020, 9.99);
INSERT INTO planted.wr SELECT u, 121, 5 FROM generate_series(1, 40) u;
SET client_min_messages = notice;
SELECT version FROM bpr.bpr_train('warm', ratings => 'planted.wr', users => 'planted.users',
                                  items => 'planted.wi', seed => 3, epochs => 1,
                                  warm_start => true, activate => 'never');
SET client_min_messages = warning;
SELECT version FROM bpr.bpr_train('warm', ratings => 'planted.wr', users => 'planted.users',
                                  items => 'planted.wi', seed => 3, epochs => 1, activate => 'never');
SELECT version FROM bpr.bpr_train('warm', ratings => 'planted.wr', users => 'planted.users',
                                  items => 'planted.wi', seed => 3, activate => 'never');
-- one warm epoch does better than one fresh epoch, and is near a full fresh training
SELECT m.version, m.epochs, m.data->'warm_start' IS NOT NULL AS warm,
       e.precision_at_k > 0 AS ranks
  FROM bpr.models m, bpr.bpr_evaluate('warm', 'planted.ratings_test', version => m.version) e
 WHERE m.model = 'warm' AND m.version >= 4 ORDER BY m.version;
SELECT w.precision_at_k > f.precision_at_k AS warm_beats_fresh_epoch,
       w.precision_at_k >= a.precision_at_k - 0.05 AS warm_near_full
  FROM bpr.bpr_evaluate('warm', 'planted.ratings_test', version => 4) w,
       bpr.bpr_evaluate('warm', 'planted.ratings_test', version => 5) f,
       bpr.bpr_evaluate('warm', 'planted.ratings_test', version => 6) a;

-- a hidden layer in the user tower: its dense layers start fresh, the rest carries over
SET client_min_messages = notice;
SELECT version FROM bpr.bpr_train('warm', ratings => 'planted.wr', users => 'planted.users',
                                  items => 'planted.wi', seed => 3, epochs => 1, user_layers => '{16}',
                                  warm_start => true, activate => 'never');
-- another embedding width: nothing carries over (field embeddings have that width too)
SELECT version FROM bpr.bpr_train('warm', ratings => 'planted.wr', users => 'planted.users',
                                  items => 'planted.wi', seed => 3, epochs => 1, dim => 8,
                                  warm_start => true, activate => 'never');
SET client_min_messages = warning;

-- text keys: vectors carry over by key
CREATE TABLE planted.wt AS SELECT 'u' || user_id AS user_id, 'i' || item_id AS item_id, rating
  FROM planted.ratings;
SELECT version FROM bpr.bpr_train('warm_text', ratings => 'planted.wt', seed => 1, epochs => 3);
SELECT version FROM bpr.bpr_train('warm_text', ratings => 'planted.wt', seed => 2, epochs => 1,
                                  learning_rate => 1e-9, warm_start => true);
SELECT data->'warm_start'->>'users' AS users, data->'warm_start'->>'items' AS items
  FROM bpr.models WHERE model = 'warm_text' AND version = 2;
SELECT pg_temp.vector_diff('warm_text', 1, 2) < 1e-5 AS warm_reproduces;

SELECT bpr.bpr_drop('warm'), bpr.bpr_drop('warm_text');
DROP TABLE planted.wr, planted.wi, planted.wt;
