import { AckPolicy, DeliverPolicy, connect, nanos, type JsMsg, type NatsConnection } from 'nats';
import type { BrokerCluster } from '../config/index.ts';
import type { Logger } from '../common/logger.ts';
import type { Subscription } from './model.ts';
import { Pump } from './pump.ts';
import { batchSize, keyHeader, type Deliver, type Source, type SourcePosition, type SourceRecord } from './source.ts';

const ACK_WAIT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * A NATS JetStream source: a durable pull consumer (`endure-<subscription id>` unless the
 * `consumer` option names one) on the stream that captures the subject (or the `stream`
 * option), with explicit acks sent in stream order.
 *
 * On every start the consumer is re-seated at its acknowledgement floor when it has records
 * delivered but not acknowledged: JetStream would otherwise redeliver those only after the ack
 * wait, behind newer records, and a key's records would run out of order. A new consumer starts
 * at the beginning of what the stream retains.
 */
export function natsSource(sub: Subscription, cluster: BrokerCluster, logger: Logger): Source {
  const durable = sub.options.consumer ?? `endure-${sub.id}`;
  let current: { nc: NatsConnection; stream: string } | undefined;

  async function open(): Promise<{ nc: NatsConnection; stream: string }> {
    const nc = await connect({ servers: [...cluster.servers], reconnect: false, timeout: CONNECT_TIMEOUT_MS, name: `endure ${sub.id}` });
    try {
      const jsm = await nc.jetstreamManager();
      const stream = sub.options.stream ?? (await jsm.streams.find(sub.topic));
      return { nc, stream };
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  async function seat(nc: NatsConnection, stream: string): Promise<void> {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.consumers.info(stream, durable).catch(() => undefined);
    if (info !== undefined && info.num_ack_pending === 0) return;
    let startSeq: number | undefined;
    if (info !== undefined) {
      startSeq = info.ack_floor.stream_seq + 1;
      logger.info({ subscription: sub.id, stream, durable, startSeq, pending: info.num_ack_pending }, 're-seating the NATS consumer at its acknowledgement floor');
      await jsm.consumers.delete(stream, durable);
    }
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      filter_subject: sub.topic,
      ack_wait: nanos(ACK_WAIT_MS),
      max_ack_pending: batchSize(sub) * 8,
      ...(startSeq !== undefined ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq } : { deliver_policy: DeliverPolicy.All }),
    });
  }

  function toRecord(m: JsMsg, stream: string): SourceRecord {
    const headers: [string, string][] = [];
    let key: string | undefined;
    const wanted = keyHeader(sub);
    for (const [name, values] of m.headers ?? []) {
      const value = values.join(', ');
      headers.push([name, value]);
      if (name.toLowerCase() === wanted) key = values[0];
    }
    return { id: `${stream}/${m.seq}`, seq: { producer: sub.id, seq: m.seq }, key, payload: m.data, headers };
  }

  return {
    async run(deliver: Deliver, signal: AbortSignal): Promise<void> {
      const { nc, stream } = await open();
      current = { nc, stream };
      try {
        await seat(nc, stream);
        const consumer = await nc.jetstream().consumers.get(stream, durable);
        const messages = await consumer.consume({ max_messages: batchSize(sub) * 2 });
        const stop = () => messages.stop();
        signal.addEventListener('abort', stop, { once: true });
        const pump = new Pump<JsMsg>(
          batchSize(sub),
          async (batch) => {
            await deliver(batch.map((m) => toRecord(m, stream)));
            for (const m of batch) m.ack();
          },
          (err) => messages.stop(err instanceof Error ? err : new Error(String(err))),
        );
        try {
          for await (const m of messages) pump.push(m);
          await pump.drain();
        } finally {
          signal.removeEventListener('abort', stop);
        }
        if (!signal.aborted) throw new Error(`the NATS consumer ${durable} on stream ${stream} stopped`);
      } finally {
        current = undefined;
        // Sends the acks still buffered before the connection goes.
        await nc.drain().catch(() => nc.close());
      }
    },

    async position(): Promise<SourcePosition | undefined> {
      const c = current;
      if (c === undefined) return undefined;
      const info = await (await c.nc.jetstreamManager()).consumers.info(c.stream, durable);
      return { acknowledged: `${c.stream}/${info.ack_floor.stream_seq}`, lag: info.num_pending + info.num_ack_pending };
    },

    async dispose(): Promise<void> {
      if (sub.options.consumer !== undefined) return;
      const { nc, stream } = await open();
      try {
        await (await nc.jetstreamManager()).consumers.delete(stream, durable).catch(() => false);
      } finally {
        await nc.close();
      }
    },
  };
}
