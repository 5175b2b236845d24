\set planted_echo :ECHO
\set planted_quiet :QUIET
\set ECHO none
\set QUIET on
-- Deterministic data with a PLANTED structure, created in the current schema
-- (first schema of search_path). Used by the regression tests (\i test/data/planted.sql)
-- and by test/demo.sh. No random(): an integer hash (pg_temp.planted_hash) makes the
-- data identical on every machine. Prints nothing; re-running replaces the tables.
--
-- Structure: 4 taste groups and 4 genres, 'action', 'comedy', 'drama', 'scifi'.
--   users(user_id, age, segment, active)     200 users; user u is in group u % 4;
--       segment = 'seg-' || group (10% noise); age weakly grows with the group.
--   items(item_id, title, genres, year, price) 120 items; item i's primary genre is
--       i % 4 (genres[1]); a third of the items have a second genre; title 'Item <i>'.
--   ratings(user_id, item_id, rating)        ~6000 rows, 25-35 per user: ~70% are items
--       of the user's genre rated 4-5, the rest other genres rated 1-3; 5% noise
--       (own-genre rated 3, others rated 4).
--   ratings_test(user_id, item_id, rating)   HELD-OUT pairs: per user 5 more rated items
--       not in ratings, 4 of the user's genre (rated 4-5) and 1 other (rated 1-3), no
--       noise. A model that learned the structure ranks liked test items high.
BEGIN;
SET LOCAL client_min_messages = warning;

-- 32-bit integer hash of (a, b, salt), bigint arithmetic only, in [0, 2^32)
CREATE OR REPLACE FUNCTION pg_temp.planted_mix(x bigint) RETURNS bigint
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT (((x >> 16) # x) * 73244475) & 4294967295 $$;
CREATE OR REPLACE FUNCTION pg_temp.planted_hash(a bigint, b bigint, salt bigint) RETURNS bigint
	LANGUAGE sql IMMUTABLE
	AS $$ SELECT (x >> 16) # x FROM (SELECT pg_temp.planted_mix(pg_temp.planted_mix(
		(a * 1000003 + b * 7919 + salt * 104729) & 4294967295)) AS x) s $$;

DROP TABLE IF EXISTS users, items, ratings, ratings_test;

CREATE TABLE users (user_id int PRIMARY KEY, age int, segment text, active boolean);
INSERT INTO users
SELECT u,
	18 + 6 * (u % 4) + pg_temp.planted_hash(u, 0, 1) % 25,
	'seg-' || CASE WHEN pg_temp.planted_hash(u, 0, 2) % 10 = 0
		THEN pg_temp.planted_hash(u, 0, 3) % 4 ELSE u % 4 END,
	pg_temp.planted_hash(u, 0, 4) % 5 <> 0
FROM generate_series(1, 200) u;

CREATE TABLE items (item_id int PRIMARY KEY, title text, genres text[], year int, price numeric);
INSERT INTO items
SELECT i, 'Item ' || i,
	CASE WHEN pg_temp.planted_hash(0, i, 5) % 3 = 0
		THEN ARRAY[g[i % 4 + 1], g[(i % 4 + 1 + pg_temp.planted_hash(0, i, 6) % 3) % 4 + 1]]
		ELSE ARRAY[g[i % 4 + 1]] END,
	1970 + pg_temp.planted_hash(0, i, 7) % 50,
	round((pg_temp.planted_hash(0, i, 8) % 2000) / 100.0 + 0.99, 2)
FROM generate_series(1, 120) i,
	(SELECT ARRAY['action', 'comedy', 'drama', 'scifi'] AS g) genre_names;

-- Every (user, item) pair, ranked per user within "own genre" / "other genre" by a hash;
-- the first n_own / n_other go to ratings, the next 4 / 1 to ratings_test.
CREATE TEMP TABLE planted_pairs ON COMMIT DROP AS
SELECT u.user_id, i.item_id, i.item_id % 4 = u.user_id % 4 AS own,
	pg_temp.planted_hash(u.user_id, i.item_id, 12) AS h,
	row_number() OVER (PARTITION BY u.user_id, i.item_id % 4 = u.user_id % 4
		ORDER BY pg_temp.planted_hash(u.user_id, i.item_id, 9), i.item_id) AS rn,
	18 + pg_temp.planted_hash(u.user_id, 0, 10) % 7 AS n_own,
	7 + pg_temp.planted_hash(u.user_id, 0, 11) % 5 AS n_other
FROM users u CROSS JOIN items i;

CREATE TABLE ratings (user_id int, item_id int, rating int);
INSERT INTO ratings
SELECT user_id, item_id,
	CASE WHEN own THEN CASE WHEN h % 20 = 0 THEN 3 ELSE 4 + h % 2 END
		ELSE CASE WHEN h % 20 = 0 THEN 4 ELSE 1 + h % 3 END END
FROM planted_pairs
WHERE rn <= CASE WHEN own THEN n_own ELSE n_other END
ORDER BY user_id, item_id;
CREATE INDEX ON ratings (user_id);

CREATE TABLE ratings_test (user_id int, item_id int, rating int);
INSERT INTO ratings_test
SELECT user_id, item_id, CASE WHEN own THEN 4 + h % 2 ELSE 1 + h % 3 END
FROM planted_pairs
WHERE CASE WHEN own THEN rn BETWEEN n_own + 1 AND n_own + 4 ELSE rn = n_other + 1 END
ORDER BY user_id, item_id;
CREATE INDEX ON ratings_test (user_id);

COMMIT;
ANALYZE users, items, ratings, ratings_test;
\set QUIET :planted_quiet
\set ECHO :planted_echo
