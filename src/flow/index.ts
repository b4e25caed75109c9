/**
 * Flow control: concurrency limits, rate limits, priority and debounce of invocations, per
 * service, per handler and per limit key, exact across partitions and durable.
 *
 * This module owns what a rule *is* (its spec, its validation), the pure arithmetic of a
 * limiter (token bucket, queue order) and the names of things (scopes, timer keys, headers). It
 * never writes the store and never reads the clock: the partition state machine
 * (worker/flow.ts) changes rules and limiters, and every time it needs arrives inside a
 * command.
 *
 * ## Rules
 * A rule is configured for a service (id `Service`) or one handler (id `Service/handler`); for
 * a handler the most specific rule applies, never both. It may combine:
 *  - `concurrency`: at most N invocations run at once (granted and not yet completed; a
 *    suspended invocation keeps its permit); the others wait;
 *  - `rate`: at most `count` starts per `interval`, in a token bucket holding up to `burst`
 *    tokens (default `count`), refilled continuously;
 *  - `debounce`: of the invocations of one limit key arriving within the window of each
 *    other, only the last runs; the earlier ones complete with 409 "debounced"; the last
 *    one waits until the window after it has passed with no newer arrival.
 * Waiting invocations start by priority (header `x-endure-priority`, an integer, default 0,
 * higher first), then in arrival order.
 *
 * Every rule has one limiter per *limit key*: the header `x-endure-limit-key` of the request
 * (or of the call or send, for invocations made by handlers). Invocations without it share the
 * limiter of the empty key. So `concurrency: 1` with a customer id as limit key runs one
 * invocation per customer at a time.
 *
 * ## Where the counters live (exact across partitions)
 * A rule and all its limiters live in one partition: the one owning hash(`flow/<rule id>`).
 * That partition is the only writer of the counters, and it changes them only by applying
 * `flow` commands from its log (rule 1), so no two partitions ever count the same permit.
 *
 * ## The life of a limited invocation
 *  1. Whoever resolves a target (ingress, invoker for calls and sends, schedules) finds the
 *     rule in the node's rule cache and puts its id on the resolved target. Apply never
 *     reads the cache: the fact arrives inside the command (rule 2).
 *  2. The invocation's partition P creates the invocation as usual, takes the limit key and
 *     priority from the input headers, and instead of starting it parks it in phase
 *     `scheduled` (a row, nothing else: no attempt, no connection, no key lock) and sends
 *     `flow acquire` through its outbox to the rule's partition L.
 *  3. L applies `acquire`: it refills the bucket to the command's time, queues the waiter, and
 *     grants permits in order while the concurrency and the tokens allow, sending `flow grant`
 *     through its outbox to each waiter's partition. When the head of the queue waits only
 *     for a token (or a debounce window), L puts a durable timer `flow:<rule>|<key>` at the
 *     time it will be ready; its firing (`timer-fired`, with the time) pumps the queue again.
 *  4. P applies `grant`: an invocation still parked starts (it takes its key's lock or queues
 *     in the key's inbox like any other). A grant for an invocation that ended meanwhile
 *     changes nothing: its end already sent the release.
 *  5. When the invocation completes (end, failure, kill, cancel — in any phase), P sends
 *     `flow release` to L. L removes it from wherever it is: from the running set (which frees
 *     a permit and grants the next waiter), from the queue or the debounce slot (which frees
 *     nothing: it held nothing). A release for an invocation L does not know changes nothing.
 *     So kill and cancel of a waiting invocation work, and release nothing they do not hold.
 *
 * Every message between P and L goes through the outbox, deduplicated at the receiver
 * (rule 5), and each side changes its state in the commit that sends the message: a crash at
 * any point re-delivers instead of losing or doubling a permit. Limits survive restarts
 * because rules and limiters are store rows changed only through the log.
 *
 * ## Configuration
 * `PUT /flow-rules/{id}` (id `Service` or `Service/handler`), `GET /flow-rules`,
 * `GET /flow-rules/{id}` (with its live limiters), `DELETE /flow-rules/{id}`; the CLI's
 * `endure flow-rules set|list|get|delete`. A change is a `flow` command on the rule's
 * partition. Deleting a rule grants every waiting invocation at once.
 *
 * ## Restate 1.7
 * Restate 1.7 has experimental concurrency rules (behind a flag) with a scope and a limit key,
 * managed with `restate rules set`; rate limits and priorities are planned there. Endure keeps
 * the two ideas (a rule's scope is a service or a handler; a limit key splits it), but
 * configures rules through its own `/flow-rules` API and takes the limit key from a header
 * rather than from service protocol V7 messages.
 *
 * ## Limits of this design
 *  - One rule's limiters share one partition: a single rule's throughput is that of one
 *    partition's log.
 *  - The rule cache is the node's: a rule applies to invocations whose target is resolved
 *    after the node learnt of it. Invocations created before a rule existed are not limited.
 *  - A rule changed while invocations wait keeps them; the new numbers apply from the next
 *    pump on.
 */
export * from './model.ts';
export { FlowRuleError, parseFlowRule, flowRuleId } from './spec.ts';
export { refill, nextTokenAt, insertWaiter, flowPartitionKey, flowTimerKey, parseFlowTimerKey, limitOf, limitKeyAndPriority, parsePriority, flowHeaderProblem } from './limiter.ts';
export { flowRuleView, flowLimiterView } from './view.ts';
