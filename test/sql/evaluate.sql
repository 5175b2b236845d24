-- bpr_evaluate checked against an independent computation in plain SQL (EVALUATION.md)
SET search_path = planted, public;
SET bpr.progress = off;
SELECT version FROM bpr.bpr_train('ev', ratings => 'planted.ratings', users => 'planted.users',
                                  items => 'planted.items', epochs => 2, seed => 5);
CREATE TEMP TABLE ev AS SELECT * FROM bpr.bpr_evaluate('ev', 'planted.ratings_test', 10);

-- every candidate: items of the model the user did not rate in train, ranked by score then id
CREATE TEMP TABLE ev_items AS SELECT DISTINCT item_id FROM planted.ratings;
CREATE TEMP TABLE ev_users AS SELECT DISTINCT user_id FROM planted.ratings_test WHERE rating >= 4;
CREATE TEMP TABLE ranked AS
SELECT u.user_id, i.item_id, s.score,
       row_number() OVER (PARTITION BY u.user_id ORDER BY s.score DESC, i.item_id) AS r,
       EXISTS (SELECT 1 FROM planted.ratings_test t WHERE t.user_id = u.user_id AND t.item_id = i.item_id AND t.rating >= 4) AS rel
  FROM ev_users u CROSS JOIN ev_items i
 CROSS JOIN LATERAL (SELECT bpr.bpr_score(u.user_id, i.item_id, 'ev') AS score) s
 WHERE NOT EXISTS (SELECT 1 FROM planted.ratings x WHERE x.user_id = u.user_id AND x.item_id = i.item_id);
CREATE TEMP TABLE per_user AS
SELECT user_id,
       count(*) FILTER (WHERE rel AND r <= 10) AS hits,
       count(*) FILTER (WHERE rel) AS n_rel,
       coalesce(sum(1 / log(2, r + 1)) FILTER (WHERE rel AND r <= 10), 0) AS dcg
  FROM ranked GROUP BY user_id;
CREATE TEMP TABLE ap AS
SELECT user_id, sum(hits_so_far::float8 / r) AS ap_sum
  FROM (SELECT user_id, r, count(*) OVER (PARTITION BY user_id ORDER BY r) AS hits_so_far
          FROM ranked WHERE rel AND r <= 10) h
 GROUP BY user_id;
CREATE TEMP TABLE sql_metrics AS
SELECT count(*) AS users,
       avg(hits / 10.0) AS precision_at_k,
       avg(hits::float8 / n_rel) AS recall_at_k,
       avg(dcg / (SELECT sum(1 / log(2, g + 1)) FROM generate_series(1, least(n_rel, 10)) g)) AS ndcg_at_k,
       avg(coalesce((SELECT ap_sum FROM ap WHERE ap.user_id = p.user_id), 0) / least(n_rel, 10)) AS map_at_k,
       (SELECT count(DISTINCT item_id) FROM ranked WHERE r <= 10)::float8 / (SELECT count(*) FROM ev_items) AS coverage_at_k
  FROM per_user p;
-- rank_auc: liked test items against items never rated in train or test, per user
CREATE TEMP TABLE sql_rank_auc AS
SELECT avg(auc) AS rank_auc FROM (
	SELECT l.user_id, avg(CASE WHEN l.score > n.score THEN 1.0 WHEN l.score = n.score THEN 0.5 ELSE 0 END) AS auc
	  FROM ranked l JOIN ranked n ON n.user_id = l.user_id
	 WHERE l.rel AND NOT EXISTS (SELECT 1 FROM planted.ratings_test t WHERE t.user_id = n.user_id AND t.item_id = n.item_id)
	 GROUP BY l.user_id) a;
-- seed_auc: every test row, label liked
CREATE TEMP TABLE test_scored AS
SELECT bpr.bpr_score(user_id, item_id, 'ev') AS score, rating >= 4 AS liked FROM planted.ratings_test;
CREATE TEMP TABLE sql_seed_auc AS
SELECT avg(CASE WHEN p.score > n.score THEN 1.0 WHEN p.score = n.score THEN 0.5 ELSE 0 END) AS seed_auc
  FROM test_scored p, test_scored n WHERE p.liked AND NOT n.liked;

SELECT e.users = s.users AS users,
       abs(e.precision_at_k - s.precision_at_k) < 2e-3 AS precision,
       abs(e.recall_at_k - s.recall_at_k) < 2e-3 AS recall,
       abs(e.ndcg_at_k - s.ndcg_at_k) < 2e-3 AS ndcg,
       abs(e.map_at_k - s.map_at_k) < 2e-3 AS map,
       abs(e.coverage_at_k - s.coverage_at_k) < 2e-2 AS coverage,
       abs(e.rank_auc - r.rank_auc) < 1e-3 AS rank_auc,
       abs(e.seed_auc - a.seed_auc) < 1e-3 AS seed_auc
  FROM ev e, sql_metrics s, sql_rank_auc r, sql_seed_auc a;
-- metrics are in range
SELECT users > 0 AS has_users, seed_auc BETWEEN 0 AND 1 AS seed_auc_range, precision_at_k BETWEEN 0 AND 1 AS p_range,
       coverage_at_k BETWEEN 0 AND 1 AS coverage_range FROM ev;

-- column mapping arguments, a different k and threshold
CREATE TEMP TABLE renamed AS SELECT user_id AS u, item_id AS i, rating AS stars FROM planted.ratings_test;
SELECT users, round(precision_at_k::numeric, 6) = (SELECT round(precision_at_k::numeric, 6) FROM ev) AS same_precision
  FROM bpr.bpr_evaluate('ev', 'renamed', 10, user_column => 'u', item_column => 'i', rating_column => 'stars');
SELECT users FROM bpr.bpr_evaluate('ev', 'planted.ratings_test', 5, positive_threshold => 5);
SELECT expect_error($$SELECT * FROM bpr.bpr_evaluate('ev', 'planted.ratings_test', 0)$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_evaluate('ev', 'renamed')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_evaluate('nosuch', 'planted.ratings_test')$$);

-- validation during training: per-epoch log, early stopping keeps the best epoch
SELECT epochs <= 30 AS stopped_or_finished
  FROM bpr.bpr_train('val', ratings => 'planted.ratings', items => 'planted.items', epochs => 30,
                     validation => 'planted.ratings_test', patience => 2, seed => 1);
SELECT count(*) > 0 AS logged, bool_and(metrics ? 'precision' AND metrics ? 'ndcg') AS with_metrics
  FROM bpr.training_log WHERE model = 'val';
SELECT (m.metrics->>'precision')::float8 = (SELECT max((l.metrics->>'precision')::float8) FROM bpr.training_log l WHERE l.model = 'val') AS best_epoch_kept,
       abs((m.metrics->>'precision')::float8 - (SELECT precision_at_k FROM bpr.bpr_evaluate('val', 'planted.ratings_test'))) < 1e-6 AS best_weights_stored
  FROM bpr.models m WHERE m.model = 'val';

-- each epoch ranks a seeded sample of at most bpr.validation_users users with a liked row (its
-- cost stays bounded on a large validation table); the log says of how many; bpr_evaluate ranks all
SET bpr.validation_users = 50;
SELECT version FROM bpr.bpr_train('vs', ratings => 'planted.ratings', epochs => 2,
                                  validation => 'planted.ratings_test', seed => 1);
SELECT version FROM bpr.bpr_train('vs', ratings => 'planted.ratings', epochs => 2,
                                  validation => 'planted.ratings_test', seed => 1);
SET bpr.validation_users = 0;
SELECT version FROM bpr.bpr_train('vs', ratings => 'planted.ratings', epochs => 2,
                                  validation => 'planted.ratings_test', seed => 1);
RESET bpr.validation_users;
SELECT l.version, l.epoch, l.metrics->>'users' AS users,
       (l.metrics->>'sampled_from')::int = e.users AS sampled_from_all, l.metrics ? 'sampled_from' AS sampled
  FROM bpr.training_log l, bpr.bpr_evaluate('vs', 'planted.ratings_test') e
 WHERE l.model = 'vs' ORDER BY 1, 2;
-- the same seed samples the same users
SELECT a.metrics - 'seconds' = b.metrics - 'seconds' AS same_sample_same_metrics
  FROM bpr.training_log a JOIN bpr.training_log b USING (model, epoch)
 WHERE a.model = 'vs' AND a.version = 1 AND b.version = 2 AND a.epoch = 2;
SELECT bpr.bpr_drop('vs');

-- users the model never saw are scored from their features (cold start), not skipped: a
-- model trained on users 1-160 evaluated on users 161-200 alone
CREATE VIEW planted.ratings_160 AS SELECT * FROM planted.ratings WHERE user_id <= 160;
CREATE TABLE planted.cold_test AS SELECT * FROM planted.ratings_test WHERE user_id > 160;
SELECT version FROM bpr.bpr_train('coldev', ratings => 'planted.ratings_160', users => 'planted.users',
                                  items => 'planted.items', epochs => 10, seed => 1);
SELECT users, rank_auc > 0.75 AS ranks_liked_high, seed_auc > 0.9 AS liked_above_disliked
  FROM bpr.bpr_evaluate('coldev', 'planted.cold_test');
SELECT bpr.bpr_drop('coldev');
DROP VIEW planted.ratings_160;
DROP TABLE planted.cold_test;
