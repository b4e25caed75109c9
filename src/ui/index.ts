/**
 * The web UI, served by the admin API under `/ui`: a page and one script bundle built from the
 * TypeScript sources in `app/` (Preact with htm templates) by esbuild, in memory, the first time
 * the page is asked for, so nothing is built ahead and no build output exists on disk. The UI is
 * a client of the admin API and `POST /query` only: this module serves files, it adds no data
 * routes and never reads the store.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AdminResponse, AdminRoute } from '../admin/index.ts';

const APP_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'app');
/** The app's sources in a clone; their compiled JavaScript in the installed package (dist/). */
const APP_ENTRY = existsSync(path.join(APP_DIR, 'main.ts')) ? path.join(APP_DIR, 'main.ts') : path.join(APP_DIR, 'main.js');

/** Paths under which the UI's files are served; they hold no data, so auth does not cover them. */
export const UI_PATH = '/ui';

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Endure</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${UI_PATH}/app.css">
</head>
<body>
<div id="app"></div>
<noscript>The Endure UI needs JavaScript.</noscript>
<script type="module" src="${UI_PATH}/app.js"></script>
</body>
</html>
`;

/** The built files, by name. */
interface Bundle {
  js: string;
  css: string;
}

async function buildBundle(): Promise<Bundle> {
  // Loaded only when the UI is first opened: a server nobody browses never loads esbuild.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [APP_ENTRY],
    bundle: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const js = result.outputFiles[0]?.text;
  if (js === undefined) throw new Error('esbuild produced no output');
  const css = await readFile(path.join(APP_DIR, 'style.css'), 'utf8');
  return { js, css };
}

const HEADERS = {
  'cache-control': 'no-cache',
  'x-content-type-options': 'nosniff',
  // The page loads its own script and style and talks to its own origin only.
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};

function file(body: string, contentType: string): AdminResponse {
  return { status: 200, headers: { 'content-type': contentType, ...HEADERS }, body };
}

/**
 * The routes serving the UI: `GET /ui` (the page), `/ui/app.js` and `/ui/app.css`. The bundle
 * is built once, on first use; a failed build answers 500 with esbuild's message and is tried
 * again on the next request.
 */
export function uiRoutes(): AdminRoute[] {
  let bundle: Promise<Bundle> | undefined;
  const get = (): Promise<Bundle> => {
    bundle ??= buildBundle().catch((err: unknown) => {
      bundle = undefined;
      throw err;
    });
    return bundle;
  };
  const asset = async (pick: (b: Bundle) => AdminResponse): Promise<AdminResponse> => {
    try {
      return pick(await get());
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { status: 500, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 500, message: `the UI could not be built: ${message}` }) };
    }
  };
  return [
    { method: 'GET', path: UI_PATH, handle: () => file(PAGE, 'text/html; charset=utf-8') },
    { method: 'GET', path: `${UI_PATH}/app.js`, handle: () => asset((b) => file(b.js, 'text/javascript; charset=utf-8')) },
    { method: 'GET', path: `${UI_PATH}/app.css`, handle: () => asset((b) => file(b.css, 'text/css; charset=utf-8')) },
  ];
}
