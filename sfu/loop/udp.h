/* A worker's UDP socket: every transport of the worker shares it. Datagrams are read in
 * batches with recvmmsg (libuv's UV_UDP_RECVMMSG) and written in batches with sendmmsg, once
 * per loop iteration, from fixed slots the senders fill in place. */
#ifndef SFU_UDP_H
#define SFU_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#define UDP_SEND_SLOTS 256
#define UDP_SLOT_CAP   1600

/* A datagram for the owner; buf is borrowed for the call only. */
typedef void (*udp_recv_cb)(void *arg, uint8_t *buf, size_t len, const struct sockaddr *from);

struct udp_stats {
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t tx_dropped; /* queue full, or the kernel refused */
    uint64_t rx_batches; /* recv callbacks that delivered at least one datagram */
    uint64_t tx_batches; /* sendmmsg calls */
};

struct udp_port;

/* Binds ip:port (port 0: ephemeral) on loop. The owner's close is asynchronous: see
 * udp_port_close. Returns 0 or a negative errno (-EADDRINUSE, -EINVAL for a bad address). */
int udp_port_new(struct udp_port **out, uv_loop_t *loop, const char *ip, uint16_t port,
                 udp_recv_cb cb, void *arg);
/* Stops reading, drops what is queued, closes the socket and frees the port from libuv's close
 * callback, then calls done(done_arg) if given. */
void udp_port_close(struct udp_port *u, void (*done)(void *), void *done_arg);

/* The bound port (useful with port 0). */
uint16_t udp_port_local_port(const struct udp_port *u);

/* A slot of UDP_SLOT_CAP bytes to write a datagram into, or NULL when the queue is full even
 * after a flush (the caller drops the packet and counts it). Valid until the next commit. */
uint8_t *udp_port_slot(struct udp_port *u);
/* Queues the datagram written in the slot just returned by udp_port_slot. */
void udp_port_commit(struct udp_port *u, size_t len, const struct sockaddr *to);
/* Copies buf into a slot and queues it. Returns 0 or -ENOBUFS (dropped). */
int udp_port_send(struct udp_port *u, const uint8_t *buf, size_t len, const struct sockaddr *to);
/* Sends what is queued now (also done automatically once per loop iteration). */
void udp_port_flush(struct udp_port *u);

void udp_port_stats_get(const struct udp_port *u, struct udp_stats *st);

#endif
