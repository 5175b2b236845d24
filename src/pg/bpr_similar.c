/*
 * bpr_similar.c - bpr_similar_items, bpr_similar_users and bpr_recommend_users
 *
 * Similar items and similar users compare embeddings by cosine over their
 * first dim values: the embedding, not the bias or score-offset columns.
 * Cosine rather than the dot product, so that popular items (or heavy users),
 * whose embeddings have large norms, do not come out similar to everything.
 * bpr_recommend_users ranks users by their score for the item (the dot
 * product of the whole vectors, score offsets included): the users most
 * likely to like it.  ranking.c does the work for all three.
 */
#include "postgres.h"

#include "fmgr.h"

#include "ranking.h"

PG_FUNCTION_INFO_V1(bpr_similar_items);
PG_FUNCTION_INFO_V1(bpr_similar_users);
PG_FUNCTION_INFO_V1(bpr_recommend_users);

/* Argument positions of bpr_similar_items and bpr_similar_users, as in sql/bpr.sql */
enum
{
	S_KEY, S_K, S_MODEL, S_ONLY, S_EXCLUDE, S_COLD_ITEMS
};

/* Argument positions of bpr_recommend_users, as in sql/bpr.sql */
enum
{
	R_ITEM, R_K, R_MODEL, R_EXCLUDE_RATED, R_USERS, R_EXCLUDE
};

/* What each function ranks, and where its arguments are (fields not named are false) */
static const BprRankCall similar_items_call = {
	.similar = true, .key_arg = S_KEY, .k_arg = S_K, .model_arg = S_MODEL, .only_arg = S_ONLY,
	.only_name = "items", .exclude_arg = S_EXCLUDE, .rated_arg = -1, .cold_arg = S_COLD_ITEMS
};
static const BprRankCall similar_users_call = {
	.user_key = true, .rank_users = true, .similar = true, .key_arg = S_KEY, .k_arg = S_K,
	.model_arg = S_MODEL, .only_arg = S_ONLY, .only_name = "users", .exclude_arg = S_EXCLUDE,
	.rated_arg = -1, .cold_arg = -1
};
static const BprRankCall recommend_users_call = {
	.rank_users = true, .key_arg = R_ITEM, .k_arg = R_K, .model_arg = R_MODEL, .only_arg = R_USERS,
	.only_name = "users", .exclude_arg = R_EXCLUDE, .rated_arg = R_EXCLUDE_RATED, .cold_arg = -1
};

/* Items most similar to an item (cosine over the embedding), best first */
Datum
bpr_similar_items(PG_FUNCTION_ARGS)
{
	return bpr_rank_function(fcinfo, &similar_items_call);
}

/* Users most similar to a user (cosine over the embedding), best first */
Datum
bpr_similar_users(PG_FUNCTION_ARGS)
{
	return bpr_rank_function(fcinfo, &similar_users_call);
}

/* The users most likely to like an item (the highest scores), best first */
Datum
bpr_recommend_users(PG_FUNCTION_ARGS)
{
	return bpr_rank_function(fcinfo, &recommend_users_call);
}
