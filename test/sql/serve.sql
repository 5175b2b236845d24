-- bpr_score and bpr_recommend
SET search_path = planted, public;
SET bpr.progress = off;
SELECT version FROM bpr.bpr_train('s', ratings => 'planted.ratings', users => 'planted.users',
                                  items => 'planted.items', epochs => 5, seed => 1);

-- a score is the dot product of the stored vectors
SELECT bool_and(abs(bpr.bpr_score(u.id, i.id, 's') -
                    (SELECT sum(a * b) FROM unnest(u.vector, i.vector) AS t(a, b))) < 1e-4) AS dot_products
  FROM bpr.embeddings u, bpr.embeddings i
 WHERE u.model = 's' AND u.side = 'user' AND u.id <= 10
   AND i.model = 's' AND i.side = 'item' AND i.id <= 10;

-- NULL in, NULL out; unknown everywhere: NULL
SELECT bpr.bpr_score(NULL, 1, 's') IS NULL AS null_user, bpr.bpr_score(1, NULL, 's') IS NULL AS null_item,
       bpr.bpr_score(100000, 1, 's') IS NULL AS unknown_user, bpr.bpr_score(1, 100000, 's') IS NULL AS unknown_item;
-- int arguments, and the default model when it is named in bpr.model
SET bpr.model = 's';
SELECT bpr.bpr_score(1, 2) = bpr.bpr_score(1::bigint, 2::bigint, 's') AS default_model;
RESET bpr.model;
-- more than one model and none named
SELECT expect_error($$SELECT bpr.bpr_score(1, 2)$$);
SELECT expect_error($$SELECT bpr.bpr_score(1, 2, 'nosuch')$$);

-- top-k: best first, ranks 1..k, equal to a brute-force ranking with bpr_score
SELECT count(*) AS k, min(rank) AS first, max(rank) AS last,
       bool_and(score IS NOT NULL) AS scored FROM bpr.bpr_recommend(42, 10, 's');
WITH brute AS (
	SELECT i.item_id, bpr.bpr_score(42, i.item_id, 's') AS score
	  FROM planted.items i
	 WHERE i.item_id NOT IN (SELECT item_id FROM planted.ratings WHERE user_id = 42)
	 ORDER BY 2 DESC, 1 LIMIT 10)
SELECT array_agg(item_id ORDER BY score DESC, item_id) = (SELECT array_agg(item_id ORDER BY rank) FROM bpr.bpr_recommend(42, 10, 's')) AS same_as_brute_force
  FROM brute;
SELECT bool_and(a.score >= b.score) AS ordered
  FROM bpr.bpr_recommend(42, 10, 's') a JOIN bpr.bpr_recommend(42, 10, 's') b ON b.rank = a.rank + 1;

-- the planted structure: user 42 (group 2) is recommended drama
SELECT i.genres[1] AS genre, count(*)
  FROM bpr.bpr_recommend(42, 10, 's') r JOIN planted.items i ON i.item_id = r.item_id
 GROUP BY 1 ORDER BY 2 DESC LIMIT 1;

-- exclude_rated: rated items are skipped, as the ratings table is now
SELECT count(*) AS rated_in_top FROM bpr.bpr_recommend(42, 200, 's') r
  JOIN planted.ratings x ON x.user_id = 42 AND x.item_id = r.item_id;
SELECT count(*) AS all_items FROM bpr.bpr_recommend(42, 1000, 's', exclude_rated => false);
CREATE TEMP TABLE top1 AS SELECT item_id FROM bpr.bpr_recommend(42, 1, 's');
INSERT INTO planted.ratings SELECT 42, item_id, 5 FROM top1;
SELECT count(*) AS new_rating_excluded FROM bpr.bpr_recommend(42, 10, 's') WHERE item_id IN (SELECT item_id FROM top1);
DELETE FROM planted.ratings WHERE user_id = 42 AND item_id IN (SELECT item_id FROM top1) AND rating = 5
   AND ctid = (SELECT max(ctid) FROM planted.ratings WHERE user_id = 42 AND item_id IN (SELECT item_id FROM top1));

-- k edge cases, NULLs
SELECT count(*) FROM bpr.bpr_recommend(42, 0, 's');
SELECT count(*) FROM bpr.bpr_recommend(NULL, 5, 's');
SELECT count(*) FROM bpr.bpr_recommend(42, NULL, 's');
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend(42, -1, 's')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend(100000, 5, 's')$$);

-- joined with the catalog, and LATERAL for many users
SELECT r.rank, i.title IS NOT NULL AS has_title
  FROM bpr.bpr_recommend(42, 3, 's') r JOIN planted.items i ON i.item_id = r.item_id ORDER BY r.rank;
SELECT count(*) AS rows, count(DISTINCT u.user_id) AS users
  FROM planted.users u CROSS JOIN LATERAL bpr.bpr_recommend(u.user_id, 5, 's') r
 WHERE u.user_id <= 20;

-- privileges: reading a model needs SELECT on its tables
CREATE ROLE regress_bpr_nobody;
SET ROLE regress_bpr_nobody;
SELECT expect_error($$SELECT bpr.bpr_score(1, 2, 's')$$);
RESET ROLE;
DROP ROLE regress_bpr_nobody;

-- OpenBLAS worker threads (if the library started any) block the signals a backend handles:
-- HUP, INT, QUIT, USR1, USR2, ALRM, TERM, URG (mask 0x406A07)
SELECT count(*) AS blas_threads_taking_signals
  FROM pg_ls_dir('/proc/' || pg_backend_pid() || '/task') AS t(tid)
 WHERE tid::int <> pg_backend_pid()
   AND (('x' || lpad(substring(pg_read_file('/proc/' || pg_backend_pid() || '/task/' || tid || '/status')
                               FROM 'SigBlk:\s*([0-9a-f]+)'), 16, '0'))::bit(64)::bigint & 4221447) <> 4221447;
