import type { BrokerCluster, BrokerKind } from '../config/index.ts';
import type { SubscriptionRecord } from '../store/index.ts';
import { SubscriptionError, SubscriptionErrorCode, type Subscription } from './model.ts';

/** The schema facts a subscription's sink is checked against. */
export interface SinkLookup {
  /** The service's type, or undefined when no such service is registered. */
  lookup(service: string): { ty: 'SERVICE' | 'VIRTUAL_OBJECT' | 'WORKFLOW' } | undefined;
  handlerInfo(service: string, handler: string): { public: boolean } | undefined;
}

/** Options every source understands, and those of one kind. */
const COMMON_OPTIONS = ['key_header', 'batch_size'];
const KIND_OPTIONS: Record<BrokerKind, string[]> = {
  nats: ['stream', 'consumer'],
  rabbitmq: ['prefetch'],
  kafka: ['group_id', 'auto.offset.reset'],
};

const SOURCE = /^([a-z][a-z0-9+.-]*):\/\/([^/]*)\/(.*)$/;
const SINK = /^service:\/\/([^/]+)\/([^/]+)$/;

function invalidSource(message: string): SubscriptionError {
  return new SubscriptionError(SubscriptionErrorCode.InvalidSource, 400, message);
}

function invalidSink(message: string): SubscriptionError {
  return new SubscriptionError(SubscriptionErrorCode.InvalidSink, 400, message);
}

/**
 * Takes a subscription's source and sink apart and checks them against the configured clusters
 * (and, when `sinks` is given, the registered services); throws a SubscriptionError (400) with a
 * message that says what is wrong.
 */
export function parseSubscription(
  record: SubscriptionRecord,
  clusters: readonly BrokerCluster[],
  sinks?: SinkLookup,
): Subscription {
  const source = SOURCE.exec(record.source);
  if (!source) {
    throw invalidSource(`Invalid source '${record.source}': expected nats://<cluster>/<subject>, rabbitmq://<cluster>/<queue> or kafka://<cluster>/<topic>`);
  }
  const [, scheme, cluster, rawTopic] = source as unknown as [string, string, string, string];
  if (scheme !== 'nats' && scheme !== 'rabbitmq' && scheme !== 'kafka') {
    throw invalidSource(`Invalid source '${record.source}': unknown scheme '${scheme}', expected nats, rabbitmq or kafka`);
  }
  const configured = clusters.find((c) => c.name === cluster);
  if (!configured) {
    const known = clusters.filter((c) => c.kind === scheme).map((c) => c.name);
    throw invalidSource(
      `Invalid source '${record.source}': unknown ${scheme} cluster '${cluster}' (${known.length > 0 ? `configured: ${known.join(', ')}` : `none configured; set --subscription-clusters`})`,
    );
  }
  if (configured.kind !== scheme) {
    throw invalidSource(`Invalid source '${record.source}': cluster '${cluster}' is a ${configured.kind} cluster, not ${scheme}`);
  }
  let topic: string;
  try {
    topic = decodeURIComponent(rawTopic);
  } catch {
    throw invalidSource(`Invalid source '${record.source}': cannot decode '${rawTopic}'`);
  }
  if (topic === '' || /\s/.test(topic)) {
    throw invalidSource(`Invalid source '${record.source}': the ${scheme === 'nats' ? 'subject' : scheme === 'rabbitmq' ? 'queue' : 'topic'} is empty or contains whitespace`);
  }

  const sink = SINK.exec(record.sink);
  if (!sink) throw invalidSink(`Invalid sink '${record.sink}': expected service://<service>/<handler>`);
  const [, service, handler] = sink as unknown as [string, string, string];
  if (sinks !== undefined) {
    const svc = sinks.lookup(service);
    if (!svc) throw invalidSink(`Invalid sink '${record.sink}': service '${service}' is not registered`);
    const info = sinks.handlerInfo(service, handler);
    if (!info) throw invalidSink(`Invalid sink '${record.sink}': service '${service}' has no handler '${handler}'`);
    if (!info.public) throw invalidSink(`Invalid sink '${record.sink}': handler '${service}/${handler}' is not public`);
    if (svc.ty === 'WORKFLOW') throw invalidSink(`Invalid sink '${record.sink}': '${service}' is a workflow; a subscription can target services and virtual objects`);
  }

  const allowed = [...COMMON_OPTIONS, ...KIND_OPTIONS[scheme]];
  for (const [name, value] of Object.entries(record.options)) {
    if (!allowed.includes(name)) {
      throw new SubscriptionError(SubscriptionErrorCode.InvalidOption, 400, `Unknown option '${name}' for a ${scheme} source; known: ${allowed.join(', ')}`);
    }
    if ((name === 'batch_size' || name === 'prefetch') && !/^[1-9]\d{0,4}$/.test(value)) {
      throw new SubscriptionError(SubscriptionErrorCode.InvalidOption, 400, `Option '${name}' must be an integer between 1 and 99999, got '${value}'`);
    }
    if (name === 'auto.offset.reset' && value !== 'earliest' && value !== 'latest') {
      throw new SubscriptionError(SubscriptionErrorCode.InvalidOption, 400, `Option 'auto.offset.reset' must be earliest or latest, got '${value}'`);
    }
  }
  return { ...record, kind: scheme, cluster, topic, service, handler };
}
