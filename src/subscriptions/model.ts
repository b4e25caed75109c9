import { randomBytes } from 'node:crypto';
import type { BrokerKind } from '../config/index.ts';

/** A subscription as the consumers use it: its source and sink taken apart. */
export interface Subscription {
  readonly id: string;
  /** As given: `nats://main/orders`. */
  readonly source: string;
  /** As given: `service://Counter/add`. */
  readonly sink: string;
  readonly options: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly kind: BrokerKind;
  readonly cluster: string;
  /** NATS subject, RabbitMQ queue or Kafka topic. */
  readonly topic: string;
  readonly service: string;
  readonly handler: string;
}

/** Stable codes of subscription errors. */
export const SubscriptionErrorCode = {
  InvalidSource: 'INVALID_SOURCE',
  InvalidSink: 'INVALID_SINK',
  InvalidOption: 'INVALID_OPTION',
  NotFound: 'SUBSCRIPTION_NOT_FOUND',
} as const;
/** A subscription error code. */
export type SubscriptionErrorCode = (typeof SubscriptionErrorCode)[keyof typeof SubscriptionErrorCode];

/** A bad subscription request (400) or an unknown subscription (404). */
export class SubscriptionError extends Error {
  constructor(
    readonly code: SubscriptionErrorCode,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SubscriptionError';
  }
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A new subscription id: `sub_` and 26 random base62 characters, like deployment ids. */
export function newSubscriptionId(): string {
  let out = 'sub_';
  while (out.length < 30) {
    for (const byte of randomBytes(32)) {
      // 248 = 4 * 62: rejecting larger bytes keeps the characters uniformly distributed.
      if (byte < 248 && out.length < 30) out += BASE62[byte % 62];
    }
  }
  return out;
}
