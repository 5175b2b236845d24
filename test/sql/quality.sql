-- Training provably learns the planted structure (wide margins, fixed seeds)
SET search_path = planted, public;
SET bpr.progress = off;
-- random ranking would give precision@10 near 0.04 and AUCs near 0.5
SELECT version FROM bpr.bpr_train('q', ratings => 'planted.ratings', users => 'planted.users',
                                  items => 'planted.items', seed => 11);
SELECT precision_at_k > 0.25 AS precision_ok, ndcg_at_k > 0.5 AS ndcg_ok,
       rank_auc > 0.85 AS rank_auc_ok, seed_auc > 0.8 AS seed_auc_ok
  FROM bpr.bpr_evaluate('q', 'planted.ratings_test', 10);
-- ids alone learn too
SELECT version FROM bpr.bpr_train('q_ids', ratings => 'planted.ratings', seed => 11);
SELECT precision_at_k > 0.2 AS precision_ok, rank_auc > 0.8 AS rank_auc_ok
  FROM bpr.bpr_evaluate('q_ids', 'planted.ratings_test', 10);
-- the notebook's model (features only) learns the genre structure
SELECT version FROM bpr.bpr_train('q_nb', ratings => 'planted.ratings', users => 'planted.users',
                                  items => 'planted.items', preset => 'notebook', epochs => 5, seed => 11);
SELECT rank_auc > 0.7 AS rank_auc_ok, seed_auc > 0.7 AS seed_auc_ok
  FROM bpr.bpr_evaluate('q_nb', 'planted.ratings_test', 10);
