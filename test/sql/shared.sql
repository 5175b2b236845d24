-- With bpr in shared_preload_libraries: one copy of a model's vectors per server
SET search_path = planted, public;
SET bpr.progress = off;
SHOW bpr.shared_memory;
SELECT version FROM bpr.bpr_train('sh', ratings => 'planted.ratings', users => 'planted.users',
                                  items => 'planted.items', item_features => '{genres,year}', epochs => 3, seed => 1);
-- scoring loads the item side; a few single users are read alone, not the whole users side
SELECT bpr.bpr_score(1, 2, 'sh') IS NOT NULL AS scored;
SELECT side, version, backends, state, superseded, bytes > 0 AS sized FROM bpr.shared_models WHERE model = 'sh' ORDER BY side;
-- evaluation needs every user: the users side is shared too
SELECT users > 0 AS evaluated FROM bpr.bpr_evaluate('sh', 'planted.ratings_test');
SELECT side, version, backends FROM bpr.shared_models WHERE model = 'sh' ORDER BY side;

-- another session maps the same copies: no new copy, one more backend on each
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
SELECT 'host=' || split_part(current_setting('unix_socket_directories'), ',', 1) ||
       ' port=' || current_setting('port') || ' dbname=' || current_database() AS conninfo \gset
SELECT dblink_connect('other', :'conninfo');
SELECT * FROM dblink('other', $$SELECT count(*) FROM bpr.bpr_evaluate('sh', 'planted.ratings_test')$$) AS t(n bigint);
SELECT side, version, backends FROM bpr.shared_models WHERE model = 'sh' ORDER BY side;
-- both sessions score the same, and the scores are the stored dot products
SELECT a.s = b.s AS same_in_both_sessions
  FROM (SELECT string_agg(round(bpr.bpr_score(u, i, 'sh')::numeric, 5)::text, ',' ORDER BY u, i) AS s
          FROM generate_series(1, 30) u, generate_series(1, 30) i) a,
       dblink('other', $$SELECT string_agg(round(bpr.bpr_score(u, i, 'sh')::numeric, 5)::text, ',' ORDER BY u, i)
                         FROM generate_series(1, 30) u, generate_series(1, 30) i$$) AS b(s text);
SELECT bool_and(abs(bpr.bpr_score(u.id, i.id, 'sh') -
                    (SELECT sum(a * b) FROM unnest(u.vector, i.vector) AS t(a, b))) < 1e-4) AS dot_products
  FROM bpr.embeddings u, bpr.embeddings i
 WHERE u.model = 'sh' AND u.side = 'user' AND u.id <= 30 AND i.model = 'sh' AND i.side = 'item';

-- a version trained in an open transaction is served privately until it commits
BEGIN;
SELECT version FROM bpr.bpr_train('sh', ratings => 'planted.ratings', epochs => 1, seed => 2);
SELECT bpr.bpr_score(1, 2, 'sh') IS NOT NULL AS scored;
SELECT count(*) AS shared_copies_of_v2 FROM bpr.shared_models WHERE model = 'sh' AND version = 2;
ROLLBACK;
SELECT count(*) AS shared_copies_of_v2 FROM bpr.shared_models WHERE model = 'sh' AND version = 2;

-- a new version committed: each session moves to it; the old copies go once nobody holds them
SELECT version FROM bpr.bpr_train('sh', ratings => 'planted.ratings', epochs => 1, seed => 3);
SELECT bpr.bpr_score(1, 2, 'sh') IS NOT NULL AS scored;
SELECT side, version, backends, superseded FROM bpr.shared_models WHERE model = 'sh' ORDER BY version, side;
SELECT * FROM dblink('other', $$SELECT bpr.bpr_score(1, 2, 'sh') IS NOT NULL$$) AS t(scored boolean);
SELECT side, version, backends FROM bpr.shared_models WHERE model = 'sh' ORDER BY version, side;
-- a session that ends lets go of its copies
SELECT dblink_disconnect('other');
SELECT pg_sleep(0.2);
SELECT side, version, backends FROM bpr.shared_models WHERE model = 'sh' ORDER BY version, side;
-- an older version evaluated by number is read privately
SELECT users > 0 AS evaluated FROM bpr.bpr_evaluate('sh', 'planted.ratings_test', version => 1);
SELECT count(*) AS shared_copies_of_v1 FROM bpr.shared_models WHERE model = 'sh' AND version = 1;
SELECT bpr.bpr_drop('sh');
