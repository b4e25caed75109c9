import { readFileSync } from 'node:fs';
import { CommanderError } from 'commander';
import { ConfigError } from '../config/index.ts';
import { CliError } from './errors.ts';
import { createProgram } from './program.ts';

/** Exit code for a configuration error (a usage problem, not a crash). */
const EXIT_CONFIG = 2;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Runs the CLI with the given arguments (`process.argv` by default). */
export async function main(argv: string[] = process.argv): Promise<void> {
  const program = createProgram(packageVersion());
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      process.exit(err.exitCode);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`endure: invalid configuration\n${err.issues.map((i) => `  ${i}`).join('\n')}\n`);
      process.exit(EXIT_CONFIG);
    }
    // The store is loaded lazily (operator commands need no database), so match by code.
    if (err instanceof Error && (err as { code?: unknown }).code === 'ENDURE_DATABASE_UNUSABLE') {
      process.stderr.write(`endure: refusing to start: ${err.message}\n`);
      process.exit(1);
    }
    if (err instanceof CliError) {
      process.stderr.write(`endure: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`endure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  }
}

await main();
