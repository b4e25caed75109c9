// Start-up times: `endure server` until /health answers, startEndure() until it resolves, and
// EndureTestEnvironment.start() (in the same process, after a first start).
// Runs the compiled package (dist/, built first if missing) as an installed package would, and
// the clone's tsx entry for comparison; a fresh data directory each run. Prints medians (ms).
//   node bench/startup.mjs [--runs N]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 5;

if (!existsSync(path.join(root, 'dist', 'index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Spawns `endure server` and polls /health every 2 ms; ms from spawn to the first 200. */
async function serverToHealthy(args) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'endure-startup-'));
  const [ingress, admin] = [await freePort(), await freePort()];
  const t0 = performance.now();
  const child = spawn(process.execPath, [...args, 'server', '--data-dir', dir, '--ingress-bind', `127.0.0.1:${ingress}`,
    '--admin-bind', `127.0.0.1:${admin}`, '--log-level', 'warn'], { cwd: root, stdio: 'ignore' });
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${admin}/health`).then((r) => r.ok, () => false);
      if (ok) return performance.now() - t0;
      if (performance.now() - t0 > 30_000) throw new Error('not healthy after 30 s');
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** In a fresh process: importing the package, then startEndure() with one service until it resolves. */
function embedded() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'endure-startup-'));
  const script = path.join(dir, 'embed.mjs');
  writeFileSync(script, `
    const t0 = performance.now();
    const restate = await import(${JSON.stringify(path.join(root, 'node_modules/@restatedev/restate-sdk/dist/index.js'))});
    const { startEndure, EndureTestEnvironment } = await import(${JSON.stringify(path.join(root, 'dist/index.js'))});
    const t1 = performance.now();
    const greeter = restate.service({ name: 'Greeter', handlers: { greet: async (_ctx, n) => 'Hello ' + n } });
    const endure = await startEndure({ dataDir: ${JSON.stringify(path.join(dir, 'data'))}, services: [greeter] });
    const t2 = performance.now();
    const res = await fetch(endure.ingressUrl + '/Greeter/greet', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"x"' });
    const t3 = performance.now();
    if (!res.ok) throw new Error('call failed: ' + res.status);
    await endure.stop();
    const t4 = performance.now();
    const env = await EndureTestEnvironment.start({ services: [greeter] });
    const t5 = performance.now();
    await env.stop();
    console.log(JSON.stringify({ importMs: t1 - t0, startMs: t2 - t1, firstCallMs: t3 - t2, testEnvMs: t5 - t4 }));
  `);
  try {
    return JSON.parse(execFileSync(process.execPath, [script], { cwd: root }).toString().trim().split('\n').pop());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = { runs: RUNS, node: process.version };
const dist = [];
const tsx = [];
const emb = [];
for (let i = 0; i < RUNS; i++) {
  dist.push(await serverToHealthy(['dist/cli/main.js']));
  tsx.push(await serverToHealthy(['bin/endure.js']));
  emb.push(embedded());
}
results.serverToHealthyMs = { package: median(dist), cloneTsx: median(tsx) };
results.startEndure = {
  importMs: median(emb.map((e) => e.importMs)),
  startToReadyMs: median(emb.map((e) => e.startMs)),
  firstCallMs: median(emb.map((e) => e.firstCallMs)),
  testEnvironmentStartMs: median(emb.map((e) => e.testEnvMs)),
};
console.log(JSON.stringify(results, null, 2));
