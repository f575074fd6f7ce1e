/*
 * The body of PUT /v1/txn turned into KV operations.  The decoder needs
 * no evhttp, so that regress/fuzz/fuzz_txn.c can drive it alone.
 */
#ifndef CONSULD_APID_TXN_H
#define CONSULD_APID_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "kv_codec.h"

#define TXN_WHAT_MAX	256
#define TXN_ERR_MAX	512

/* An operation refused before it reaches raftd; the answer is a 409. */
struct txn_error {
	size_t		 op;
	char		 what[TXN_WHAT_MAX];
};

struct txn {
	struct kv_op	*ops;		/* KV_TXN_MAX_OPS at most */
	size_t		 nops;
	int		 read_only;	/* no verb writes */
	struct txn_error *errors;	/* nerrors > 0: answer 409 */
	size_t		 nerrors;
};

int	 txn_decode(const char *, size_t, uint64_t, uint64_t, struct txn *,
	    char *, size_t);
void	 txn_free(struct txn *);

#endif
