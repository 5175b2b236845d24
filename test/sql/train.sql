-- bpr_train: arguments, presets, encodings, reproducibility, the registry
SET search_path = planted, public;
SET bpr.progress = off;

-- the default configuration with users and items; title is unique per row and skipped
SELECT model, version, users, items, positives, triplets, epochs, final_loss < 0.6931 AS learned
  FROM bpr.bpr_train('t', ratings => 'planted.ratings', users => 'planted.users',
                     items => 'planted.items', epochs => 3, seed => 7);

-- the registry, encodings and stored tensors
SELECT model, version, active, ratings, users, items, user_column, item_column, rating_column, vector_width,
       hyperparameters->>'preset' AS preset, hyperparameters->>'negatives' AS negatives,
       hyperparameters->>'hard_negatives' AS hard, (data->>'users')::int AS data_users
  FROM bpr.models WHERE model = 't';
SELECT tower, position, column_name, kind, vocabulary FROM bpr.features WHERE model = 't' ORDER BY 1 DESC, 2;
SELECT tower, tensor, n_rows, n_cols FROM bpr.parameters WHERE model = 't' ORDER BY 1 DESC, 2;
SELECT side, count(*), min(cardinality(vector)), max(cardinality(vector))
  FROM bpr.embeddings WHERE model = 't' GROUP BY 1 ORDER BY 1;
SELECT epoch, loss > 0 AS positive_loss, loss <= first_value(loss) OVER (ORDER BY epoch) AS not_above_first, metrics
  FROM bpr.training_log WHERE model = 't' ORDER BY epoch;

-- same seed, same data: identical weights; another seed: different ones
SELECT version FROM bpr.bpr_train('t', ratings => 'planted.ratings', users => 'planted.users',
                                  items => 'planted.items', epochs => 3, seed => 7);
SELECT version FROM bpr.bpr_train('t', ratings => 'planted.ratings', users => 'planted.users',
                                  items => 'planted.items', epochs => 3, seed => 8);
SELECT count(*) AS compared,
       count(*) FILTER (WHERE a.vector = b.vector) AS same_as_v1_seed7,
       count(*) FILTER (WHERE a.vector = c.vector) AS same_as_v1_seed8
  FROM bpr.embeddings a
  JOIN bpr.embeddings b ON b.model = 't' AND b.version = 2 AND b.side = a.side AND b.id = a.id
  JOIN bpr.embeddings c ON c.model = 't' AND c.version = 3 AND c.side = a.side AND c.id = a.id
 WHERE a.model = 't' AND a.version = 1;
SELECT version, active FROM bpr.models WHERE model = 't' ORDER BY version;

-- the notebook preset: no ids, softmax outputs, item tower 64 -> 32 -> 32, rated negatives
SELECT model, users, items, epochs, triplets
  FROM bpr.bpr_train('nb', ratings => 'planted.ratings', users => 'planted.users',
                     items => 'planted.items', preset => 'notebook', epochs => 2);
SELECT hyperparameters->>'output' AS output, hyperparameters->>'use_ids' AS use_ids,
       hyperparameters->'item_layers' AS item_layers, hyperparameters->'user_layers' AS user_layers,
       hyperparameters->>'batch_size' AS batch_size, hyperparameters->>'learning_rate' AS lr,
       hyperparameters->>'negatives' AS negatives, hyperparameters->>'hard_negatives' AS hard,
       vector_width
  FROM bpr.models WHERE model = 'nb';
SELECT tower, tensor, n_rows, n_cols FROM bpr.parameters WHERE model = 'nb' ORDER BY 1 DESC, 2;
-- softmax outputs: every vector sums to 1
SELECT side, bool_and(abs((SELECT sum(x) FROM unnest(vector) x) - 1) < 1e-4) AS sums_to_one
  FROM bpr.embeddings WHERE model = 'nb' GROUP BY side ORDER BY side;

-- explicit arguments override a preset
SELECT epochs, triplets FROM bpr.bpr_train('nb2', ratings => 'planted.ratings', users => 'planted.users',
                     items => 'planted.items', preset => 'notebook', epochs => 1, batch_size => 32,
                     output => 'linear', dim => 8, item_layers => '{16}', use_ids => true,
                     negatives => 'unrated', hard_negatives => 'none');
SELECT vector_width, hyperparameters->>'output' AS output, hyperparameters->>'use_ids' AS use_ids,
       hyperparameters->'item_layers' AS item_layers, hyperparameters->>'batch_size' AS batch,
       hyperparameters->>'negatives' AS negatives, hyperparameters->>'hard_negatives' AS hard
  FROM bpr.models WHERE model = 'nb2';

-- every argument, named explicitly
SELECT model, users, items, positives, epochs
  FROM bpr.bpr_train('all', ratings => 'planted.ratings', users => 'planted.users',
                     items => 'planted.items', user_column => 'user_id', item_column => 'item_id',
                     rating_column => 'rating', user_features => '{age,segment}',
                     item_features => '{genres,title,year}', categorical => '{age}',
                     preset => 'default', dim => 16, user_layers => '{8}', item_layers => '{32,16}',
                     output => 'linear', use_ids => false, positive_threshold => 5,
                     negative_threshold => 2, negatives => 'both', hard_negatives => 'features',
                     hard_candidates => 3, epochs => 2, batch_size => 64, learning_rate => 0.01,
                     l2 => 0.001, seed => 123, validation => 'planted.ratings_test', patience => 2,
                     rated_share => 0.3);
SELECT tower, position, column_name, kind, cardinality(vocabulary) AS vocabulary
  FROM bpr.features WHERE model = 'all' ORDER BY 1 DESC, 2;
SELECT hyperparameters->>'positive_threshold' AS pos, hyperparameters->>'negative_threshold' AS neg,
       hyperparameters->>'hard_candidates' AS candidates, hyperparameters->>'l2' AS l2,
       hyperparameters->>'seed' AS seed, hyperparameters->>'rated_share' AS rated_share,
       (data->>'positives')::int AS positives,
       metrics IS NOT NULL AS has_metrics
  FROM bpr.models WHERE model = 'all';
SELECT epoch, metrics ? 'precision' AS has_precision FROM bpr.training_log WHERE model = 'all' ORDER BY epoch;

-- implicit feedback: no rating column, every row is a positive, negatives are unrated items
SELECT positives, users, items
  FROM bpr.bpr_train('implicit', ratings => 'planted.ratings', rating_column => NULL, epochs => 1);
SELECT hyperparameters->>'negatives' AS negatives, rating_column IS NULL AS implicit
  FROM bpr.models WHERE model = 'implicit';
-- implicit feedback records no thresholds and no score offsets it did not use
SELECT hyperparameters->'positive_threshold' AS pos, hyperparameters->'negative_threshold' AS neg,
       hyperparameters->>'calibrate' AS calibrate
  FROM bpr.models WHERE model = 'implicit';
-- ids only (no users or items table)
SELECT tower, tensor FROM bpr.parameters WHERE model = 'implicit';
SELECT count(*) FROM bpr.embeddings WHERE model = 'implicit';

-- model-based hard negatives and the rated negatives of the notebook, one epoch each
SELECT epochs FROM bpr.bpr_train('hard', ratings => 'planted.ratings', items => 'planted.items',
                                 hard_negatives => 'model', hard_candidates => 10, epochs => 1);
SELECT epochs FROM bpr.bpr_train('rated', ratings => 'planted.ratings', items => 'planted.items',
                                 negatives => 'rated', hard_negatives => 'none', epochs => 1);

-- feature-similar negatives without item features would pick one repeated negative per user:
-- they fall back to uniform draws, with a NOTICE, and the registry records what was used
SELECT epochs FROM bpr.bpr_train('nofeat', ratings => 'planted.ratings', users => 'planted.users',
                                 preset => 'notebook', epochs => 1);
SELECT hyperparameters->>'hard_negatives' AS hard FROM bpr.models WHERE model = 'nofeat';

-- progress lines are NOTICEs (here silenced by the level, so only the count is shown)
SET bpr.progress = on;
SET client_min_messages = warning;
SELECT epochs FROM bpr.bpr_train('quiet', ratings => 'planted.ratings', epochs => 2);
RESET client_min_messages;
SET bpr.progress = off;

-- tables come in by name, with quoting, from any schema
CREATE TABLE planted."Odd Ratings" AS SELECT user_id AS "User", item_id AS "Item", rating AS "Stars" FROM planted.ratings;
SELECT users, items FROM bpr.bpr_train('odd', ratings => 'planted."Odd Ratings"', user_column => 'User',
                                       item_column => 'Item', rating_column => 'Stars', epochs => 1);
SELECT count(*) FROM bpr.bpr_recommend(1, 3, 'odd');

-- explicit ratings get per-user score offsets (a vector column after the bias); the notebook and implicit feedback do not
SELECT model, vector_width, data ? 'cold_user_offset' AS calibrated, hyperparameters->>'calibrate' AS calibrate
  FROM bpr.models WHERE model IN ('t', 'nb', 'implicit') AND active ORDER BY model;
-- the items' offsets for cold users go with the users' and an item bias (the notebook's softmax has none):
-- one more column, last, where items carry their offset and trained users 0
SELECT model, hyperparameters->>'item_offsets' AS item_offsets, vector_width - (hyperparameters->>'dim')::int AS extra_columns
  FROM bpr.models WHERE model IN ('t', 'nb', 'implicit') AND active ORDER BY model;
SELECT max(abs(e.vector[cardinality(e.vector)])) FILTER (WHERE e.side = 'user') = 0 AS users_last_zero,
       min(e.vector[cardinality(e.vector)]) FILTER (WHERE e.side = 'item') < 0 AS items_lowered,
       max(e.vector[cardinality(e.vector)]) FILTER (WHERE e.side = 'item') = 0 AS items_never_raised,
       min(e.vector[cardinality(e.vector) - 1]) FILTER (WHERE e.side = 'item') = 1 AS items_one_for_user_offset
  FROM bpr.embeddings e JOIN bpr.models m USING (model, version) WHERE m.model = 't' AND m.active;

-- the SQL bpr runs ignores the caller's search_path: a shadowing function changes nothing
CREATE SCHEMA shadow;
CREATE FUNCTION shadow.cardinality(anyarray) RETURNS integer LANGUAGE sql AS 'SELECT 1';
SET search_path = shadow, pg_catalog, planted;
SELECT users, items FROM bpr.bpr_train('shadowed', ratings => 'planted.ratings', epochs => 1);
SELECT count(*) AS vectors_stored FROM bpr.embeddings WHERE model = 'shadowed';
SET search_path = planted, public;
DROP SCHEMA shadow CASCADE;
