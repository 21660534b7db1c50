/* A private network namespace for a benchmark: the process moves into a new one with loopback up
 * and one veth link holding LT_NETNS_IP, so that servers which will not use a loopback
 * interface for media (Janus) have an address, and no packet can leave the machine. Needs
 * CAP_SYS_ADMIN and CAP_NET_ADMIN (root), and must be called before any thread is started: the
 * namespace is the calling thread's, inherited by the threads and processes it starts later. */
#ifndef BENCH_LT_NETNS_H
#define BENCH_LT_NETNS_H

#include <stddef.h>

#define LT_NETNS_IP "10.203.0.1"

/* Returns 0, or a negative errno with a message in err (-EPERM: not allowed; then the process
 * is still in its own namespace). */
int lt_netns_enter(char *err, size_t errlen);

#endif
