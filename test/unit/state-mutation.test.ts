// An operator's state mutation (POST /services/{s}/state), command by command on the state
// machine, and the state version Restate's CLI computes to guard it.
import { beforeEach, describe, expect, it } from 'vitest';
import { Partitioner } from '../../src/sharding/index.ts';
import { SqlitePartitionStore, openSqlite } from '../../src/store/index.ts';
import { formatInvocationId, newInvocationId, stateVersion } from '../../src/types/index.ts';
import { apply, type Action, type Command, type ResolvedTarget } from '../../src/worker/index.ts';
import { create, toBinary } from '@bufbuild/protobuf';
import { pb } from '../../src/protocol/index.ts';

const P = 0;
const partitioner = new Partitioner(1);
const utf8 = (s: string) => new TextEncoder().encode(s);
const sink = { kind: 'ingress' as const, node: 'n', requestId: 1 };
let store: SqlitePartitionStore;

beforeEach(() => {
  store = new SqlitePartitionStore(openSqlite(':memory:'));
});

async function run(command: Command): Promise<Action[]> {
  return store.transaction((tx) => apply(tx, { partition: P, partitioner }, command));
}

async function stateOf(key: string): Promise<Record<string, string>> {
  const entries = await store.getAllState('Counter', key);
  return Object.fromEntries(entries.map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]));
}

function mutation(key: string, state: Record<string, string>, version?: string): Command {
  return {
    kind: 'state-mutation',
    service: 'Counter',
    key,
    entries: Object.entries(state).map(([k, v]) => [utf8(k), utf8(v)] as const),
    ...(version !== undefined ? { version } : {}),
    sink,
  };
}

const answers = (actions: Action[]) => actions.filter((a) => a.kind === 'answer').map((a) => (a.kind === 'answer' ? a.answer : undefined));

describe('state mutation', () => {
  it('computes the version Restate computes (the empty state included)', () => {
    expect(stateVersion([])).toBe('47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU');
    // Order of the entries does not matter: they are sorted by key bytes.
    const a = [utf8('b'), utf8('2')] as const;
    const b = [utf8('a'), utf8('1')] as const;
    expect(stateVersion([a, b])).toBe(stateVersion([b, a]));
    expect(stateVersion([a, b])).not.toBe(stateVersion([a]));
  });

  it('replaces the whole state of a key when its version matches', async () => {
    expect(answers(await run(mutation('k1', { count: '1', old: 'x' })))).toEqual([{ kind: 'state', outcome: 'done' }]);
    const version = stateVersion(await store.getAllState('Counter', 'k1'));
    expect(answers(await run(mutation('k1', { count: '2' }, version)))).toEqual([{ kind: 'state', outcome: 'done' }]);
    expect(await stateOf('k1')).toEqual({ count: '2' });
    expect(answers(await run(mutation('k1', {})))).toEqual([{ kind: 'state', outcome: 'done' }]);
    expect(await stateOf('k1')).toEqual({});
  });

  it('changes nothing when the state changed since its version was read', async () => {
    await run(mutation('k1', { count: '1' }));
    const stale = stateVersion([]);
    expect(answers(await run(mutation('k1', { count: '9' }, stale)))).toEqual([{ kind: 'state', outcome: 'version-mismatch' }]);
    expect(await stateOf('k1')).toEqual({ count: '1' });
  });

  it('changes nothing while an invocation holds the key', async () => {
    await run(mutation('k1', { count: '1' }));
    const target: ResolvedTarget = {
      service: 'Counter', handler: 'add', key: 'k1', serviceType: 'VIRTUAL_OBJECT', handlerType: 'EXCLUSIVE', deploymentId: 'dp_1', retentionMs: 60_000,
    };
    const id = formatInvocationId(newInvocationId('k1'));
    const input = toBinary(pb.InputCommandMessageSchema, create(pb.InputCommandMessageSchema, {}));
    await run({
      kind: 'invoke',
      invocation: { id, target, inputEntry: input, idempotencyKey: undefined, executeAt: undefined, createdAt: 1, sink: undefined, sinkMode: 'result' },
    });
    expect(answers(await run(mutation('k1', { count: '5' })))).toEqual([{ kind: 'state', outcome: 'busy', holder: id }]);
    expect(await stateOf('k1')).toEqual({ count: '1' });
  });
});
