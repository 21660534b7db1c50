/* Integration test scaffolding: a real SFU (the sfu_core library, the same code as the
 * executable) on its own thread with real sockets, a control client, raw UDP and STUN for tests
 * of bad input. Rooms, simulated peers, producers and consumers are set up with bench/bench_ctl.h,
 * shared with the benchmarks. */
#ifndef INTEG_UTIL_H
#define INTEG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "app/config.h"
#include "bench_ctl.h"
#include "ctl_client.h"
#include "peer.h"
#include "sfu.pb-c.h"

struct integ_sfu {
    struct sfu_config cfg;
    char dir[64];
    void *priv; /* owned */
};

/* Starts an SFU with workers workers on ephemeral ports and a Unix control socket in a new
 * temporary folder. Returns 0 or negative. */
int integ_sfu_start(struct integ_sfu *s, unsigned workers);
void integ_sfu_stop(struct integ_sfu *s);
int integ_ctl_connect(struct integ_sfu *s, struct ctl_client **out);

/* One request, its response; NULL on a transport error. The caller frees the response. */
Sfu__Envelope *integ_call(struct ctl_client *c, Sfu__Envelope *req);

/* Sleeps ms milliseconds. */
void integ_sleep_ms(unsigned ms);
void integ_sleep_us(unsigned us);

/* As integ_sfu_start, calling adjust (may be NULL) with arg on the configuration once the test
 * defaults are in and before it is checked: for a test that needs, say, another keyframe
 * throttle window. The adjusted values must still pass sfu_config_finish (else -EINVAL). */
int integ_sfu_start_cfg(struct integ_sfu *s, unsigned workers,
                        void (*adjust)(struct sfu_config *cfg, void *arg), void *arg);

/* The SFU's TCP control port (cfg.control_tcp_port 0 binds an ephemeral one), or negative when
 * it listens on no TCP port. */
int integ_sfu_control_tcp_port(struct integ_sfu *s);

/* A plain UDP socket on 127.0.0.1 (an ephemeral port): a stranger, or a browser's new network.
 * Returns the fd or -1. */
int integ_udp_open(void);
/* Sends buf to the SFU port of transport t. Returns 0 or -1. */
int integ_udp_send_to(int fd, const struct bench_transport *t, const uint8_t *buf, size_t len);
/* Waits up to ms for a datagram on fd. Returns its length, or -1 when none came. */
ssize_t integ_udp_recv_within(int fd, uint8_t *buf, size_t cap, int ms);

/* A Binding request as a controlling browser builds it (libnice's STUN library): USERNAME
 * "ufrag:abcd", PRIORITY, ICE-CONTROLLING, USE-CANDIDATE when asked, MESSAGE-INTEGRITY keyed with
 * pwd, FINGERPRINT. Returns its length, or 0. */
size_t integ_stun_check_full(uint8_t *buf, size_t cap, const char *ufrag, const char *pwd,
                             bool use_candidate);
size_t integ_stun_check(uint8_t *buf, size_t cap, const char *ufrag, const char *pwd);

/* TransportState events seen so far (the control client hands each over once). */
struct integ_evlog {
    uint64_t tid[64];
    int state[64];
    unsigned n;
};

/* Waits up to ms for a TransportState event of transport tid with state want, logging every
 * one seen in log (so an earlier wait's events still count). Returns 0 or -ETIMEDOUT. */
int integ_wait_state_event(struct ctl_client *c, struct integ_evlog *log, uint64_t tid, int want,
                           int ms);

/* ListRooms: the response (rooms and worker counters), or NULL. The caller frees it. */
Sfu__Envelope *integ_list_rooms(struct ctl_client *c);

/* PauseConsumer (pause true) or ResumeConsumer: 0 when the SFU answered Ok, -1 otherwise. */
int integ_pause_consumer(struct ctl_client *ctl, const char *room, uint64_t id, bool pause);

/* GetStats for room: the response, or NULL. The caller frees it. */
Sfu__Envelope *integ_get_stats(struct ctl_client *c, const char *room);

#endif
