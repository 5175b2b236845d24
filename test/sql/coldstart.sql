-- Cold start: users and items the model never saw are scored from their features
SET search_path = planted, public;
SET bpr.progress = off;

-- a features-only model (no ids): a new user with a trained user's features scores the same
SELECT version FROM bpr.bpr_train('cold', ratings => 'planted.ratings', users => 'planted.users',
                                  items => 'planted.items', use_ids => false, epochs => 3, seed => 3);
INSERT INTO planted.users SELECT 5001, age, segment, active FROM planted.users WHERE user_id = 42;
INSERT INTO planted.items SELECT 5001, 'New ' || title, genres, year, price FROM planted.items WHERE item_id = 7;
-- the items' score offsets: the vector's last column, q_i in an item's, 1 in a cold user's,
-- 0 in the vector of every user the model was trained on (their scores do not depend on q_i)
CREATE TEMP TABLE item_q AS
SELECT e.id::int AS item_id, e.vector[cardinality(e.vector)] AS q
  FROM bpr.embeddings e JOIN bpr.models m USING (model, version)
 WHERE m.model = 'cold' AND m.active AND e.side = 'item';
SELECT m.vector_width = (m.hyperparameters->>'dim')::int + 3 AS width_bias_and_two_offsets,
       count(*) AS trained_users, count(*) FILTER (WHERE e.vector[cardinality(e.vector)] = 0) AS without_item_offsets
  FROM bpr.embeddings e JOIN bpr.models m USING (model, version)
 WHERE m.model = 'cold' AND m.active AND e.side = 'user' GROUP BY m.vector_width, m.hyperparameters;
-- (a cold user's scores differ from the twin's by one constant, their score offsets' difference, plus
-- the items' offsets)
SELECT stddev(bpr.bpr_score(5001, item_id, 'cold') - bpr.bpr_score(42, item_id, 'cold') - q) < 1e-4 AS cold_user_like_twin,
       stddev(bpr.bpr_score(5001, item_id, 'cold') - bpr.bpr_score(42, item_id, 'cold')) > 1e-3 AS item_offsets_for_cold_user,
       abs(bpr.bpr_score(42, 5001, 'cold') - bpr.bpr_score(42, 7, 'cold')) < 1e-4 AS cold_item_like_twin,
       abs(bpr.bpr_score(5001, 5001, 'cold') - (bpr.bpr_score(5001, 7, 'cold') - (SELECT q FROM item_q WHERE item_id = 7))) < 1e-4 AS both_cold
  FROM item_q WHERE item_id <= 120;
-- the offset of a cold user is the one stored for users without ratings (the column before the last)
SELECT abs((bpr.bpr_score(5001, 7, 'cold') - bpr.bpr_score(42, 7, 'cold') - q.q) -
           ((m.data->>'cold_user_offset')::float8 - e.vector[cardinality(e.vector) - 1])) < 1e-4 AS cold_offset_used
  FROM bpr.models m JOIN bpr.embeddings e ON e.model = m.model AND e.version = m.version AND e.side = 'user' AND e.id = 42,
       item_q q
 WHERE m.model = 'cold' AND q.item_id = 7;
-- a rated item's offset as fitted, its cold twin (no ratings) none; for a cold user only:
-- an item whose raters like it less than the global share is lowered by
-- item_offsets * spread * (logit(share) - logit(global share)), shares smoothed by two ratings
-- at the global share; the item most liked by its raters is not raised
CREATE TEMP TABLE item_share AS
SELECT item_id, count(*) FILTER (WHERE rating >= 4) AS liked, count(*) FILTER (WHERE rating <= 3) AS disliked
  FROM planted.ratings GROUP BY item_id;
INSERT INTO planted.items SELECT 5101, 'Twin ' || title, genres, year, price FROM planted.items
 WHERE item_id = (SELECT item_id FROM item_share ORDER BY liked::float8 / (liked + disliked), item_id LIMIT 1);
INSERT INTO planted.items SELECT 5102, 'Twin ' || title, genres, year, price FROM planted.items
 WHERE item_id = (SELECT item_id FROM item_share ORDER BY liked::float8 / (liked + disliked) DESC, item_id LIMIT 1);
WITH fit AS (SELECT (hyperparameters->>'item_offsets')::float8 AS w, (data->>'offset_spread')::float8 AS spread,
                    (data->>'offset_global_share')::float8 AS g
               FROM bpr.models WHERE model = 'cold' AND active),
twins AS (SELECT 5101 AS twin, item_id FROM planted.items WHERE item_id = (SELECT item_id FROM item_share ORDER BY liked::float8 / (liked + disliked), item_id LIMIT 1)
          UNION ALL
          SELECT 5102, item_id FROM planted.items WHERE item_id = (SELECT item_id FROM item_share ORDER BY liked::float8 / (liked + disliked) DESC, item_id LIMIT 1)),
expected AS (SELECT t.twin, t.item_id,
                    least(0, w * spread * (ln(r / (1 - r)) - ln(g / (1 - g)))) AS item_offset
               FROM twins t JOIN item_share s USING (item_id), fit,
                    LATERAL (SELECT (s.liked + 2 * g) / (s.liked + s.disliked + 2) AS r) rr)
SELECT (SELECT w FROM fit) AS item_offsets,
       bool_and(abs((bpr.bpr_score(5001, item_id, 'cold') - bpr.bpr_score(5001, twin, 'cold')) - item_offset) < 1e-4) AS offset_as_fitted,
       bool_and(abs(bpr.bpr_score(42, item_id, 'cold') - bpr.bpr_score(42, twin, 'cold')) < 1e-4) AS none_for_trained_user,
       min(item_offset) FILTER (WHERE twin = 5101) < -0.01 AS least_liked_lowered,
       max(item_offset) FILTER (WHERE twin = 5102) = 0 AS most_liked_unchanged
  FROM expected;
DROP TABLE item_share;
DELETE FROM planted.items WHERE item_id IN (5101, 5102);

-- recommendations for a cold user: the twin's scores plus the items' offsets (rated items not excluded)
SELECT array_agg(item_id ORDER BY rank) = (SELECT array_agg(item_id ORDER BY bpr.bpr_score(42, item_id, 'cold') + q DESC)
                                             FROM (SELECT item_id, q FROM item_q
                                                    ORDER BY bpr.bpr_score(42, item_id, 'cold') + q DESC LIMIT 5) t) AS same_top5
  FROM bpr.bpr_recommend(5001, 5, 'cold', exclude_rated => false);
DROP TABLE item_q;

-- a hybrid model (ids + features): cold entities get a score from features alone
SELECT version FROM bpr.bpr_train('hybrid', ratings => 'planted.ratings', users => 'planted.users',
                                  items => 'planted.items', epochs => 3, seed => 3);
SELECT bpr.bpr_score(5001, 7, 'hybrid') IS NOT NULL AS cold_user, bpr.bpr_score(42, 5001, 'hybrid') IS NOT NULL AS cold_item;
SELECT count(*) AS cold_user_top5 FROM bpr.bpr_recommend(5001, 5, 'hybrid');
-- NULL features count as missing
INSERT INTO planted.users VALUES (5002, NULL, NULL, NULL);
INSERT INTO planted.items VALUES (5002, NULL, NULL, NULL, NULL);
SELECT bpr.bpr_score(5002, 5002, 'hybrid') IS NOT NULL AS all_null_features;
-- an unseen category is a missing one
INSERT INTO planted.users VALUES (5003, 30, 'seg-unheard-of', true);
INSERT INTO planted.items VALUES (5003, 'x', '{western,drama}', 2000, 1);
SELECT bpr.bpr_score(5003, 5003, 'hybrid') IS NOT NULL AS unseen_categories;

-- a cold start refused (no SELECT on the stored features) is tried again once allowed
CREATE ROLE regress_bpr_partial;
GRANT USAGE ON SCHEMA bpr, planted TO regress_bpr_partial;
GRANT SELECT ON bpr.model_names, bpr.models, bpr.embeddings, planted.users, planted.items TO regress_bpr_partial;
SELECT version FROM bpr.bpr_train('cold2', ratings => 'planted.ratings', users => 'planted.users',
                                  items => 'planted.items', epochs => 1, seed => 3);
SET ROLE regress_bpr_partial;
SELECT expect_error($$SELECT bpr.bpr_score(5001, 7, 'cold2')$$);
RESET ROLE;
SELECT bpr.bpr_score(5001, 7, 'cold2') IS NOT NULL AS cold_start_after_grant;
DROP OWNED BY regress_bpr_partial;
DROP ROLE regress_bpr_partial;

-- unknown everywhere: NULL score, and an error from bpr_recommend
SELECT bpr.bpr_score(9999, 7, 'hybrid') IS NULL AS unknown_user, bpr.bpr_score(42, 9999, 'hybrid') IS NULL AS unknown_item;
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend(9999, 5, 'hybrid')$$);

-- ids only (no feature tables): no cold start
SELECT version FROM bpr.bpr_train('idonly', ratings => 'planted.ratings', epochs => 1);
SELECT bpr.bpr_score(5001, 7, 'idonly') IS NULL AS no_cold_start;

-- a new item that was in the items table at training is recommended, scored from its features
SELECT count(*) AS new_item_recommended FROM bpr.bpr_recommend(42, 1000, 'hybrid') WHERE item_id > 5000;
SELECT count(*) AS unless_cold_items_false FROM bpr.bpr_recommend(42, 1000, 'hybrid', cold_items => false) WHERE item_id > 5000;

DELETE FROM planted.users WHERE user_id > 5000;
DELETE FROM planted.items WHERE item_id > 5000;
