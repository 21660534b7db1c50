/* An intrusive doubly linked list: the node lives inside the member struct, so joining and
 * leaving a list never allocates. */
#ifndef SFU_LIST_H
#define SFU_LIST_H

#include <stddef.h>

struct list {
    struct list *prev;
    struct list *next;
};

#define list_entry(node, type, member) ((type *)((char *)(node)-offsetof(type, member)))

static inline void list_init(struct list *head)
{
    head->prev = head;
    head->next = head;
}

static inline int list_empty(const struct list *head)
{
    return head->next == head;
}

static inline void list_insert_tail(struct list *head, struct list *node)
{
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

/* Unlinks node and leaves it pointing at itself, so a second remove is harmless. */
static inline void list_remove(struct list *node)
{
    node->prev->next = node->next;
    node->next->prev = node->prev;
    node->prev = node;
    node->next = node;
}

#define list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

/* Safe against removal of pos inside the loop. */
#define list_for_each_safe(pos, tmp, head)                                                         \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                               \
         (pos) = (tmp), (tmp) = (pos)->next)

#endif
