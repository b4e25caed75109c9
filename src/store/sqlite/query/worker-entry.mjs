// Entry of the introspection worker thread: the TypeScript sources run through tsx, as in the
// main thread (bin/endure.js), so the worker needs no build step either.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
