// Child process of the PostgreSQL durability test: commits a transaction and a metadata change
// to the schema given as argument, reports it on stdout, then dies by SIGKILL without closing.
import { openStore } from '../../src/store/index.ts';
import { writeDurabilityFixture } from './sqlite-durability.ts';

const [url, schema] = process.argv.slice(2);
if (!url || !schema) throw new Error('usage: postgres-writer.ts <database url> <schema>');
const backend = await openStore({ kind: 'postgres', url, schema });
await writeDurabilityFixture(backend.partitions, backend.metadata);
process.stdout.write('committed\n', () => process.kill(process.pid, 'SIGKILL'));
