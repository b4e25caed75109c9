// Persistence of the event ingress's subscriptions. Stores keep them opaque: validation is the
// subscriptions module's job, done before anything reaches a store.

/** One subscription as stored. */
export interface SubscriptionRecord {
  /** `sub_…` */
  id: string;
  /** `nats://<cluster>/<subject>`, `rabbitmq://<cluster>/<queue>`, `kafka://<cluster>/<topic>` */
  source: string;
  /** `service://<service>/<handler>` */
  sink: string;
  options: Record<string, string>;
  /** Epoch ms. */
  createdAt: number;
}

/** Durable storage of subscriptions. Every method resolves once its change is durable. */
export interface SubscriptionStore {
  /** Every subscription, oldest first. */
  listSubscriptions(): Promise<SubscriptionRecord[]>;
  /** Inserts a subscription; its id is new. */
  putSubscription(record: SubscriptionRecord): Promise<void>;
  /** Removes a subscription; false when there was none with this id. */
  removeSubscription(id: string): Promise<boolean>;
}
