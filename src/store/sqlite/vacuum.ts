import type { SqliteDb } from './db.ts';

/** Free pages kept in the file whatever its size: below this, a pass is not worth a commit. */
const MIN_FREE_PAGES = 1024;
/** Share of the file that may stay free: the next writes reuse it without growing the file. */
const FREE_SHARE_KEPT = 1 / 8;
/** Pages released per pass at most (16 MiB at 4 KiB pages): a pass holds the connection briefly. */
const MAX_PAGES_PER_PASS = 4096;

/** What one reclaim pass saw and did. */
export interface ReclaimResult {
  readonly pageCount: number;
  readonly freePages: number;
  readonly released: number;
}

/**
 * Gives free pages back to the file system. Retention deletes completed invocations, their
 * journals and trimmed log records; SQLite puts the pages they held on its freelist, where
 * later writes reuse them, but the file never shrinks by itself. With auto_vacuum =
 * INCREMENTAL (migration 0010), `PRAGMA incremental_vacuum(n)` moves up to n free pages off the
 * end of the file and truncates it. A pass keeps a reserve (an eighth of the file, at least
 * MIN_FREE_PAGES) so that a steady load reuses pages instead of shrinking and regrowing the
 * file, and releases at most MAX_PAGES_PER_PASS so that it never holds the single connection
 * long; repeated passes bring a large freelist down step by step.
 */
export function reclaimFreePages(db: SqliteDb): ReclaimResult {
  const pageCount = db.pragma('page_count', { simple: true }) as number;
  const freePages = db.pragma('freelist_count', { simple: true }) as number;
  // A database opened by a build without migration 0010 has no incremental mode: nothing to do.
  if ((db.pragma('auto_vacuum', { simple: true }) as number) !== 2) return { pageCount, freePages, released: 0 };
  const keep = Math.max(MIN_FREE_PAGES, Math.floor(pageCount * FREE_SHARE_KEPT));
  const release = Math.min(freePages - keep, MAX_PAGES_PER_PASS);
  if (release <= 0) return { pageCount, freePages, released: 0 };
  db.pragma(`incremental_vacuum(${release})`);
  return { pageCount, freePages, released: release };
}
