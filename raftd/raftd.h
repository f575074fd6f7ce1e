/*
 * raftd: Raft and the state machine.  For now it holds the agent's
 * identity and answers for it; the log store and Raft come next.
 */
#ifndef CONSULD_RAFTD_H
#define CONSULD_RAFTD_H

#include "imsg.h"
#include "proc.h"

#define NODE_ID_FILE	"node-id"

extern struct child	 raftd_child;
extern char		*raftd_node_id;

/* nodeid.c */
char	*node_id_load(const char *);
int	 node_id_valid(const char *);

/* agent.c */
void	 agent_self_request(struct imsgev *, struct imsg *);
void	 status_leader_request(struct imsgev *, struct imsg *);

#endif
