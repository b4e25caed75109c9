import { describe, expect, it } from 'vitest';
import { ConfigError, compileConfig, parseBrokerClusters } from '../../src/config/index.ts';
import { parseSubscription, type SinkLookup } from '../../src/subscriptions/index.ts';

const clusters = parseBrokerClusters('main=nats://127.0.0.1:4222 rabbit=amqp://guest:guest@127.0.0.1:5672 events=kafka://b1:9092,b2:9093')!;

const sinks: SinkLookup = {
  lookup: (s) => ({ Counter: { ty: 'VIRTUAL_OBJECT' as const }, Greeter: { ty: 'SERVICE' as const }, Flow: { ty: 'WORKFLOW' as const } })[s],
  handlerInfo: (s, h) => (s === 'Counter' && h === 'add') || (s === 'Greeter' && h === 'greet') || (s === 'Flow' && h === 'run') ? { public: true } : s === 'Counter' && h === 'secret' ? { public: false } : undefined,
};

function spec(source: string, sink = 'service://Counter/add', options: Record<string, string> = {}) {
  return parseSubscription({ id: 'sub_x', source, sink, options, createdAt: 0 }, clusters, sinks);
}

describe('broker clusters setting', () => {
  it('names each cluster and takes its kind from the URL scheme', () => {
    expect(clusters).toEqual([
      { name: 'main', kind: 'nats', servers: ['nats://127.0.0.1:4222'] },
      { name: 'rabbit', kind: 'rabbitmq', servers: ['amqp://guest:guest@127.0.0.1:5672'] },
      { name: 'events', kind: 'kafka', servers: ['b1:9092', 'b2:9093'] },
    ]);
  });

  it('refuses unknown schemes, duplicate names and malformed entries without repeating the value', () => {
    expect(parseBrokerClusters('a=mqtt://h:1')).toBeUndefined();
    expect(parseBrokerClusters('a=nats://h:1 a=nats://h:2')).toBeUndefined();
    expect(parseBrokerClusters('nats://h:1')).toBeUndefined();
    expect(parseBrokerClusters('k=kafka://no-port')).toBeUndefined();
    expect(() => compileConfig({ env: { ENDURE_SUBSCRIPTION_CLUSTERS: 'r=amqp://u:secretpw@h:5672 r=amqp://x' } })).toThrow(ConfigError);
    try {
      compileConfig({ env: { ENDURE_SUBSCRIPTION_CLUSTERS: 'r=amqp://u:secretpw@h:5672 r=amqp://x' } });
    } catch (err) {
      expect(String(err)).toContain('ENDURE_SUBSCRIPTION_CLUSTERS');
      expect(String(err)).not.toContain('secretpw');
    }
  });

  it('defaults to no clusters', () => {
    expect(compileConfig({}).subscriptionClusters).toEqual([]);
  });
});

describe('subscription specs', () => {
  it('take source and sink apart', () => {
    expect(spec('nats://main/orders.eu')).toMatchObject({ kind: 'nats', cluster: 'main', topic: 'orders.eu', service: 'Counter', handler: 'add' });
    expect(spec('rabbitmq://rabbit/jobs', 'service://Greeter/greet', { prefetch: '10' })).toMatchObject({ kind: 'rabbitmq', topic: 'jobs' });
    expect(spec('kafka://events/clicks', undefined, { 'auto.offset.reset': 'latest' })).toMatchObject({ kind: 'kafka', topic: 'clicks' });
  });

  it.each([
    ['mqtt://main/x', undefined, {}, /unknown scheme 'mqtt'/],
    ['nats://other/x', undefined, {}, /unknown nats cluster 'other' \(configured: main\)/],
    ['kafka://main/x', undefined, {}, /cluster 'main' is a nats cluster, not kafka/],
    ['nats://main/', undefined, {}, /subject is empty/],
    ['orders', undefined, {}, /expected nats:\/\/<cluster>\/<subject>/],
    ['nats://main/x', 'service://Nope/add', {}, /service 'Nope' is not registered/],
    ['nats://main/x', 'service://Counter/nope', {}, /has no handler 'nope'/],
    ['nats://main/x', 'service://Counter/secret', {}, /is not public/],
    ['nats://main/x', 'service://Flow/run', {}, /is a workflow/],
    ['nats://main/x', 'Counter/add', {}, /expected service:\/\/<service>\/<handler>/],
    ['nats://main/x', undefined, { group_id: 'g' }, /Unknown option 'group_id' for a nats source/],
    ['rabbitmq://rabbit/q', undefined, { prefetch: '0' }, /'prefetch' must be an integer/],
    ['kafka://events/t', undefined, { 'auto.offset.reset': 'middle' }, /earliest or latest/],
  ])('%s -> %s %o is refused with a 400 that says why', (source, sink, options, message) => {
    try {
      spec(source, sink, options);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ status: 400 });
      expect((err as Error).message).toMatch(message);
    }
  });
});
