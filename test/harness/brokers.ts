// The brokers of the subscription tests: NATS JetStream and RabbitMQ on this machine (Kafka when
// KAFKA_BROKERS is set). Each test makes its own stream / queue / topic and removes it.
import { connect as amqpConnect } from "amqplib";
import { Kafka, logLevel } from "kafkajs";
import { connect as natsConnect, headers as natsHeaders, type NatsConnection } from "nats";

export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
export const AMQP_URL = process.env.AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672";
/** Kafka bootstrap brokers (`host:port,…`); the Kafka tests skip without them. */
export const KAFKA_BROKERS = process.env.KAFKA_BROKERS;

/** A record to publish: its body, and its key as a header (NATS, RabbitMQ) or record key (Kafka). */
export interface Published {
  key: string;
  body: unknown;
  headers?: Record<string, string>;
}

/** A place to publish to, which removes itself. */
export interface TestTopic {
  /** The subject / queue / topic name. */
  readonly name: string;
  publish(records: readonly Published[]): Promise<void>;
  remove(): Promise<void>;
}

/** A JetStream stream capturing exactly one subject. */
export async function natsTopic(name: string): Promise<TestTopic> {
  const nc: NatsConnection = await natsConnect({ servers: NATS_URL });
  const jsm = await nc.jetstreamManager();
  const stream = name.replace(/[^A-Za-z0-9_-]/g, "_");
  await jsm.streams.add({ name: stream, subjects: [name] });
  const js = nc.jetstream();
  return {
    name,
    async publish(records) {
      for (let i = 0; i < records.length; i += 500) {
        await Promise.all(
          records.slice(i, i + 500).map((r) => {
            const h = natsHeaders();
            h.set("key", r.key);
            for (const [k, v] of Object.entries(r.headers ?? {})) h.set(k, v);
            return js.publish(name, JSON.stringify(r.body), { headers: h });
          }),
        );
      }
    },
    async remove() {
      await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    },
  };
}

/** A durable RabbitMQ queue; messages carry a message id, the key header, and are persistent. */
export async function rabbitQueue(name: string): Promise<TestTopic> {
  const conn = await amqpConnect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(name, { durable: true });
  let seq = 0;
  return {
    name,
    async publish(records) {
      for (const r of records) {
        ch.sendToQueue(name, Buffer.from(JSON.stringify(r.body)), {
          persistent: true,
          messageId: `${name}-${seq++}`,
          contentType: "application/json",
          headers: { key: r.key, ...(r.headers ?? {}) },
        });
      }
      await ch.waitForConfirms();
    },
    async remove() {
      await ch.deleteQueue(name).catch(() => undefined);
      await conn.close().catch(() => undefined);
    },
  };
}

/** A Kafka topic with 4 partitions. */
export async function kafkaTopic(name: string): Promise<TestTopic> {
  const kafka = new Kafka({ clientId: "endure-tests", brokers: (KAFKA_BROKERS ?? "").split(","), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: name, numPartitions: 4 }], waitForLeaders: true });
  const producer = kafka.producer();
  await producer.connect();
  return {
    name,
    async publish(records) {
      for (let i = 0; i < records.length; i += 1000) {
        await producer.send({
          topic: name,
          messages: records.slice(i, i + 1000).map((r) => ({ key: r.key, value: JSON.stringify(r.body), headers: r.headers ?? {} })),
        });
      }
    },
    async remove() {
      await producer.disconnect();
      await admin.deleteTopics({ topics: [name] }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

/** `--subscription-clusters` for the brokers above. */
export function clustersSetting(): string {
  const amqp = AMQP_URL.replace(/^amqp:\/\//, "");
  const parts = [`nats1=${NATS_URL}`, `rabbit1=amqp://${amqp}`];
  if (KAFKA_BROKERS !== undefined) parts.push(`kafka1=kafka://${KAFKA_BROKERS}`);
  return parts.join(" ");
}
