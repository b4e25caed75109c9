#!/usr/bin/env node
// The `endure` command. Installed as a package, it runs the compiled JavaScript in dist/ with
// plain Node: no TypeScript loader at run time. In a clone (src/ beside this file) it runs the
// sources through tsx instead, so that what runs is always what was just edited, never a stale
// dist/ from the last build.
import { existsSync } from 'node:fs';

const sources = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(sources)) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(sources.href);
} else {
  await import('../dist/cli/main.js');
}
