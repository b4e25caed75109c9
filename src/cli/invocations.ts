import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { parseFriendlyDuration } from '../admin/index.ts';
import type { AdminClient } from './admin-client.ts';
import { CliError } from './errors.ts';
import { client, withAdminOptions } from './operator.ts';
import { printJson, printTable } from './output.ts';
import { asObjects, literal, runQuery } from './query.ts';

// `endure invocations …`: find invocations with SQL over sys_invocation, explain one, and act
// on many at once (one admin call per invocation, as Restate's CLI does).

interface ListOptions {
  service?: string;
  handler?: string;
  key?: string;
  status?: string;
  deployment?: string;
  olderThan?: string;
  all?: boolean;
  limit: string;
}

/** The WHERE clause of a filtered invocation listing. */
export function invocationFilter(o: Omit<ListOptions, 'limit'>, now = Date.now()): string {
  const where: string[] = [];
  if (o.service !== undefined) where.push(`target_service_name = ${literal(o.service)}`);
  if (o.handler !== undefined) where.push(`target_handler_name = ${literal(o.handler)}`);
  if (o.key !== undefined) where.push(`target_service_key = ${literal(o.key)}`);
  if (o.deployment !== undefined) where.push(`pinned_deployment_id = ${literal(o.deployment)}`);
  if (o.status !== undefined) {
    const statuses = o.status.split(',').map((s) => s.trim()).filter((s) => s !== '');
    where.push(`status IN (${statuses.map(literal).join(', ')})`);
  } else if (o.all !== true) {
    where.push(`status != 'completed'`);
  }
  if (o.olderThan !== undefined) {
    const ms = parseFriendlyDuration(o.olderThan);
    if (ms === undefined) throw new CliError(`invalid duration '${o.olderThan}': use e.g. 10m, 1h 30m, 2 days`);
    where.push(`created_at < ${literal(new Date(now - ms).toISOString())}`);
  }
  return where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
}

/** The SQL condition selecting the target of a bulk operation, as Restate's CLI reads it. */
export function targetCondition(target: string): string {
  if (target.startsWith('inv_')) return `id = ${literal(target)}`;
  const parts = target.split('/');
  if (parts.length === 1) return `target LIKE ${literal(`${target}/%`)}`;
  if (parts.length === 2) {
    return `((target = ${literal(target)} AND target_service_ty = 'service') OR (target LIKE ${literal(`${parts[0]}/%/${parts[1]}`)} AND target_service_ty != 'service') OR target LIKE ${literal(`${target}/%`)})`;
  }
  return `target = ${literal(target)}`;
}

const OPERATIONS = {
  cancel: { path: 'cancel', done: 'Cancelled', when: "status != 'completed'" },
  kill: { path: 'kill', done: 'Killed', when: "status != 'completed'" },
  pause: { path: 'pause', done: 'Paused', when: "status IN ('running', 'ready', 'backing-off', 'suspended')" },
  resume: { path: 'resume', done: 'Resumed', when: "status IN ('paused', 'suspended', 'backing-off', 'running', 'ready')" },
  restart: { path: 'restart-as-new', done: 'Restarted', when: "status = 'completed'" },
  purge: { path: 'purge', done: 'Purged', when: "status = 'completed'" },
} as const;
type Operation = keyof typeof OPERATIONS;

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) throw new CliError('not a terminal: pass --yes to confirm');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

function progress(done: number, total: number): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
  if (done === total) process.stderr.write('\n');
}

async function bulk(admin: AdminClient, op: Operation, target: string, o: { yes?: boolean; limit: string }, json: boolean): Promise<void> {
  const spec = OPERATIONS[op];
  const found = await runQuery(
    admin,
    `SELECT id, target, status FROM sys_invocation WHERE ${targetCondition(target)} AND ${spec.when} ORDER BY created_at LIMIT ${Number(o.limit)}`,
  );
  if (found.rows.length === 0) throw new CliError(`no invocation matches '${target}' that can be ${spec.done.toLowerCase()}`);
  if (!json) {
    printTable(['ID', 'TARGET', 'STATUS'], found.rows.slice(0, 20).map((r) => r.map(String)));
    if (found.rows.length > 20) process.stdout.write(`… and ${found.rows.length - 20} more\n`);
  }
  if (o.yes !== true && !(await confirm(`${op} ${found.rows.length} invocation(s)?`))) throw new CliError('aborted');
  const results: { id: string; ok: boolean; message?: string; new_invocation_id?: string }[] = [];
  for (const [i, row] of found.rows.entries()) {
    const id = String(row[0]);
    try {
      const res = (await admin.request('PATCH', `/invocations/${encodeURIComponent(id)}/${spec.path}`)) as
        | { new_invocation_id?: string }
        | undefined;
      results.push({ id, ok: true, ...(res?.new_invocation_id ? { new_invocation_id: res.new_invocation_id } : {}) });
    } catch (err) {
      results.push({ id, ok: false, message: err instanceof Error ? err.message : String(err) });
    }
    if (!json) progress(i + 1, found.rows.length);
  }
  if (json) return printJson(results);
  const failed = results.filter((r) => !r.ok);
  process.stdout.write(`${spec.done} ${results.length - failed.length} invocation(s)\n`);
  for (const r of results) if (r.new_invocation_id) process.stdout.write(`  ${r.id} -> ${r.new_invocation_id}\n`);
  for (const f of failed) process.stdout.write(`  failed: ${f.id}: ${f.message}\n`);
  if (failed.length > 0) throw new CliError(`${failed.length} invocation(s) failed`);
}

function describeEntry(e: Record<string, unknown>): string {
  const parts = [`#${String(e.index)}`, String(e.entry_type)];
  if (e.name) parts.push(`'${String(e.name)}'`);
  if (e.invoked_target) parts.push(String(e.invoked_target));
  if (e.invoked_id) parts.push(`-> ${String(e.invoked_id)}`);
  if (e.promise_name) parts.push(`promise '${String(e.promise_name)}'`);
  if (e.sleep_wakeup_at) parts.push(`until ${String(e.sleep_wakeup_at)}`);
  if (e.completed === true) parts.push('[done]');
  if (e.completed === false) parts.push('[waiting]');
  return parts.join(' ');
}

async function describe(admin: AdminClient, id: string, json: boolean): Promise<void> {
  const one = asObjects(await runQuery(admin, `SELECT * FROM sys_invocation WHERE id = ${literal(id)}`))[0];
  if (one === undefined) throw new CliError(`invocation ${id} not found`);
  const journal = asObjects(
    await runQuery(
      admin,
      `SELECT "index", entry_type, name, completed, invoked_id, invoked_target, sleep_wakeup_at, promise_name FROM sys_journal WHERE id = ${literal(id)} ORDER BY "index"`,
    ),
  );
  let lock: Record<string, unknown> | undefined;
  if (one.status === 'pending' && one.target_service_key !== null) {
    lock = asObjects(
      await runQuery(
        admin,
        `SELECT invocation_id FROM sys_keyed_service_status WHERE service_name = ${literal(String(one.target_service_name))} AND service_key = ${literal(String(one.target_service_key))}`,
      ),
    )[0];
  }
  if (json) return printJson({ invocation: one, journal, ...(lock ? { lock_held_by: lock.invocation_id } : {}) });

  const line = (label: string, value: unknown) => {
    if (value !== null && value !== undefined) process.stdout.write(`  ${label.padEnd(12)} ${String(value)}\n`);
  };
  process.stdout.write(`Invocation ${id}\n`);
  line('Target:', one.target);
  line('Status:', one.completion_result ? `${String(one.status)} (${String(one.completion_result)})` : one.status);
  line('Created:', one.created_at);
  line('Modified:', one.modified_at);
  line('Deployment:', one.pinned_deployment_id);
  line('Idempotency:', one.idempotency_key);
  line('Invoked by:', one.invoked_by_id);
  line('Failure:', one.completion_failure ?? one.last_failure);
  if (typeof one.retry_count === 'number' && one.retry_count > 0) line('Retries:', one.retry_count);
  line('Next retry:', one.next_retry_at);
  process.stdout.write('Journal:\n');
  for (const e of journal) process.stdout.write(`  ${describeEntry(e)}\n`);
  const waiting = journal.filter((e) => e.completed === false);
  if (one.last_failure !== null && one.last_failure !== undefined && one.status !== 'completed') {
    const next = one.next_retry_at ? `; next attempt at ${String(one.next_retry_at)}` : '';
    process.stdout.write(`Why it waits: attempt ${String(one.retry_count)} failed: ${String(one.last_failure)}${next}\n`);
  } else if (one.status === 'pending') {
    process.stdout.write(`Why it waits: queued behind ${lock ? String(lock.invocation_id) : 'another invocation'}, which holds the key\n`);
  } else if (waiting.length > 0 && one.status !== 'completed') {
    process.stdout.write(`Why it waits: ${waiting.map(describeEntry).join('; ')}\n`);
  }
}

/** Adds the `invocations` command group. */
export function addInvocationCommands(program: Command): void {
  const invocations = program.command('invocations').alias('inv').description('inspect and steer invocations');

  withAdminOptions(
    invocations
      .command('list')
      .alias('ls')
      .description('list invocations (not completed ones, unless --all or --status)')
      .option('--service <name>', 'only this service')
      .option('--handler <name>', 'only this handler')
      .option('--key <key>', 'only this virtual object key or workflow id')
      .option('--status <list>', 'only these statuses, comma separated (pending, running, suspended, paused, completed, …)')
      .option('--deployment <id>', 'only invocations pinned to this deployment')
      .option('--older-than <duration>', 'only invocations created longer ago than this (e.g. 10m, 2h)')
      .option('--all', 'include completed invocations')
      .option('--limit <n>', 'at most this many', '100'),
  ).action(async (o: ListOptions, cmd: Command) => {
    const { admin, opts } = client(cmd);
    const result = await runQuery(
      admin,
      `SELECT id, target, status, created_at, modified_at, pinned_deployment_id, completion_result FROM sys_invocation ${invocationFilter(o)} ORDER BY created_at DESC LIMIT ${Number(o.limit)}`,
    );
    if (opts.json) return printJson(asObjects(result));
    printTable(
      ['ID', 'TARGET', 'STATUS', 'CREATED', 'DEPLOYMENT'],
      result.rows.map((r) => [String(r[0]), String(r[1]), r[6] ? `${String(r[2])} (${String(r[6])})` : String(r[2]), String(r[3]), String(r[5] ?? '')]),
    );
  });

  withAdminOptions(
    invocations.command('describe <id>').description('show an invocation, its journal, and what it waits on'),
  ).action(async (id: string, _o: unknown, cmd: Command) => {
    const { admin, opts } = client(cmd);
    await describe(admin, id, opts.json === true);
  });

  for (const op of Object.keys(OPERATIONS) as Operation[]) {
    withAdminOptions(
      invocations
        .command(`${op} <target>`)
        .description(`${op} invocations: an id, or Service, Service/handler, Service/key/handler`)
        .option('-y, --yes', 'do not ask for confirmation')
        .option('--limit <n>', 'at most this many', '500'),
    ).action(async (target: string, o: { yes?: boolean; limit: string }, cmd: Command) => {
      const { admin, opts } = client(cmd);
      await bulk(admin, op, target, o, opts.json === true);
    });
  }
}

/** Adds the `state` command group. */
export function addStateCommands(program: Command): void {
  const state = program.command('state').description("inspect a virtual object's or workflow's state");
  withAdminOptions(state.command('get <service> <key>').description('show the state of one key')).action(
    async (service: string, key: string, _o: unknown, cmd: Command) => {
      const { admin, opts } = client(cmd);
      const result = await runQuery(
        admin,
        `SELECT key, value_utf8, value FROM state WHERE service_name = ${literal(service)} AND service_key = ${literal(key)} ORDER BY key`,
      );
      if (opts.json) return printJson(Object.fromEntries(result.rows.map((r) => [String(r[0]), r[1] ?? r[2]])));
      printTable(['KEY', 'VALUE'], result.rows.map((r) => [String(r[0]), String(r[1] ?? `0x${String(r[2])}`)]));
    },
  );
}
