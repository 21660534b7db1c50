/* Events for the room's owner on the control connection. */
#include "router/router_int.h"

void router_event_transport_state(struct transport *t, const char *reason)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__TransportStateEvent ev = SFU__TRANSPORT_STATE_EVENT__INIT;
    ev.room_id = t->room->id;
    ev.transport_id = t->id;
    ev.state = (Sfu__TransportState)t->state;
    ev.reason = (char *)(reason ? reason : "");
    env.body_case = SFU__ENVELOPE__BODY_TRANSPORT_STATE;
    env.transport_state = &ev;
    worker_send_event(t->w, t->room->id, t->room->gen, &env);
}

void router_event_producer_closed(struct producer *p)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ProducerClosedEvent ev = SFU__PRODUCER_CLOSED_EVENT__INIT;
    ev.room_id = p->room->id;
    ev.producer_id = p->id;
    env.body_case = SFU__ENVELOPE__BODY_PRODUCER_CLOSED;
    env.producer_closed = &ev;
    worker_send_event(p->transport->w, p->room->id, p->room->gen, &env);
}

void router_event_consumer_closed(struct consumer *c)
{
    Sfu__Envelope env = SFU__ENVELOPE__INIT;
    Sfu__ConsumerClosedEvent ev = SFU__CONSUMER_CLOSED_EVENT__INIT;
    ev.room_id = c->room->id;
    ev.consumer_id = c->id;
    ev.producer_id = c->producer->id;
    env.body_case = SFU__ENVELOPE__BODY_CONSUMER_CLOSED;
    env.consumer_closed = &ev;
    worker_send_event(c->transport->w, c->room->id, c->room->gen, &env);
}
