// What the SQLite durability tests write before closing (or killing) the writer; sqlite.test.ts
// checks it after reopening the file. Uses the store interfaces only, and no test runner, so a
// plain child process can run it.
import type { PartitionStore } from '../../src/store/index.ts';
import type { MetadataStore } from '../../src/store/metadata.ts';
import { NON_UTF8, fullStatus, utf8 } from './fixtures.ts';

/** The partition the fixture writes to. */
export const DURABLE_PARTITION = 3;
const P = DURABLE_PARTITION;
/** InputCommand's type code; the protocol module is not loaded here to keep the child light. */
const INPUT_COMMAND = 0x0400;

/** Commits one apply's worth of records and a deployment, then starts a transaction that fails. */
export async function writeDurabilityFixture(store: PartitionStore, metadata: MetadataStore): Promise<void> {
  await store.transaction(async (tx) => {
    await tx.appendLog(P, 1, NON_UTF8);
    await tx.putFsm(P, { appliedLsn: 1, epoch: 2, outboxSeq: 0, inboxSeq: 0 });
    await tx.putInvocation(fullStatus('inv_durable', { partition: P }));
    await tx.appendJournal('inv_durable', { index: 0, type: INPUT_COMMAND, completionId: undefined, body: NON_UTF8 });
    await tx.setState('Counter', 'alice', utf8('count'), utf8('41'));
  });
  await store
    .transaction(async (tx) => {
      await tx.setState('Counter', 'alice', utf8('count'), utf8('rolled back'));
      throw new Error('rolled back on purpose');
    })
    .catch(() => undefined);
  await metadata.saveDeployment(
    { id: 'dp_durable', url: 'http://127.0.0.1:9080/', createdAt: 1, data: { ok: true } },
    [{ name: 'Counter', revision: 1, deploymentId: 'dp_durable', data: { handlers: ['add'] } }],
  );
}
