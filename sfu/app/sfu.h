/* The SFU process: the control thread's loop with the control socket and the room directory
 * (which worker holds a room, which control connection owns it), and the worker threads. */
#ifndef SFU_APP_H
#define SFU_APP_H

#include <uv.h>

struct sfu_config;
struct dtls_ctx;
struct sfu;

/* Starts the workers and the control socket on loop. cfg and dtls are borrowed and must
 * outlive the sfu. Returns 0 or a negative errno with a log line saying what failed. */
int sfu_new(struct sfu **out, uv_loop_t *loop, const struct sfu_config *cfg, struct dtls_ctx *dtls);
/* The UDP port of worker i. */
uint16_t sfu_worker_port(const struct sfu *s, unsigned i);
/* The TCP control port (after binding port 0), or -1. */
int sfu_control_tcp_port(const struct sfu *s);
/* Stops the workers (joining their threads) and closes the control socket; the sfu is freed
 * once its handles have closed, so run the loop until it returns. */
void sfu_shutdown(struct sfu *s);

#endif
