-- Loads MovieLens 100k into schema ml (replacing it). Usage:
--   psql -v ON_ERROR_STOP=1 -v datadir=/abs/path/ml-100k [-v split=u1] -f test/bench/load_ml100k.sql
-- datadir defaults to ../shared/data/ml-100k (relative to psql's cwd); split names the
-- uN.base / uN.test files of ml.ratings / ml.ratings_test (default u1). The data is read
-- client-side (\copy) and never copied into the repository.
--   ml.users(user_id, age, gender, occupation)      u.user, zip code dropped
--   ml.items(item_id, title, genres)                 u.item, genres = names of the 18
--                                                    genre flags set ('unknown' unused)
--   ml.ratings(user_id, item_id, rating, ts)         <split>.base (train)
--   ml.ratings_test(user_id, item_id, rating, ts)    <split>.test (test)
--   ml.ratings_all(user_id, item_id, rating, ts)     u.data (all 100k ratings)
\if :{?datadir}
\else
\set datadir '../shared/data/ml-100k'
\endif
\if :{?split}
\else
\set split u1
\endif
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS ml CASCADE;
CREATE SCHEMA ml;

-- \copy does not expand variables: each one is built in :cmd, then run
CREATE TABLE ml.user_stage (user_id int, age int, gender text, occupation text, zip text);
\set file :datadir '/u.user'
\set cmd '\\copy ml.user_stage FROM ' :'file' ' WITH (format csv, delimiter ''|'', encoding ''LATIN1'', quote E''\\x01'')'
:cmd
CREATE TABLE ml.users (user_id int PRIMARY KEY, age int, gender text, occupation text);
INSERT INTO ml.users SELECT user_id, age, gender, occupation FROM ml.user_stage ORDER BY user_id;
DROP TABLE ml.user_stage;

-- u.item: id|title|release date|video release date|IMDb URL|19 genre flags (unknown first)
CREATE TABLE ml.item_stage (item_id int, title text, released text, video_released text, url text,
	f0 int, f1 int, f2 int, f3 int, f4 int, f5 int, f6 int, f7 int, f8 int, f9 int,
	f10 int, f11 int, f12 int, f13 int, f14 int, f15 int, f16 int, f17 int, f18 int);
\set file :datadir '/u.item'
\set cmd '\\copy ml.item_stage FROM ' :'file' ' WITH (format csv, delimiter ''|'', encoding ''LATIN1'', quote E''\\x01'')'
:cmd
CREATE TABLE ml.items (item_id int PRIMARY KEY, title text, genres text[]);
INSERT INTO ml.items
SELECT s.item_id, s.title,
	ARRAY(SELECT g.name
		FROM unnest(ARRAY[f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15, f16, f17, f18],
			ARRAY['Action', 'Adventure', 'Animation', 'Children''s', 'Comedy', 'Crime',
				'Documentary', 'Drama', 'Fantasy', 'Film-Noir', 'Horror', 'Musical',
				'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western'])
			WITH ORDINALITY AS g(flag, name, pos)
		WHERE g.flag = 1 ORDER BY g.pos)
FROM ml.item_stage s ORDER BY s.item_id;
DROP TABLE ml.item_stage;

-- ratings: user id, item id, rating, unix timestamp; tab separated
CREATE TABLE ml.ratings (user_id int, item_id int, rating int, ts bigint);
CREATE TABLE ml.ratings_test (LIKE ml.ratings);
CREATE TABLE ml.ratings_all (LIKE ml.ratings);
\set file :datadir '/' :split '.base'
\set cmd '\\copy ml.ratings FROM ' :'file'
:cmd
\set file :datadir '/' :split '.test'
\set cmd '\\copy ml.ratings_test FROM ' :'file'
:cmd
\set file :datadir '/u.data'
\set cmd '\\copy ml.ratings_all FROM ' :'file'
:cmd
CREATE INDEX ON ml.ratings (user_id);
CREATE INDEX ON ml.ratings_test (user_id);
CREATE INDEX ON ml.ratings_all (user_id);
ANALYZE ml.users, ml.items, ml.ratings, ml.ratings_test, ml.ratings_all;
RESET client_min_messages;
