-- Model versions: activation in the caller's transaction, rollback, locking, drop
SET search_path = planted, public;
SET bpr.progress = off;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT 'host=' || split_part(current_setting('unix_socket_directories'), ',', 1) ||
       ' port=' || current_setting('port') || ' dbname=' || current_database() AS conninfo \gset
SELECT dblink_connect('other', :'conninfo');

SELECT version FROM bpr.bpr_train('v', ratings => 'planted.ratings', epochs => 2, seed => 1);
SELECT bpr.bpr_score(1, 2, 'v')::text AS v1_score \gset
SELECT score = :'v1_score' AS other_session_sees_v1
  FROM dblink('other', $$SELECT bpr.bpr_score(1, 2, 'v')::text$$) AS t(score text);

-- a second session keeps version 1 until the training transaction commits
BEGIN;
SELECT version FROM bpr.bpr_train('v', ratings => 'planted.ratings', epochs => 2, seed => 2);
SELECT version FROM bpr.models WHERE model = 'v' AND active;
SELECT bpr.bpr_score(1, 2, 'v')::text <> :'v1_score' AS this_session_sees_v2;
SELECT * FROM dblink('other', $$SELECT version FROM bpr.models WHERE model = 'v' AND active$$) AS t(version int);
SELECT score = :'v1_score' AS other_session_sees_v1
  FROM dblink('other', $$SELECT bpr.bpr_score(1, 2, 'v')::text$$) AS t(score text);
COMMIT;
SELECT * FROM dblink('other', $$SELECT version FROM bpr.models WHERE model = 'v' AND active$$) AS t(version int);
SELECT score <> :'v1_score' AS other_session_sees_v2
  FROM dblink('other', $$SELECT bpr.bpr_score(1, 2, 'v')::text$$) AS t(score text);

-- a training rolled back leaves the previous version active and nothing written
BEGIN;
SELECT version FROM bpr.bpr_train('v', ratings => 'planted.ratings', epochs => 1, seed => 3);
ROLLBACK;
SELECT version, active FROM bpr.models WHERE model = 'v' ORDER BY version;
SELECT count(*) AS rows_of_v3 FROM bpr.embeddings WHERE model = 'v' AND version = 3;
SELECT bpr.bpr_score(1, 2, 'v')::text <> :'v1_score' AS still_v2;

-- a failed training (cancelled) also leaves version 2 active
SET statement_timeout = '200ms';
SELECT version FROM bpr.bpr_train('v', ratings => 'planted.ratings', epochs => 100000);
RESET statement_timeout;
SELECT version FROM bpr.models WHERE model = 'v' AND active;

-- a concurrent training of the same model waits for the first one's transaction
BEGIN;
SELECT version FROM bpr.bpr_train('v', ratings => 'planted.ratings', epochs => 1, seed => 4);
SELECT dblink_send_query('other', $$SELECT version FROM bpr.bpr_train('v', ratings => 'planted.ratings', epochs => 1, seed => 5)$$);
SELECT pg_sleep(0.3);
SELECT dblink_is_busy('other') AS other_training_waits;
COMMIT;
SELECT * FROM dblink_get_result('other') AS t(version int);
SELECT * FROM dblink_get_result('other') AS t(version int);
SELECT version, active FROM bpr.models WHERE model = 'v' ORDER BY version;

-- a session that absorbs the change in the middle of a REPEATABLE READ transaction keeps
-- its snapshot's version there, and serves the new one from its next transaction on
SELECT bpr.bpr_score(1, 2, 'v')::text AS v4_score \gset
SELECT dblink_exec('other', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT score = :'v4_score' AS rr_sees_v4 FROM dblink('other', $$SELECT bpr.bpr_score(1, 2, 'v')::text$$) AS t(score text);
SELECT version FROM bpr.bpr_train('v', ratings => 'planted.ratings', epochs => 1, seed => 6);
SELECT score = :'v4_score' AS rr_still_sees_v4
  FROM dblink('other', $$SELECT bpr.bpr_score(1, 2, 'v')::text FROM planted.items LIMIT 1$$) AS t(score text);
SELECT dblink_exec('other', 'COMMIT');
SELECT score = bpr.bpr_score(1, 2, 'v')::text AS next_transaction_sees_v5
  FROM dblink('other', $$SELECT bpr.bpr_score(1, 2, 'v')::text$$) AS t(score text);

-- under REPEATABLE READ a training that would wait for another one fails with 40001
BEGIN;
SELECT version FROM bpr.bpr_train('v', ratings => 'planted.ratings', epochs => 1, seed => 7);
SELECT dblink_exec('other', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT * FROM dblink('other', $$SELECT expect_error('SELECT bpr.bpr_train(''v'', ratings => ''planted.ratings'', epochs => 1)')$$) AS t(error text);
SELECT dblink_exec('other', 'ROLLBACK');
ROLLBACK;

-- activate an older version; the cache follows in this and other sessions
SELECT bpr.bpr_activate('v', 1);
SELECT bpr.bpr_score(1, 2, 'v')::text = :'v1_score' AS back_to_v1;
SELECT score = :'v1_score' AS other_back_to_v1
  FROM dblink('other', $$SELECT bpr.bpr_score(1, 2, 'v')::text$$) AS t(score text);
SELECT expect_error($$SELECT bpr.bpr_activate('v', 99)$$);
SELECT expect_error($$SELECT bpr.bpr_activate('nosuch', 1)$$);

-- drop: not the active version alone; a single old version; then every version
SELECT expect_error($$SELECT bpr.bpr_drop('v', 1)$$);
SELECT bpr.bpr_drop('v', 2);
SELECT version, active FROM bpr.models WHERE model = 'v' ORDER BY version;
SELECT bpr.bpr_drop('v');
SELECT count(*) AS left_over FROM bpr.embeddings WHERE model = 'v';
SELECT expect_error($$SELECT bpr.bpr_score(1, 2, 'v')$$);
SELECT expect_error($$SELECT bpr.bpr_drop('v')$$);
SELECT dblink_disconnect('other');
