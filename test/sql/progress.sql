-- With bpr in shared_preload_libraries: settings before any bpr call, progress of trainings
SET search_path = planted, public;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
SELECT 'host=' || split_part(current_setting('unix_socket_directories'), ',', 1) ||
       ' port=' || current_setting('port') || ' dbname=' || current_database() AS conninfo \gset
SELECT dblink_connect('fresh', :'conninfo');
-- a session that has called no bpr function knows bpr's settings
SELECT * FROM dblink('fresh', $$SELECT current_setting('bpr.max_memory') || ' ' || current_setting('bpr.progress')$$) AS t(s text);
SELECT dblink_disconnect('fresh');
ALTER SYSTEM SET bpr.max_memory = '3GB';
SELECT pg_reload_conf();
SELECT pg_sleep(0.2);
SELECT dblink_connect('fresh', :'conninfo');
SELECT * FROM dblink('fresh', $$SHOW bpr.max_memory$$) AS t(s text);
SELECT dblink_disconnect('fresh');
ALTER SYSTEM RESET bpr.max_memory;
SELECT pg_reload_conf();

-- settings that protect the server are for superusers
CREATE ROLE regress_settings;
SET ROLE regress_settings;
SELECT expect_error($$SET bpr.max_memory = '100GB'$$);
SELECT expect_error($$SET bpr.blas_threads = 64$$);
SELECT expect_error($$SET bpr.max_threads = 64$$);
SELECT expect_error($$SET bpr.shared_memory = '10GB'$$);
SET bpr.threads = 2;
SET bpr.keep_versions = 3;
RESET ROLE;
DROP ROLE regress_settings;

-- a running training is visible from other sessions: phase, epoch, loss, speed, ETA
SELECT dblink_connect('trainer', :'conninfo');
SELECT dblink_exec('trainer', 'SET bpr.progress = off');
SELECT * FROM dblink('trainer', 'SELECT pg_backend_pid()') AS t(pid int) \gset trainer_
SELECT dblink_send_query('trainer', $$SELECT * FROM bpr.bpr_train('prog', ratings => 'planted.ratings', epochs => 100000,
                                        validation => 'planted.ratings_test', patience => 100000)$$);
CREATE FUNCTION pg_temp.wait_for_epoch() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..600 LOOP
		IF EXISTS (SELECT 1 FROM bpr.training_progress WHERE model = 'prog' AND epoch >= 2) THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN false;
END $$;
SELECT pg_temp.wait_for_epoch() AS seen;
SELECT pid = :trainer_pid AS trainer, role::text = current_user AS role, phase, epoch >= 2 AS epochs_done,
       epochs, loss > 0 AS loss, validation BETWEEN 0 AND 1 AS validation_precision, triplets_per_second > 0 AS speed,
       seconds > 0 AS running, eta_seconds > 0 AS eta
  FROM bpr.training_progress WHERE model = 'prog';
-- another role sees that a training runs, not its figures
CREATE ROLE regress_watcher;
GRANT USAGE ON SCHEMA bpr TO regress_watcher;
SET ROLE regress_watcher;
SELECT model, phase IS NULL AS hidden, loss IS NULL AS loss_hidden FROM bpr.training_progress WHERE model = 'prog';
RESET ROLE;
DROP OWNED BY regress_watcher;
DROP ROLE regress_watcher;
-- cancelled: the row goes, and nothing was stored
SELECT pg_cancel_backend(:trainer_pid);
SELECT dblink_is_busy('trainer') IN (0, 1) AS answered;
SELECT count(*) > 0 AS cancelled FROM dblink_get_result('trainer', false) AS t(model text, version int, users bigint,
	items bigint, positives bigint, triplets bigint, epochs int, final_loss float8, seconds float8, active boolean);
-- (the trainer reports the error before it cleans up: give it a moment)
CREATE FUNCTION pg_temp.wait_until_gone() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..200 LOOP
		IF NOT EXISTS (SELECT 1 FROM bpr.training_progress WHERE model = 'prog') THEN
			RETURN true;
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
	RETURN false;
END $$;
SELECT pg_temp.wait_until_gone() AS progress_row_gone;
SELECT count(*) AS versions FROM bpr.models WHERE model = 'prog';
SELECT dblink_disconnect('trainer');
