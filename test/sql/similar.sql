-- bpr_similar_items, bpr_similar_users, bpr_recommend_users
SET search_path = planted, public;
SET bpr.progress = off;
SET client_min_messages = warning;

-- item 5001 is in the items table but has no ratings: a cold item, scored from its features
INSERT INTO planted.items VALUES (5001, 'New drama', '{drama}', 2020, 9.99);
SELECT version FROM bpr.bpr_train('sim', ratings => 'planted.ratings', users => 'planted.users',
                                  items => 'planted.items', seed => 1);
SELECT data->>'cold_items' AS cold_items FROM bpr.models WHERE model = 'sim';

-- similar items share the planted genre: for every item, at least 4 of its top 5 have its genres[1]
SELECT count(*) AS items, count(*) FILTER (WHERE same >= 4) >= 110 AS mostly_same_genre
  FROM (SELECT i.item_id,
               (SELECT count(*) FROM bpr.bpr_similar_items(i.item_id, 5, 'sim') s
                  JOIN planted.items j ON j.item_id = s.item_id
                 WHERE j.genres[1] = i.genres[1]) AS same
          FROM planted.items i WHERE i.item_id <= 120) t;
-- the item itself is never among its similar items; ranks are 1..k; scores are cosines, best first
SELECT count(*) AS self_found
  FROM planted.items i CROSS JOIN LATERAL bpr.bpr_similar_items(i.item_id, 200, 'sim') s
 WHERE s.item_id = i.item_id;
SELECT count(*) AS k, min(rank) AS first, max(rank) AS last, count(DISTINCT rank) AS ranks,
       bool_and(score BETWEEN -1.0001 AND 1.0001) AS cosines
  FROM bpr.bpr_similar_items(7, 10, 'sim');
SELECT bool_and(a.score >= b.score) AS ordered
  FROM bpr.bpr_similar_items(7, 20, 'sim') a JOIN bpr.bpr_similar_items(7, 20, 'sim') b ON b.rank = a.rank + 1;
-- k beyond the catalogue: every other item once
SELECT count(*) AS all_others, count(DISTINCT item_id) AS distinct_items FROM bpr.bpr_similar_items(7, 1000, 'sim');
-- the cosine is over the embedding alone: equal to one computed from the stored vectors' first dim values
WITH v AS (SELECT e.id, e.vector[1:(m.hyperparameters->>'dim')::int] AS emb
             FROM bpr.embeddings e JOIN bpr.models m USING (model, version)
            WHERE e.model = 'sim' AND e.side = 'item'),
     cos AS (SELECT b.id, (SELECT sum(x * y) FROM unnest(a.emb, b.emb) t(x, y)) /
                   sqrt((SELECT sum(x * x) FROM unnest(a.emb) x) * (SELECT sum(y * y) FROM unnest(b.emb) y)) AS c
               FROM v a, v b WHERE a.id = 7 AND b.id <> 7)
SELECT bool_and(abs(s.score - cos.c) < 1e-4) AS embedding_cosine,
       count(*) AS compared
  FROM bpr.bpr_similar_items(7, 10, 'sim') s JOIN cos ON cos.id = s.item_id;

-- filters: exactly the allowed items (never the item itself, unknown keys ignored), ranked 1..n
SELECT array_agg(item_id ORDER BY item_id) AS allowed, array_agg(rank ORDER BY rank) AS ranks
  FROM bpr.bpr_similar_items(7, 10, 'sim', items => ARRAY[3, 7, 11, 15, 19, 99999]);
SELECT count(*) AS k_rows, count(*) FILTER (WHERE item_id IN (11, 15)) AS excluded_found,
       max(rank) AS last
  FROM bpr.bpr_similar_items(7, 10, 'sim', exclude => ARRAY[11, 15]);
SELECT array_agg(item_id ORDER BY item_id) = ARRAY[3, 19] AS filters_combine
  FROM bpr.bpr_similar_items(7, 10, 'sim', items => ARRAY[3, 7, 11, 19], exclude => ARRAY[11]);
SELECT count(*) AS k_of_allowed
  FROM bpr.bpr_similar_items(7, 3, 'sim', items => (SELECT array_agg(item_id) FROM planted.items WHERE item_id % 2 = 0));
-- a literal array is read as text[] and parsed in the key type
SELECT count(*) AS literal_filter FROM bpr.bpr_similar_items(7, 10, 'sim', items => '{3,11}');

-- cold items: ranked unless cold_items => false; a cold item is compared through its features
SELECT count(*) FILTER (WHERE item_id = 5001) AS cold_ranked,
       (SELECT count(*) FROM bpr.bpr_similar_items(6, 1000, 'sim', cold_items => false) WHERE item_id = 5001) AS cold_left_out
  FROM bpr.bpr_similar_items(6, 1000, 'sim');
SELECT count(*) AS cold_query_k, count(*) FILTER (WHERE item_id = 5001) AS self_found
  FROM bpr.bpr_similar_items(5001, 5, 'sim');
INSERT INTO planted.items VALUES (5002, 'Newer drama', '{drama}', 2021, 9.99);
SELECT count(*) AS unstored_cold_query_k FROM bpr.bpr_similar_items(5002, 5, 'sim');
DELETE FROM planted.items WHERE item_id = 5002;

-- similar users are in the same planted group: at least 4 of every user's top 5
SELECT count(*) AS users, count(*) FILTER (WHERE same >= 4) >= 180 AS mostly_same_group
  FROM (SELECT u.user_id,
               (SELECT count(*) FROM bpr.bpr_similar_users(u.user_id, 5, 'sim') s
                 WHERE s.user_id % 4 = u.user_id % 4) AS same
          FROM planted.users u) t;
SELECT count(*) AS self_found
  FROM planted.users u CROSS JOIN LATERAL bpr.bpr_similar_users(u.user_id, 300, 'sim') s
 WHERE s.user_id = u.user_id;
SELECT count(*) AS all_others FROM bpr.bpr_similar_users(42, 1000, 'sim');
SELECT array_agg(user_id ORDER BY user_id) AS allowed, max(rank) AS last
  FROM bpr.bpr_similar_users(42, 10, 'sim', users => ARRAY[1, 2, 3, 42], exclude => ARRAY[3]);

-- recommend_users: the users of a drama item (item_id % 4 = 2) are mostly group 2
SELECT count(*) AS k, count(*) FILTER (WHERE user_id % 4 = 2) >= 8 AS mostly_group_2
  FROM bpr.bpr_recommend_users(6, 10, 'sim');
SELECT count(*) AS items, count(*) FILTER (WHERE same >= 8) >= 110 AS mostly_its_group
  FROM (SELECT i.item_id,
               (SELECT count(*) FROM bpr.bpr_recommend_users(i.item_id, 10, 'sim') s
                 WHERE s.user_id % 4 = i.item_id % 4) AS same
          FROM planted.items i WHERE i.item_id <= 120) t;
-- scores are the users' scores for the item (score offsets included)
SELECT bool_and(abs(score - bpr.bpr_score(user_id, 6, 'sim')) < 1e-4) AS scores_match
  FROM bpr.bpr_recommend_users(6, 10, 'sim');
-- exclude_rated leaves out the users who rated it, as the ratings table is now
SELECT count(*) AS raters_found
  FROM bpr.bpr_recommend_users(6, 300, 'sim') r JOIN planted.ratings x ON x.user_id = r.user_id AND x.item_id = 6;
SELECT count(*) = (SELECT count(*) FROM planted.users) AS every_user
  FROM bpr.bpr_recommend_users(6, 300, 'sim', exclude_rated => false);
SELECT array_agg(user_id ORDER BY user_id) AS allowed
  FROM bpr.bpr_recommend_users(6, 10, 'sim', exclude_rated => false, users => ARRAY[2, 3, 4, 5], exclude => '{4}');
-- a cold item finds users too
SELECT count(*) AS cold_item_users FROM bpr.bpr_recommend_users(5001, 5, 'sim');

-- edge cases and errors
SELECT count(*) FROM bpr.bpr_similar_items(NULL::int, 5, 'sim');
SELECT count(*) FROM bpr.bpr_similar_users(42, NULL, 'sim');
SELECT count(*) FROM bpr.bpr_recommend_users(6, 0, 'sim');
SELECT expect_error($$SELECT * FROM bpr.bpr_similar_items(7, -1, 'sim')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_similar_items(99999, 5, 'sim')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_similar_users(99999, 5, 'sim')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend_users(99999, 5, 'sim')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_similar_items(7, 5, 'sim', items => 7)$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_similar_items(7, 5, 'nosuch')$$);

-- text and uuid keys: keys come back in the type of the key argument
CREATE TABLE planted.ratings_k AS
	SELECT md5(user_id::text)::uuid AS customer, 'sku-' || item_id AS sku, rating FROM planted.ratings;
CREATE INDEX ON planted.ratings_k (customer);
CREATE TABLE planted.users_k AS SELECT md5(user_id::text)::uuid AS customer, age, segment FROM planted.users;
CREATE TABLE planted.items_k AS SELECT 'sku-' || item_id AS sku, genres, year, price FROM planted.items;
SELECT version FROM bpr.bpr_train('simk', ratings => 'planted.ratings_k', users => 'planted.users_k',
                                  items => 'planted.items_k', user_column => 'customer', item_column => 'sku',
                                  seed => 1);
SELECT pg_typeof(s.item_id) AS item_type, count(*) AS k,
       count(*) FILTER (WHERE j.genres[1] = 'scifi') >= 4 AS mostly_scifi
  FROM bpr.bpr_similar_items('sku-7'::text, 5, 'simk') s JOIN planted.items_k j ON j.sku = s.item_id
 GROUP BY 1;
SELECT pg_typeof(s.user_id) AS user_type, count(*) AS k,
       count(*) FILTER (WHERE u.user_id % 4 = 2) >= 4 AS mostly_group_2
  FROM bpr.bpr_similar_users(md5('42')::uuid, 5, 'simk') s
  JOIN planted.users u ON md5(u.user_id::text)::uuid = s.user_id
 GROUP BY 1;
-- a text item key gives the users as text (cast them back to uuid)
SELECT pg_typeof(s.user_id) AS user_type, count(*) AS k,
       count(*) FILTER (WHERE u.user_id % 4 = 2) >= 8 AS mostly_group_2
  FROM bpr.bpr_recommend_users('sku-6', 10, 'simk') s
  JOIN planted.users u ON md5(u.user_id::text)::uuid = s.user_id::uuid
 GROUP BY 1;
SELECT array_agg(item_id ORDER BY item_id) AS allowed
  FROM bpr.bpr_similar_items('sku-7'::text, 10, 'simk', items => ARRAY['sku-3', 'sku-7', 'sku-11', 'nosuch'],
                             exclude => '{sku-11}');
SELECT count(*) AS uuid_filter
  FROM bpr.bpr_similar_users(md5('42')::uuid, 10, 'simk', users => ARRAY[md5('2')::uuid, md5('3')::uuid]);
SELECT count(*) AS uuid_as_text
  FROM bpr.bpr_similar_users(md5('42'), 10, 'simk', users => ARRAY[md5('2'), upper(md5('3'))]);
SELECT expect_error($$SELECT * FROM bpr.bpr_similar_items(7, 5, 'simk')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend_users(md5('1')::uuid, 5, 'simk')$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_similar_items('sku-7'::text, 5, 'simk', items => ARRAY[1, 2])$$);

SELECT bpr.bpr_drop('simk'), bpr.bpr_drop('sim');
DROP TABLE planted.ratings_k, planted.users_k, planted.items_k;
DELETE FROM planted.items WHERE item_id > 5000;
RESET client_min_messages;
