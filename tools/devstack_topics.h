/*
 * devstack_topics.h -- baton-devstack on an external Kafka cluster (Apache
 * Kafka, BROKER=apache): creates the dev stack's topics through the Admin
 * API and waits until every partition has a leader.  The embedded broker
 * (librdkafka's mock cluster) creates its topics itself in devstack.c.
 */
#ifndef BATON_DEVSTACK_TOPICS_H
#define BATON_DEVSTACK_TOPICS_H

#include <stddef.h>

/* Creates each of the ntopics topics with partitions partitions and the
 * given replication factor on the cluster at bootstrap (a topic that exists
 * already is kept as it is, with a warning when its partition count
 * differs), then waits until every partition of every topic has a leader.
 * timeout_ms bounds the whole call.  Returns 0, or -1 with errstr. */
int devstack_topics_create(const char *bootstrap, const char *const *topics,
                           int ntopics, int partitions, int replication,
                           int timeout_ms, char *errstr, size_t errlen);

#endif
