import type { Command } from 'commander';
import { AdminClient } from './admin-client.ts';
import { CliError } from './errors.ts';
import { printJson, printTable } from './output.ts';

// `endure deployments …` and `endure services …`: thin wrappers over the admin API.

const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9070';

interface GlobalOpts {
  adminUrl: string;
  adminToken?: string;
  json?: boolean;
}

interface DeploymentView {
  id: string;
  uri?: string;
  protocol_type?: string;
  http_version?: string;
  created_at?: string;
  services: { name: string; revision: number }[];
}

interface ServiceView {
  name: string;
  ty: string;
  revision: number;
  deployment_id: string;
  public: boolean;
  handlers: { name: string; ty?: string }[];
}

/** Adds the options every admin API command takes: URL, token, raw JSON output. */
export function withAdminOptions(cmd: Command): Command {
  return cmd
    .option('--admin-url <url>', 'admin API base URL', process.env.ENDURE_ADMIN_URL ?? DEFAULT_ADMIN_URL)
    .option('--admin-token <token>', 'bearer token for an admin API with auth (env ENDURE_ADMIN_TOKEN)')
    .option('--json', 'print the raw JSON response');
}

/** The admin client and global options of a command. */
export function client(cmd: Command): { admin: AdminClient; opts: GlobalOpts } {
  const opts = cmd.optsWithGlobals<GlobalOpts>();
  // The variable is read here, not as a commander default, so `--help` never prints a secret.
  const token = opts.adminToken ?? (process.env.ENDURE_ADMIN_TOKEN || undefined);
  return { admin: new AdminClient(opts.adminUrl, token), opts };
}

/** Adds the `deployments` command group. */
export function addDeploymentCommands(program: Command): void {
  const deployments = program.command('deployments').alias('dp').description('manage service deployments');

  withAdminOptions(
    deployments
      .command('register <uri>')
      .description('discover the endpoint at <uri> and register its services')
      .option('--use-http11', 'discover and invoke over HTTP/1.1 (request/response mode)')
      .option('--force', 'overwrite a deployment registered under the same URI')
      .option('--breaking', 'allow incompatible service changes (e.g. a new service type)')
      .option('--dry-run', 'discover and validate without registering'),
  ).action(async (uri: string, o: { useHttp11?: boolean; force?: boolean; breaking?: boolean; dryRun?: boolean }, cmd: Command) => {
    const { admin, opts } = client(cmd);
    const res = (await admin.request('POST', '/deployments', {
      uri,
      use_http_11: o.useHttp11 === true,
      force: o.force === true,
      breaking: o.breaking === true,
      dry_run: o.dryRun === true,
    })) as { id: string; services: ServiceView[] };
    if (opts.json) return printJson(res);
    process.stdout.write(`${o.dryRun ? 'Dry run: would register' : 'Registered'} deployment ${res.id}\n`);
    printTable(
      ['SERVICE', 'TYPE', 'REV', 'HANDLERS'],
      res.services.map((s) => [s.name, s.ty, String(s.revision), s.handlers.map((h) => h.name).join(', ')]),
    );
  });

  withAdminOptions(deployments.command('list').alias('ls').description('list deployments')).action(
    async (_o: unknown, cmd: Command) => {
      const { admin, opts } = client(cmd);
      const res = (await admin.request('GET', '/deployments')) as { deployments: DeploymentView[] };
      if (opts.json) return printJson(res);
      printTable(
        ['ID', 'URI', 'PROTOCOL', 'CREATED', 'SERVICES'],
        res.deployments.map((d) => [
          d.id,
          d.uri ?? '',
          d.protocol_type ?? '',
          d.created_at ?? '',
          d.services.map((s) => `${s.name}@${s.revision}`).join(', '),
        ]),
      );
    },
  );

  withAdminOptions(
    deployments
      .command('describe <id>')
      .description('show a deployment and its services'),
  ).action(async (id: string, _o: unknown, cmd: Command) => {
    const { admin } = client(cmd);
    printJson(await admin.request('GET', `/deployments/${encodeURIComponent(id)}`));
  });

  withAdminOptions(
    deployments
      .command('remove <id>')
      .alias('rm')
      .description('remove a deployment (requires --force: in-flight invocations may break)')
      .option('--force', 'confirm the removal'),
  ).action(async (id: string, o: { force?: boolean }, cmd: Command) => {
    const { admin } = client(cmd);
    if (o.force !== true) {
      throw new CliError('removing a deployment can break in-flight invocations; pass --force to confirm');
    }
    await admin.request('DELETE', `/deployments/${encodeURIComponent(id)}?force=true`);
    process.stdout.write(`Removed deployment ${id}\n`);
  });
}

/** Adds the `services` command group. */
export function addServiceCommands(program: Command): void {
  const services = program.command('services').alias('svc').description('inspect registered services');

  withAdminOptions(services.command('list').alias('ls').description('list services')).action(
    async (_o: unknown, cmd: Command) => {
      const { admin, opts } = client(cmd);
      const res = (await admin.request('GET', '/services')) as { services: ServiceView[] };
      if (opts.json) return printJson(res);
      printTable(
        ['NAME', 'TYPE', 'REV', 'PUBLIC', 'DEPLOYMENT', 'HANDLERS'],
        res.services.map((s) => [
          s.name,
          s.ty,
          String(s.revision),
          s.public ? 'yes' : 'no',
          s.deployment_id,
          String(s.handlers.length),
        ]),
      );
    },
  );

  withAdminOptions(services.command('describe <name>').description('show a service and its handlers')).action(
    async (name: string, _o: unknown, cmd: Command) => {
      const { admin } = client(cmd);
      printJson(await admin.request('GET', `/services/${encodeURIComponent(name)}`));
    },
  );
}

interface SubscriptionView {
  id: string;
  source: string;
  sink: string;
  options: Record<string, string>;
  created_at?: string;
  consumer?: { state: string; delivered: number; acknowledged?: string; lag?: number; lastError?: string };
  error?: string;
}

/** Adds the `subscriptions` command group. */
export function addSubscriptionCommands(program: Command): void {
  const subscriptions = program.command('subscriptions').alias('sub').description('manage subscriptions: broker streams that feed handlers');

  withAdminOptions(
    subscriptions
      .command('create <source> <sink>')
      .description('subscribe <sink> (service://Svc/handler) to <source> (nats://cluster/subject, rabbitmq://cluster/queue, kafka://cluster/topic)')
      .option('-o, --option <name=value...>', 'a subscription option (repeatable), e.g. key_header=customer'),
  ).action(async (source: string, sink: string, o: { option?: string[] }, cmd: Command) => {
    const { admin, opts } = client(cmd);
    const options: Record<string, string> = {};
    for (const pair of o.option ?? []) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new CliError(`bad option '${pair}': expected name=value`);
      options[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const res = (await admin.request('POST', '/subscriptions', { source, sink, options })) as SubscriptionView;
    if (opts.json) return printJson(res);
    process.stdout.write(`Created subscription ${res.id}: ${res.source} -> ${res.sink}\n`);
  });

  withAdminOptions(subscriptions.command('list').alias('ls').description('list subscriptions with their consumer position and lag')).action(
    async (_o: unknown, cmd: Command) => {
      const { admin, opts } = client(cmd);
      const res = (await admin.request('GET', '/subscriptions')) as { subscriptions: SubscriptionView[] };
      if (opts.json) return printJson(res);
      printTable(
        ['ID', 'SOURCE', 'SINK', 'STATE', 'DELIVERED', 'ACKED', 'LAG'],
        res.subscriptions.map((s) => [
          s.id,
          s.source,
          s.sink,
          s.error !== undefined ? 'error' : (s.consumer?.state ?? ''),
          s.consumer ? String(s.consumer.delivered) : '',
          s.consumer?.acknowledged ?? '',
          s.consumer?.lag !== undefined ? String(s.consumer.lag) : '',
        ]),
      );
    },
  );

  withAdminOptions(subscriptions.command('describe <id>').alias('get').description('show a subscription and its consumer')).action(
    async (id: string, _o: unknown, cmd: Command) => {
      const { admin } = client(cmd);
      printJson(await admin.request('GET', `/subscriptions/${encodeURIComponent(id)}`));
    },
  );

  withAdminOptions(subscriptions.command('delete <id>').alias('rm').description('delete a subscription; its consumer stops')).action(
    async (id: string, _o: unknown, cmd: Command) => {
      const { admin } = client(cmd);
      await admin.request('DELETE', `/subscriptions/${encodeURIComponent(id)}`);
      process.stdout.write(`Deleted subscription ${id}\n`);
    },
  );
}
