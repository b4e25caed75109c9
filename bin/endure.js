#!/usr/bin/env node
// Runs the TypeScript CLI in this process: tsx is registered as a loader, no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
