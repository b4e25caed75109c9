// Child process of the SQLite durability test: commits a transaction and a metadata change to the
// database file given as argument, reports it on stdout, then dies by SIGKILL without closing.
import { openSqlite, SqlitePartitionStore } from '../../src/store/index.ts';
import { SqliteMetadataStore } from '../../src/store/sqlite/metadata.ts';
import { writeDurabilityFixture } from './sqlite-durability.ts';

const path = process.argv[2];
if (!path) throw new Error('usage: sqlite-writer.ts <database file>');
const db = openSqlite(path);
await writeDurabilityFixture(new SqlitePartitionStore(db), new SqliteMetadataStore(db));
process.stdout.write('committed\n', () => process.kill(process.pid, 'SIGKILL'));
