import { create, toBinary } from '@bufbuild/protobuf';
import { pb } from '../protocol/index.ts';
import type { Partitioner } from '../sharding/index.ts';
import { deriveInvocationId, formatInvocationId } from '../types/index.ts';
import type { Command, ResolvedTarget } from '../types/index.ts';
import type { Subscription } from './model.ts';
import type { SourceRecord } from './source.ts';

/** What the ingest needs from the node. */
export interface IngestDeps {
  readonly partitioner: Partitioner;
  /** Resolves the sink for a key; undefined while the service or handler is not registered. */
  resolve(service: string, handler: string, key: string | undefined): ResolvedTarget | 'no-handler' | undefined;
  /** Appends a command; resolves once it is durable. */
  readonly submit: (partition: number, command: Command) => Promise<void>;
  /** The clock for `createdAt`; apply never reads one. */
  readonly now: () => number;
}

/** Raised when a record cannot be turned into an invocation now (its sink is gone); retried. */
export class SinkUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SinkUnavailableError';
  }
}

/**
 * Turns a batch of records into `invoke` commands, submitted in source order, and resolves once
 * all are durable. The invocation id derives from (subscription, record id), and ordered
 * sources also carry a dedup header (producer, sequence): a record delivered again after a
 * crash names the same invocation and the same sequence, and so runs once. No sink is attached:
 * nobody waits for the handler's result, so a failing handler never holds the stream back.
 */
export async function ingestBatch(deps: IngestDeps, sub: Subscription, batch: readonly SourceRecord[]): Promise<void> {
  // Every command is built before the first is submitted: a record that cannot be built fails
  // the batch before anything of it is appended.
  const commands: [number, Command][] = [];
  const now = deps.now();
  for (const record of batch) {
    const probe = deps.resolve(sub.service, sub.handler, record.key);
    if (probe === undefined) throw new SinkUnavailableError(`service '${sub.service}' of ${sub.id} is not registered`);
    if (probe === 'no-handler') throw new SinkUnavailableError(`service '${sub.service}' of ${sub.id} has no handler '${sub.handler}'`);
    const keyed = probe.serviceType !== 'SERVICE';
    const target = keyed ? probe : { ...probe, key: undefined };
    const id = formatInvocationId(deriveInvocationId(`subscription:${sub.id}/${record.id}`, keyed ? (record.key ?? '') : undefined));
    const inputEntry = toBinary(
      pb.InputCommandMessageSchema,
      create(pb.InputCommandMessageSchema, {
        headers: record.headers.map(([key, value]) => ({ key, value })),
        value: { content: record.payload },
      }),
    );
    const command: Command = {
      kind: 'invoke',
      invocation: { id, target, inputEntry, idempotencyKey: undefined, executeAt: undefined, createdAt: now, sink: undefined, sinkMode: 'accepted' },
      ...(record.seq !== undefined ? { dedup: { producer: record.seq.producer, seq: record.seq.seq } } : {}),
    };
    commands.push([deps.partitioner.partitionOfInvocation(id), command]);
  }
  // A partition deduplicates a producer's records by the highest sequence it applied, so the
  // records of one partition must reach its log in source order: a later record appended first
  // would make the earlier one look like a repeat and drop it. In a cluster an append to a
  // partition led elsewhere is a node-to-node request, and concurrent requests can overtake
  // each other, so each partition's records are appended one after the other; different
  // partitions still proceed in parallel.
  const byPartition = new Map<number, Command[]>();
  for (const [partition, command] of commands) {
    const queue = byPartition.get(partition);
    if (queue === undefined) byPartition.set(partition, [command]);
    else queue.push(command);
  }
  await Promise.all(
    [...byPartition].map(async ([partition, queue]) => {
      for (const command of queue) await deps.submit(partition, command);
    }),
  );
}
