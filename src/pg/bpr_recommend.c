/*
 * bpr_recommend.c - bpr_recommend: exact top-k items for a user under the active model
 */
#include "postgres.h"

#include "fmgr.h"

#include "ranking.h"

PG_FUNCTION_INFO_V1(bpr_recommend);

/* Argument positions of bpr_recommend, as in sql/bpr.sql */
enum
{
	A_USER, A_K, A_MODEL, A_EXCLUDE_RATED, A_ITEMS, A_EXCLUDE, A_COLD_ITEMS
};

/* Exact top-k items for a user, best first; item keys come back in the user key's type */
Datum
bpr_recommend(PG_FUNCTION_ARGS)
{
	static const BprRankCall call = {
		.user_key = true, .rank_users = false, .similar = false,
		.key_arg = A_USER, .k_arg = A_K, .model_arg = A_MODEL,
		.only_arg = A_ITEMS, .only_name = "items", .exclude_arg = A_EXCLUDE,
		.rated_arg = A_EXCLUDE_RATED, .cold_arg = A_COLD_ITEMS
	};

	return bpr_rank_function(fcinfo, &call);
}
