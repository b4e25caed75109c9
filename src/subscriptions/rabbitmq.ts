import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import type { BrokerCluster } from '../config/index.ts';
import type { Logger } from '../common/logger.ts';
import type { Subscription } from './model.ts';
import { Pump } from './pump.ts';
import { batchSize, keyHeader, type Deliver, type Source, type SourcePosition, type SourceRecord } from './source.ts';

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * A RabbitMQ source: one exclusive consumer on a durable queue (declared durable when it does
 * not exist), manual acks, `prefetch` unacknowledged messages at most (default: twice the batch
 * size). Acks go out after the batch is durable, each covering the batch (`multiple`). When the
 * connection drops or the node dies, the broker puts unacknowledged messages back at their place
 * in the queue, so the next consumer sees them again, in order.
 *
 * The message's `message-id` property is its identity; a message without one cannot be told
 * apart from a redelivery and is delivered at least once.
 */
export function rabbitmqSource(sub: Subscription, cluster: BrokerCluster, logger: Logger): Source {
  const url = cluster.servers[0] as string;
  let current: Channel | undefined;
  let acknowledged = 0;

  async function openChannel(conn: ChannelModel): Promise<Channel> {
    const ch = await conn.createChannel();
    try {
      await ch.checkQueue(sub.topic);
      return ch;
    } catch {
      // A missing queue closes the channel that asked; declare it on a fresh one.
      const fresh = await conn.createChannel();
      await fresh.assertQueue(sub.topic, { durable: true });
      logger.info({ subscription: sub.id, queue: sub.topic }, 'declared the durable queue of a subscription');
      return fresh;
    }
  }

  function toRecord(m: ConsumeMessage): SourceRecord {
    const headers: [string, string][] = [];
    const wanted = keyHeader(sub);
    let key: string | undefined;
    for (const [name, value] of Object.entries((m.properties.headers ?? {}) as Record<string, unknown>)) {
      if (value === undefined || value === null) continue;
      const text = Buffer.isBuffer(value) ? value.toString('utf8') : typeof value === 'object' ? JSON.stringify(value) : String(value);
      headers.push([name, text]);
      if (name.toLowerCase() === wanted) key = text;
    }
    const contentType = m.properties.contentType as string | undefined;
    if (contentType !== undefined) headers.push(['content-type', contentType]);
    const messageId = m.properties.messageId as string | undefined;
    return { id: messageId !== undefined && messageId !== '' ? `msg/${messageId}` : `delivery/${randomUUID()}`, key, payload: m.content, headers };
  }

  return {
    async run(deliver: Deliver, signal: AbortSignal): Promise<void> {
      const conn = await connect(url, { timeout: CONNECT_TIMEOUT_MS });
      try {
        const ch = await openChannel(conn);
        current = ch;
        await ch.prefetch(Number(sub.options.prefetch ?? batchSize(sub) * 2));
        let settle: { resolve: () => void; reject: (err: Error) => void } = { resolve: () => undefined, reject: () => undefined };
        const ended = new Promise<void>((resolve, reject) => {
          settle = { resolve, reject };
        });
        // Settled by whichever comes first; later failures (our own close) must not surface as unhandled.
        ended.catch(() => undefined);
        const fail = (err: unknown) => settle.reject(err instanceof Error ? err : new Error(String(err)));
        conn.on('error', fail);
        conn.on('close', () => fail(new Error('the RabbitMQ connection closed')));
        ch.on('error', fail);
        ch.on('close', () => fail(new Error('the RabbitMQ channel closed')));
        const pump = new Pump<ConsumeMessage>(
          batchSize(sub),
          async (batch) => {
            await deliver(batch.map(toRecord));
            ch.ack(batch[batch.length - 1] as ConsumeMessage, true);
            acknowledged += batch.length;
          },
          fail,
        );
        const { consumerTag } = await ch.consume(
          sub.topic,
          (m) => {
            if (m === null) fail(new Error(`the consumer of queue ${sub.topic} was cancelled by the broker`));
            else pump.push(m);
          },
          { noAck: false, exclusive: true },
        );
        signal.addEventListener('abort', () => settle.resolve(), { once: true });
        if (signal.aborted) settle.resolve();
        await ended;
        // Stopping: take no more messages, finish the batch in hand; the rest go back to the queue.
        await ch.cancel(consumerTag);
        await pump.drain();
      } finally {
        current = undefined;
        await conn.close().catch(() => undefined);
      }
    },

    async position(): Promise<SourcePosition | undefined> {
      const ch = current;
      if (ch === undefined) return undefined;
      const q = await ch.checkQueue(sub.topic);
      return { acknowledged: String(acknowledged), lag: q.messageCount };
    },

    async dispose(): Promise<void> {
      // The queue belongs to its publishers; nothing at the broker is the subscription's own.
    },
  };
}
