-- Shared fixtures: planted data in schema planted, an error catcher, quiet training
CREATE SCHEMA planted;
SET search_path = planted, public;
\i test/data/planted.sql
\set ECHO all
\set QUIET off
SELECT count(*) AS users FROM planted.users;
SELECT count(*) AS items FROM planted.items;
SELECT count(*) AS ratings, count(*) FILTER (WHERE rating >= 4) AS liked FROM planted.ratings;
SELECT count(*) AS test_rows FROM planted.ratings_test;

-- Runs a statement and returns its SQLSTATE and message instead of failing
CREATE FUNCTION public.expect_error(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- Results depend on the number of training threads: every test trains on two, on any machine,
-- synchronously (lock-free threads, the default, give slightly different weights on every run)
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET bpr.threads = 2', current_database()); END $$;
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET bpr.reproducible = on', current_database()); END $$;

-- Every object lives in schema bpr
SELECT n.nspname, count(*) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'bpr') AND d.classid = 'pg_class'::regclass
 GROUP BY 1;
SELECT p.proname, p.provolatile, p.proparallel, p.proisstrict
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'bpr' ORDER BY 1;
