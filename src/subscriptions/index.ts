/**
 * Event ingress: subscriptions that turn each record of a broker stream into an invocation of a
 * handler (Restate's `ingress-kafka`, for NATS JetStream, RabbitMQ and Kafka).
 *
 * What it owns:
 * - **Subscriptions** `{id, source, sink, options}`, created, listed and deleted through the
 *   admin API (`/subscriptions`, Restate's shapes) and kept in the metadata store next to the
 *   deployments (table `subscription`). A subscription is validated once, on creation: the
 *   source scheme must be `nats`, `rabbitmq` or `kafka`, its cluster must be configured and of
 *   that kind, and the sink must name a public handler of a registered service.
 * - **Broker clusters**, configured by name with one server setting,
 *   `--subscription-clusters` / `ENDURE_SUBSCRIPTION_CLUSTERS`:
 *   `main=nats://127.0.0.1:4222 rabbit=amqp://guest:guest@127.0.0.1:5672 events=kafka://b1:9092,b2:9092`.
 *   The URL scheme says what kind of broker a cluster is; a source `nats://main/orders.>` then
 *   names the cluster `main`, which must be a NATS cluster.
 * - **Consumers**: one per subscription this node consumes, an explicit state machine
 *   (starting → running → backing-off → stopped) that reads records in source order, appends
 *   one `invoke` command per record, and acknowledges the broker only after those commands are
 *   durable. "Which node consumes a subscription" is asked in exactly one place,
 *   {@link ConsumerPlacement}; a single node consumes all of them, and in a cluster the leader
 *   of the partition derived from the subscription id consumes it: the consumer stops the
 *   moment that node loses the lease and starts on the node that takes it over, which resumes
 *   from the broker's last acknowledgement. Every node re-reads the subscriptions each second,
 *   so one created or deleted through any node is seen by all.
 *
 * Exactly once into the journal. A record's identity is its position in the source: the stream
 * sequence (NATS), the partition offset (Kafka), or the message id (RabbitMQ). From it derive
 * - the invocation id, deterministically (`deriveInvocationId` of subscription id and
 *   position; keyed by the record's key), so a redelivered record names the same invocation and
 *   joins it instead of starting another;
 * - where positions are ordered (NATS, Kafka), the command's dedup header (rule 5): producer
 *   `sub_…` (per Kafka partition: `sub_…/p`), sequence = the position. A partition applies a
 *   producer's sequence once; unlike the invocation id, this never expires.
 * A RabbitMQ message without a `message-id` property has no identity to derive from: it is
 * delivered at least once (publishers that want exactly once set `messageId`).
 * The submit of the `invoke` resolves only once it is durable (group commit), and only then is
 * the broker acknowledged: a crash between the two redelivers records that are already in the
 * log, and the derived identity drops them. Nothing acknowledged is lost.
 *
 * Order. Commands are submitted in source order; records with the same key go to the same
 * partition and the same virtual object, whose inbox runs them one at a time in the order they
 * were appended. After a crash NATS redelivers from the consumer's acknowledgement floor (the
 * consumer is re-seated there on start, rather than waiting for the ack timeout, which would
 * let later records overtake earlier ones), RabbitMQ puts unacknowledged messages back at their
 * place in the queue, and Kafka resumes at the committed offset.
 *
 * Poison records. The handler's outcome does not hold the stream back: a record is
 * acknowledged once its invocation is durably accepted. A handler that rejects a record with a
 * terminal error completes that invocation with the failure (kept, like any result, for the
 * retention period, and visible through the admin API); the records after it proceed. A
 * retryable error is retried by the invoker's retry policy, holding up only later records of
 * the same virtual-object key, as any invocation would.
 *
 * This module never writes partition state itself (rule 1): records enter the partitions only
 * as commands through `submit`, like the HTTP ingress.
 */
export { SubscriptionService } from './service.ts';
export type { CreateSubscription, SubscriptionServiceDeps, SubscriptionView } from './service.ts';
export { subscriptionRoutes } from './routes.ts';
export { SINGLE_NODE_PLACEMENT, leaderPlacement, subscriptionPartition, type ConsumerPlacement } from './placement.ts';
export { parseSubscription, type SinkLookup } from './spec.ts';
export { SubscriptionError, SubscriptionErrorCode, type Subscription } from './model.ts';
export type { Source, SourceRecord, SourcePosition } from './source.ts';
