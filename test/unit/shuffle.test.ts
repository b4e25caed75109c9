import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Shuffle } from '../../src/node/shuffle.ts';
import type { Command } from '../../src/worker/index.ts';

// The target of an outbox message deduplicates by the highest sequence it applied from the
// source partition, so a message that overtakes an earlier one to the same target makes the
// target drop the earlier one. Appends to another node's leader are separate HTTP requests that
// can complete in any order; the shuffle must therefore never have two messages of one source to
// one target in flight, and must retry a refused one before sending the next.

const logger = pino({ level: 'silent' });

/** An append to another node that completes when the test says so. */
interface Append {
  readonly partition: number;
  readonly command: Command;
  resolve(): void;
  reject(err: Error): void;
}

function network() {
  const appends: Append[] = [];
  const submit = (partition: number, command: Command) =>
    new Promise<void>((resolve, reject) => appends.push({ partition, command, resolve, reject }));
  return { appends, submit };
}

/** A message to `partition` whose command names its outbox sequence. */
const message = (partition: number, seq: number) => ({ partition, command: { kind: 'outbox-delivered', upTo: seq } as Command });
const seqOf = (a: Append) => (a.command.kind === 'outbox-delivered' ? a.command.upTo : undefined);
const settle = () => new Promise((r) => setImmediate(r));

describe('outbox shuffle', () => {
  it('sends the next message to a target only after the previous one was acknowledged', async () => {
    const net = network();
    const shuffle = new Shuffle(net.submit, logger, async () => undefined);
    shuffle.resume(0, 1);
    shuffle.deliver(0, 1, message(2, 1));
    shuffle.deliver(0, 2, message(2, 2));
    shuffle.deliver(0, 3, message(3, 3));
    await settle();
    // One in flight per target: seq 1 to partition 2, seq 3 to partition 3; seq 2 waits.
    expect(net.appends.map((a) => [a.partition, seqOf(a)])).toEqual([[2, 1], [3, 3]]);
    net.appends[0]!.resolve();
    await settle();
    expect(net.appends.map((a) => [a.partition, seqOf(a)])).toContainEqual([2, 2]);
    shuffle.close();
  });

  it('retries a refused message before any later one to the same target', async () => {
    const net = network();
    const shuffle = new Shuffle(net.submit, logger, async () => undefined);
    shuffle.resume(0, 1);
    shuffle.deliver(0, 1, message(2, 1));
    shuffle.deliver(0, 2, message(2, 2));
    await settle();
    net.appends[0]!.reject(new Error('the leader of partition 2 refused the append'));
    // The retry follows a short pause; wait until it is sent, whatever the machine's speed.
    while (net.appends.length < 2) await new Promise((r) => setTimeout(r, 20));
    expect(net.appends.map((a) => seqOf(a))).toEqual([1, 1]);
    net.appends[1]!.resolve();
    await settle();
    // Partition 0 gets its outbox truncation besides; partition 2 got seq 1 twice, then seq 2.
    expect(net.appends.filter((a) => a.partition === 2).map((a) => seqOf(a))).toEqual([1, 1, 2]);
    shuffle.close();
  });
});
