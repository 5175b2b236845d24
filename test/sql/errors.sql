-- Bad input: a clear error with a SQLSTATE, and nothing left behind
SET search_path = planted, public;
SET bpr.progress = off;
CREATE TEMP TABLE before AS SELECT count(*) AS n FROM bpr.models;

-- missing table, missing column, wrong column types
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.nosuch')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', user_column => 'uid')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', rating_column => 'stars')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.items', user_column => 'price', item_column => 'item_id', rating_column => NULL)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.items', user_column => 'year', item_column => 'item_id', rating_column => 'title')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', user_column => 'item_id', item_column => 'item_id')$$);
-- a missing rating column suggests implicit feedback (in the HINT)
SELECT bpr.bpr_train('e', ratings => 'planted.items', user_column => 'year', item_column => 'item_id');
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', users => 'planted.users', user_features => '{nosuch}')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', items => 'planted.items', categorical => '{nosuch}')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', items => 'planted.items', categorical => '{price}')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', users => 'planted.users', user_features => '{user_id}')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', users => 'planted.users', user_features => '{age,age}')$$);
CREATE TABLE planted.users_odd (user_id int PRIMARY KEY, born date);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', users => 'planted.users_odd', user_features => '{born}')$$);

-- out-of-range and non-finite hyperparameters
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', dim => 0)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', dim => -3)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', epochs => 0)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', batch_size => 0)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', learning_rate => 'NaN')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', learning_rate => 0)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', l2 => 'Infinity')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', l2 => -1)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', positive_threshold => 'NaN')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', positive_threshold => 3, negative_threshold => 3)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', item_layers => '{64,0}')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', user_layers => '{1,2,3,4,5,6,7,8,9}')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', output => 'sigmoid')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', negatives => 'some')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', hard_negatives => 'very')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', hard_candidates => 0)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', preset => 'best')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', rated_share => 0.5)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', negatives => 'both', rated_share => 1.5)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', patience => 3)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', rating_column => NULL, negatives => 'rated')$$);
SELECT expect_error($$SELECT bpr.bpr_train(NULL, ratings => 'planted.ratings')$$);
SELECT expect_error($$SELECT bpr.bpr_train('', ratings => 'planted.ratings')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => NULL)$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', user_features => '{age,NULL}', users => 'planted.users')$$);

-- data problems: empty, no positives, nobody with a negative
CREATE TABLE planted.empty_ratings (user_id int, item_id int, rating int);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.empty_ratings')$$);
INSERT INTO planted.empty_ratings VALUES (NULL, 1, 5), (1, NULL, 5), (1, 1, NULL);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.empty_ratings')$$);
CREATE TABLE planted.low_ratings AS SELECT user_id, item_id, 2 AS rating FROM planted.ratings;
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.low_ratings')$$);
CREATE TABLE planted.high_ratings AS SELECT user_id, item_id, 5 AS rating FROM planted.ratings;
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.high_ratings', negatives => 'rated')$$);
-- with rated negatives, users who disliked nothing are left out, with a NOTICE
CREATE TABLE planted.some_low AS SELECT user_id, item_id, CASE WHEN user_id % 2 = 0 THEN 5 ELSE rating END AS rating FROM planted.ratings;
SELECT users, positives FROM bpr.bpr_train('half', ratings => 'planted.some_low', negatives => 'rated', hard_negatives => 'none', epochs => 1);
SELECT (data->>'positives')::int - (data->>'trained_positives')::int AS untrained_positives FROM bpr.models WHERE model = 'half';
SELECT bpr.bpr_drop('half');
-- users who rated every item have no unrated negative
CREATE TABLE planted.full_ratings AS SELECT u AS user_id, i AS item_id, 5 AS rating FROM generate_series(1, 3) u, generate_series(1, 4) i;
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.full_ratings', negatives => 'unrated')$$);

-- NULL ids or ratings are skipped with a count in a NOTICE; duplicates are folded
CREATE TABLE planted.dirty_ratings AS SELECT * FROM planted.ratings;
INSERT INTO planted.dirty_ratings VALUES (NULL, 1, 5), (1, NULL, 4), (2, 3, NULL);
INSERT INTO planted.dirty_ratings SELECT user_id, item_id, 1 FROM planted.ratings WHERE user_id = 1 AND item_id = (SELECT min(item_id) FROM planted.ratings WHERE user_id = 1);
SELECT users, items FROM bpr.bpr_train('dirty', ratings => 'planted.dirty_ratings', epochs => 1);
SELECT data->>'skipped_rows' AS skipped, data->>'duplicate_rows' AS duplicates FROM bpr.models WHERE model = 'dirty';
SELECT bpr.bpr_drop('dirty');

-- thresholds compare exactly, also for values a float cannot hold (0.7, 0.3)
CREATE TABLE planted.fractional AS
SELECT user_id, item_id, CASE WHEN rating >= 4 THEN 0.7 ELSE 0.3 END::numeric AS rating FROM planted.ratings;
SELECT positives = (SELECT count(*) FROM planted.ratings WHERE rating >= 4) AS exact_positives
  FROM bpr.bpr_train('frac', ratings => 'planted.fractional', positive_threshold => 0.7,
                     negative_threshold => 0.3, negatives => 'rated', hard_negatives => 'none', epochs => 1);
SELECT hyperparameters->>'positive_threshold' AS pos, hyperparameters->>'negative_threshold' AS neg
  FROM bpr.models WHERE model = 'frac';
SELECT bpr.bpr_drop('frac');

-- a table the caller may not read
CREATE ROLE regress_bpr_reader;
GRANT USAGE ON SCHEMA planted, bpr TO regress_bpr_reader;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA bpr TO regress_bpr_reader;
GRANT SELECT ON planted.ratings TO regress_bpr_reader;
SET ROLE regress_bpr_reader;
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', users => 'planted.users')$$);
SELECT expect_error($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings_test')$$);
-- settings that protect the server are a superuser's
SELECT expect_error($$SET bpr.max_threads = 64$$);
SELECT expect_error($$SET bpr.max_memory = '10GB'$$);
SELECT expect_error($$SET bpr.blas_threads = 2$$);
RESET ROLE;
DROP OWNED BY regress_bpr_reader;
DROP ROLE regress_bpr_reader;

-- threads: the argument, else bpr.threads, capped by bpr.max_threads and by one per 32 triplets
-- of a batch; the registry records how many a version used
SELECT version FROM bpr.bpr_train('th', ratings => 'planted.ratings', epochs => 1, threads => 4);
SET bpr.max_threads = 3;
SELECT version FROM bpr.bpr_train('th', ratings => 'planted.ratings', epochs => 1, threads => 4);
SET bpr.threads = 1;
SELECT version FROM bpr.bpr_train('th', ratings => 'planted.ratings', epochs => 1);
RESET bpr.max_threads;
RESET bpr.threads;
SELECT version FROM bpr.bpr_train('th', ratings => 'planted.ratings', epochs => 1, batch_size => 64, threads => 4);
SELECT version, data->>'threads' AS threads FROM bpr.models WHERE model = 'th' ORDER BY version;
SELECT expect_error($$SELECT bpr.bpr_train('th', ratings => 'planted.ratings', threads => 65)$$);
SELECT expect_error($$SELECT bpr.bpr_train('th', ratings => 'planted.ratings', threads => 0)$$);
SELECT bpr.bpr_drop('th');

-- lock-free threads (bpr.reproducible = off, the default): each thread trains whole batches and
-- updates the shared weights at once; a version so trained ranks the held-out ratings as well as
-- a synchronous one, and records that it is not reproducible
SET bpr.reproducible = off;
SELECT version FROM bpr.bpr_train('lf', ratings => 'planted.ratings', threads => 2, seed => 5);
SELECT version FROM bpr.bpr_train('lf', ratings => 'planted.ratings', threads => 2, seed => 5);
RESET bpr.reproducible;
SELECT version FROM bpr.bpr_train('lf', ratings => 'planted.ratings', threads => 2, seed => 5);
SELECT version, data->>'threads' AS threads, data->>'reproducible' AS reproducible
  FROM bpr.models WHERE model = 'lf' ORDER BY version;
SELECT e1.rank_auc > 0.8 AS lock_free_ranks, abs(e1.rank_auc - e3.rank_auc) < 0.03 AS auc_close,
       abs(e2.rank_auc - e3.rank_auc) < 0.03 AS again_close, abs(e1.precision_at_k - e3.precision_at_k) < 0.05 AS precision_close
  FROM bpr.bpr_evaluate('lf', 'planted.ratings_test', version => 1) e1,
       bpr.bpr_evaluate('lf', 'planted.ratings_test', version => 2) e2,
       bpr.bpr_evaluate('lf', 'planted.ratings_test', version => 3) e3;
SELECT bpr.bpr_drop('lf');

-- the memory budget covers every phase: a budget too small fails there, with 53200, before
-- the memory is allocated
CREATE FUNCTION pg_temp.budget_phase(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	detail text;
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ' while ' || substring(detail FROM 'while (.*); the limit');
END
$$;
SET bpr.max_memory = '300kB';
SELECT pg_temp.budget_phase($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', items => 'planted.items')$$);
CREATE TABLE planted.wide_items AS
SELECT item_id, ARRAY(SELECT 'tag-' || item_id || '-' || t FROM generate_series(1, 1500) t) AS tags
  FROM planted.items;
SET bpr.max_memory = '1500kB';
SELECT pg_temp.budget_phase($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', items => 'planted.wide_items', item_features => '{tags}')$$);
SET bpr.max_memory = '1MB';
SELECT pg_temp.budget_phase($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', items => 'planted.items')$$);
SET bpr.max_memory = '2400kB';
SELECT pg_temp.budget_phase($$SELECT bpr.bpr_train('e', ratings => 'planted.ratings', users => 'planted.users', items => 'planted.items', validation => 'planted.ratings_test')$$);
-- a warm start reads the active version's vectors: 20,000 items here, far more than this training's
RESET bpr.max_memory;
CREATE TABLE planted.many AS SELECT (i % 200) + 1 AS user_id, i AS item_id, 5 AS rating FROM generate_series(1, 20000) i;
CREATE INDEX ON planted.many (user_id);
SELECT version FROM bpr.bpr_train('e_warm', ratings => 'planted.many', epochs => 1);
SET bpr.max_memory = '3MB';
SELECT pg_temp.budget_phase($$SELECT bpr.bpr_train('e_warm', ratings => 'planted.ratings', warm_start => true)$$);
SELECT pg_temp.budget_phase($$SELECT bpr.bpr_train('e_warm', ratings => 'planted.ratings')$$);
RESET bpr.max_memory;
SELECT bpr.bpr_drop('e_warm');
DROP TABLE planted.many;
DROP TABLE planted.wide_items;

-- a cancelled training leaves nothing behind
SET statement_timeout = '200ms';
SELECT model FROM bpr.bpr_train('e', ratings => 'planted.ratings', epochs => 100000);
RESET statement_timeout;

SELECT (SELECT count(*) FROM bpr.models) - n AS new_models FROM before;
SELECT count(*) AS leftovers FROM bpr.embeddings WHERE model = 'e';
