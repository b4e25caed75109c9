import { Kafka, logLevel, type Consumer as KafkaConsumer } from 'kafkajs';
import type { BrokerCluster } from '../config/index.ts';
import type { Logger } from '../common/logger.ts';
import type { Subscription } from './model.ts';
import { batchSize, type Deliver, type Source, type SourcePosition, type SourceRecord } from './source.ts';

/**
 * A Kafka source: a consumer group (`endure-<subscription id>` unless `group_id` names one),
 * no auto-commit; a partition's offset is committed after its records are durable. The record
 * key is the virtual-object key; (partition, offset) is the record's identity and, per partition,
 * the dedup sequence. `auto.offset.reset` (earliest by default) says where a new group starts.
 */
export function kafkaSource(sub: Subscription, cluster: BrokerCluster, logger: Logger): Source {
  const groupId = sub.options.group_id ?? `endure-${sub.id}`;
  const kafka = new Kafka({ clientId: `endure-${sub.id}`, brokers: [...cluster.servers], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const committed = new Map<number, string>();
  let running = false;

  function toRecord(partition: number, m: { offset: string; key: Buffer | null; value: Buffer | null; headers?: Record<string, unknown> }): SourceRecord {
    const headers: [string, string][] = [];
    for (const [name, value] of Object.entries(m.headers ?? {})) {
      if (value === undefined || value === null) continue;
      const values = Array.isArray(value) ? value : [value];
      headers.push([name, values.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v))).join(', ')]);
    }
    return {
      id: `${partition}/${m.offset}`,
      seq: { producer: `${sub.id}/${partition}`, seq: Number(m.offset) },
      key: m.key === null ? undefined : m.key.toString('utf8'),
      payload: m.value ?? new Uint8Array(0),
      headers,
    };
  }

  return {
    async run(deliver: Deliver, signal: AbortSignal): Promise<void> {
      const consumer: KafkaConsumer = kafka.consumer({ groupId });
      try {
        await consumer.connect();
        await consumer.subscribe({ topic: sub.topic, fromBeginning: sub.options['auto.offset.reset'] !== 'latest' });
        const crashed = new Promise<never>((_, reject) => {
          consumer.on(consumer.events.CRASH, (e) => reject(e.payload.error));
        });
        crashed.catch(() => undefined);
        await consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
            const size = batchSize(sub);
            for (let i = 0; i < batch.messages.length && isRunning() && !isStale(); i += size) {
              const chunk = batch.messages.slice(i, i + size);
              await deliver(chunk.map((m) => toRecord(batch.partition, m)));
              const last = chunk[chunk.length - 1]!.offset;
              resolveOffset(last);
              const next = (BigInt(last) + 1n).toString();
              await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
              committed.set(batch.partition, next);
              await heartbeat();
            }
          },
        });
        running = true;
        const aborted = new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        await Promise.race([aborted, crashed]);
      } finally {
        running = false;
        await consumer.disconnect().catch((err: unknown) => logger.debug({ err }, 'kafka disconnect failed'));
      }
    },

    async position(): Promise<SourcePosition | undefined> {
      if (!running) return undefined;
      const admin = kafka.admin();
      await admin.connect();
      try {
        const [offsets, group] = await Promise.all([admin.fetchTopicOffsets(sub.topic), admin.fetchOffsets({ groupId, topics: [sub.topic] })]);
        const at = new Map((group[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset === '-1' ? '0' : p.offset)]));
        let lag = 0n;
        for (const o of offsets) lag += BigInt(o.high) - (at.get(o.partition) ?? BigInt(o.low));
        return { acknowledged: [...committed].map(([p, o]) => `${p}:${o}`).join(','), lag: Number(lag) };
      } finally {
        await admin.disconnect();
      }
    },

    async dispose(): Promise<void> {
      if (sub.options.group_id !== undefined) return;
      const admin = kafka.admin();
      await admin.connect();
      try {
        await admin.deleteGroups([groupId]).catch(() => undefined);
      } finally {
        await admin.disconnect();
      }
    },
  };
}
