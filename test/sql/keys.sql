-- Keys of any supported type (text SKUs, uuid customers, mixed), filters, new items
SET search_path = planted, public;
SET bpr.progress = off;

-- a shop: uuid customers, text SKUs, purchases as implicit feedback
CREATE TABLE planted.customers AS
SELECT md5('c' || user_id)::uuid AS customer_uuid, segment AS country, 1990 - age AS birth_year
  FROM planted.users;
CREATE TABLE planted.products AS
SELECT 'sku-' || item_id AS sku, genres[1] AS category, price, genres AS tags, item_id % 5 <> 0 AS in_stock
  FROM planted.items;
CREATE TABLE planted.purchases AS
SELECT md5('c' || user_id)::uuid AS customer_uuid, 'sku-' || item_id AS sku, 1 + rating % 3 AS qty
  FROM planted.ratings WHERE rating >= 4;
CREATE INDEX ON planted.purchases (customer_uuid);
SELECT users, items, positives
  FROM bpr.bpr_train('shop', ratings => 'planted.purchases', users => 'planted.customers',
                     items => 'planted.products', user_column => 'customer_uuid', item_column => 'sku',
                     rating_column => NULL, epochs => 8, seed => 3);
SELECT user_key_type, item_key_type, vector_width FROM bpr.models WHERE model = 'shop';
SELECT side, count(*), count(key) AS with_text_key, min(id), max(id)
  FROM bpr.embeddings WHERE model = 'shop' GROUP BY side ORDER BY side;

-- keys in their own types; a literal is read in the key's type; uuid spellings are equal
SELECT bpr.bpr_score(md5('c42')::uuid, 'sku-6'::text, 'shop') IS NOT NULL AS typed,
       bpr.bpr_score(md5('c42')::uuid, 'sku-6', 'shop') = bpr.bpr_score(md5('c42')::uuid, 'sku-6'::text, 'shop') AS literal,
       bpr.bpr_score(upper(md5('c42'))::uuid, 'sku-6', 'shop') = bpr.bpr_score(md5('c42')::uuid, 'sku-6', 'shop') AS uuid_spelling,
       bpr.bpr_score(md5('c42')::uuid::text, 'sku-6', 'shop') = bpr.bpr_score(md5('c42')::uuid, 'sku-6', 'shop') AS uuid_as_text,
       bpr.bpr_score(md5('nobody')::uuid, 'sku-6', 'shop') IS NULL AS unknown_user;
-- a key of the wrong type is an error, not a NULL
SELECT expect_error($$SELECT bpr.bpr_score(42, 'sku-6', 'shop')$$);
SELECT expect_error($$SELECT bpr.bpr_score(md5('c42')::uuid, 6, 'shop')$$);
SELECT expect_error($$SELECT bpr.bpr_score('not a uuid', 'sku-6', 'shop')$$);
SELECT expect_error($$SELECT bpr.bpr_score(now(), 'sku-6', 'shop')$$);

-- items come back in the user key's type: a uuid cannot hold a SKU, text can
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend(md5('c42')::uuid, 5, 'shop')$$);
SELECT pg_typeof(item_id), count(*)
  FROM bpr.bpr_recommend(md5('c42')::uuid::text, 5, 'shop') GROUP BY 1;
-- the common case needs no cast: join the catalog on the SKU
SELECT r.rank, p.category
  FROM bpr.bpr_recommend(md5('c42')::uuid::text, 5, 'shop') r JOIN planted.products p ON p.sku = r.item_id
 ORDER BY r.rank;
-- customer 42 is in taste group 2 (drama)
SELECT p.category, count(*)
  FROM bpr.bpr_recommend(md5('c42')::uuid::text, 10, 'shop') r JOIN planted.products p ON p.sku = r.item_id
 GROUP BY 1 ORDER BY 2 DESC LIMIT 1;
-- LATERAL over customers
SELECT count(*) AS rows, count(DISTINCT c.customer_uuid) AS customers
  FROM planted.customers c CROSS JOIN LATERAL bpr.bpr_recommend(c.customer_uuid::text, 3, 'shop') r
 WHERE c.customer_uuid IN (SELECT md5('c' || u)::uuid FROM generate_series(1, 20) u);
-- exclude_rated reads the purchases with the uuid key
SELECT count(*) AS purchased_in_top
  FROM bpr.bpr_recommend(md5('c42')::uuid::text, 120, 'shop') r
  JOIN planted.purchases x ON x.customer_uuid = md5('c42')::uuid AND x.sku = r.item_id;

-- weight_column: positives are drawn in proportion to their weight. Each user bought the
-- even items of their taste 20 at a time and the odd ones singly: weighted, the even ones
-- fill the top; unweighted, both halves share it
CREATE TABLE planted.bulk AS
SELECT user_id, item_id, CASE WHEN item_id % 2 = 0 THEN 20 ELSE 1 END AS qty
  FROM planted.ratings WHERE rating >= 4;
CREATE INDEX ON planted.bulk (user_id);
SELECT version FROM bpr.bpr_train('bulk_w', ratings => 'planted.bulk', rating_column => NULL,
                                  weight_column => 'qty', epochs => 8, seed => 3);
SELECT version FROM bpr.bpr_train('bulk_u', ratings => 'planted.bulk', rating_column => NULL,
                                  epochs => 8, seed => 3);
SELECT m.model, m.weight_column,
       avg((r.item_id % 2 = 0)::int) > 0.9 AS heavy_top5_over_90pct,
       avg((r.item_id % 2 = 0)::int) BETWEEN 0.3 AND 0.7 AS heavy_top5_about_half
  FROM bpr.models m, planted.users u,
       LATERAL bpr.bpr_recommend(u.user_id, 5, m.model, exclude_rated => false) r
 WHERE m.model IN ('bulk_w', 'bulk_u') GROUP BY 1, 2 ORDER BY 1;
-- repeated rows add up: the same purchases as 20 rows of one each, or one row of 20
CREATE TABLE planted.bulk_rows AS
SELECT user_id, item_id, 1 AS qty FROM planted.bulk, generate_series(1, qty);
CREATE INDEX ON planted.bulk_rows (user_id);
SELECT version FROM bpr.bpr_train('bulk_r', ratings => 'planted.bulk_rows', rating_column => NULL,
                                  weight_column => 'qty', epochs => 8, seed => 3);
SELECT (data->>'duplicate_rows')::bigint = (SELECT count(*) FROM planted.bulk_rows) - (SELECT count(*) FROM planted.bulk)
         AS duplicates_counted,
       (SELECT avg((r.item_id % 2 = 0)::int) > 0.9 FROM planted.users u,
               LATERAL bpr.bpr_recommend(u.user_id, 5, 'bulk_r', exclude_rated => false) r) AS heavy_top5_over_90pct
  FROM bpr.models WHERE model = 'bulk_r';
SELECT bpr.bpr_drop('bulk_w'), bpr.bpr_drop('bulk_u'), bpr.bpr_drop('bulk_r');
DROP TABLE planted.bulk, planted.bulk_rows;

-- business filters on an integer model: only these candidates, never those
SELECT version FROM bpr.bpr_train('f', ratings => 'planted.ratings', items => 'planted.items',
                                  item_features => '{genres,year}', epochs => 5, seed => 2);
CREATE TEMP TABLE allowed AS SELECT item_id FROM planted.items WHERE item_id % 3 = 0;
-- exactly the allowed items, ranked 1..k without gaps, k rows when enough remain
SELECT count(*) AS k_rows, min(rank) AS first, max(rank) AS last,
       bool_and(item_id IN (SELECT item_id FROM allowed)) AS only_allowed
  FROM bpr.bpr_recommend(42, 10, 'f', items => (SELECT array_agg(item_id) FROM allowed));
-- the same order as the unfiltered ranking restricted to the allowed items
SELECT array_agg(item_id ORDER BY rank) = (SELECT array_agg(item_id ORDER BY rank) FROM
         (SELECT item_id, rank FROM bpr.bpr_recommend(42, 120, 'f') WHERE item_id % 3 = 0 ORDER BY rank LIMIT 10) t)
         AS same_order
  FROM bpr.bpr_recommend(42, 10, 'f', items => (SELECT array_agg(item_id) FROM allowed));
-- fewer candidates than k (after the user's rated items): every one of them, no gap
SELECT count(*) AS rows, max(rank) AS last
  FROM bpr.bpr_recommend(42, 10, 'f', items => ARRAY[3, 6, 9, 1000000], exclude_rated => false);
-- exclude: never these; combined with an allow-list
SELECT count(*) FILTER (WHERE item_id IN (SELECT item_id FROM bpr.bpr_recommend(42, 5, 'f'))) AS excluded_back
  FROM bpr.bpr_recommend(42, 10, 'f', exclude => (SELECT array_agg(item_id) FROM bpr.bpr_recommend(42, 5, 'f')));
SELECT array_agg(item_id ORDER BY rank)
  FROM bpr.bpr_recommend(42, 3, 'f', items => ARRAY[1, 2, 3, 4, 5, 6], exclude => ARRAY[2, 4], exclude_rated => false);
-- array literals and text arrays are read in the key's type; other element types are errors
SELECT count(*) FROM bpr.bpr_recommend(42, 10, 'f', items => '{3,6,9}', exclude_rated => false);
SELECT count(*) FROM bpr.bpr_recommend(42, 10, 'f', items => ARRAY['3', '6'], exclude_rated => false);
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend(42, 10, 'f', items => ARRAY[now()])$$);
SELECT expect_error($$SELECT * FROM bpr.bpr_recommend(42, 10, 'f', items => 7)$$);
SELECT count(*) FROM bpr.bpr_recommend(42, 10, 'f', items => ARRAY[]::int[]);

-- new products (no interactions) are recommended from their features unless cold_items => false
INSERT INTO planted.items SELECT 9000 + g, 'New drama ' || g, ARRAY['drama'], 2024, 9.99
  FROM generate_series(1, 3) g;
SELECT version FROM bpr.bpr_train('f', ratings => 'planted.ratings', items => 'planted.items',
                                  item_features => '{genres,year}', epochs => 20, seed => 4);
SELECT count(*) AS cold_items FROM bpr.embeddings e JOIN bpr.models m USING (model, version)
 WHERE m.model = 'f' AND m.active AND e.side = 'item' AND e.cold;
-- a new drama ranks in the top 20 of a drama fan (user 42), and higher for the drama fans
-- (users u % 4 = 2) than for the others, on average
SELECT (SELECT min(rank) FROM bpr.bpr_recommend(42, 200, 'f') WHERE item_id > 9000) <= 20 AS high_for_drama_fan,
       avg(r.rank) FILTER (WHERE u.user_id % 4 = 2) < avg(r.rank) FILTER (WHERE u.user_id % 4 <> 2)
         AS higher_for_drama_fans
  FROM planted.users u,
       LATERAL (SELECT min(rank) AS rank FROM bpr.bpr_recommend(u.user_id, 200, 'f') WHERE item_id > 9000) r;
SELECT count(*) AS without_cold FROM bpr.bpr_recommend(42, 200, 'f', cold_items => false) WHERE item_id > 9000;
-- new items score the same in bpr_score and in bpr_recommend
SELECT bool_and(abs(r.score - bpr.bpr_score(42, r.item_id, 'f')) < 1e-5) AS same_scores
  FROM bpr.bpr_recommend(42, 200, 'f') r;
DELETE FROM planted.items WHERE item_id > 9000;

-- smallint users with varchar items, bigint users and items: recorded by family (bigint, text)
CREATE TABLE planted.k2 AS SELECT user_id::int2 AS u, ('i' || item_id)::varchar(10) AS i, rating FROM planted.ratings;
CREATE INDEX ON planted.k2 (u);
SELECT version FROM bpr.bpr_train('k2', ratings => 'planted.k2', user_column => 'u', item_column => 'i', epochs => 2);
SELECT user_key_type, item_key_type FROM bpr.models WHERE model = 'k2';
SELECT bpr.bpr_score(42::int2, 'i6'::varchar, 'k2') IS NOT NULL AS int2_varchar,
       bpr.bpr_score(42::int2, 'i6'::varchar, 'k2') = bpr.bpr_score(42::int8, 'i6'::text, 'k2') AS any_width;
SELECT pg_typeof(item_id), count(*) FROM bpr.bpr_recommend('42'::varchar, 3, 'k2') GROUP BY 1;
SELECT pg_typeof(user_id), count(*) FROM bpr.bpr_similar_users(42::int2, 3, 'k2') GROUP BY 1;
CREATE TABLE planted.k8 AS SELECT (user_id + 10000000000)::int8 AS u, (item_id + 20000000000)::int8 AS i, rating
  FROM planted.ratings;
CREATE INDEX ON planted.k8 (u);
SELECT version FROM bpr.bpr_train('k8', ratings => 'planted.k8', user_column => 'u', item_column => 'i', epochs => 2);
SELECT user_key_type, item_key_type FROM bpr.models WHERE model = 'k8';
SELECT pg_typeof(item_id), min(item_id) > 20000000000 AS beyond_int4, count(*)
  FROM bpr.bpr_recommend(10000000042, 3, 'k8') GROUP BY 1;
SELECT expect_error($$SELECT bpr.bpr_score(10000000042, 'x', 'k8')$$);
SELECT bpr.bpr_drop('k2'), bpr.bpr_drop('k8');
DROP TABLE planted.k2, planted.k8;

-- a text column of mostly distinct values is skipped unless named (more than half of its
-- values distinct: 110 of 120 here); one with exactly half of its values distinct is a feature
CREATE TABLE planted.items_tags AS
SELECT item_id, 'tag-' || (item_id % 110) AS mostly_unique, 'pair-' || ((item_id - 1) / 2) AS half_unique
  FROM planted.items;
SELECT version FROM bpr.bpr_train('tags', ratings => 'planted.ratings', items => 'planted.items_tags', epochs => 1);
SELECT column_name FROM bpr.features WHERE model = 'tags' AND tower = 'item' ORDER BY position;
SELECT version FROM bpr.bpr_train('tags', ratings => 'planted.ratings', items => 'planted.items_tags', epochs => 1,
                                  item_features => '{mostly_unique}');
SELECT column_name FROM bpr.features WHERE model = 'tags' AND tower = 'item' AND version = 2 ORDER BY position;
SELECT bpr.bpr_drop('tags');
DROP TABLE planted.items_tags;
