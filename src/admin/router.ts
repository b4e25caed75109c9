import { AdminError, AdminErrorCode, errorBody } from './errors.ts';
import { json } from './http.ts';
import type { AdminRequest, AdminResponse } from './http.ts';

/** What a route handler gets besides the request. */
export interface RouteContext {
  /** Decoded path parameters, by name. */
  params: Record<string, string>;
  /** Admin API version from the `/vN` prefix; 0 when the request had none (Restate's Unknown). */
  apiVersion: number;
}

/** One admin route, e.g. `{ method: 'POST', path: '/invocations/:id/cancel', handle }`. */
export interface AdminRoute {
  method: string;
  /** Path pattern; `:name` segments capture one decoded path segment. */
  path: string;
  handle(req: AdminRequest, ctx: RouteContext): Promise<AdminResponse> | AdminResponse;
}

interface Compiled {
  route: AdminRoute;
  segments: string[];
}

function split(path: string): string[] {
  const parts = path.split('/').filter((s, i, all) => s !== '' || (i > 0 && i < all.length - 1));
  return parts;
}

/** Matches requests to routes: 404 for unknown paths, 405 (with `allow`) for wrong methods. */
export class Router {
  private readonly routes: Compiled[] = [];

  constructor(routes: readonly AdminRoute[] = []) {
    for (const r of routes) this.add(r);
  }

  /** Adds a route; earlier routes win when two match. */
  add(route: AdminRoute): void {
    this.routes.push({ route, segments: split(route.path) });
  }

  /** Finds the route for a request; undefined when no route has this path. */
  match(method: string, path: string): { route: AdminRoute; params: Record<string, string> } | AdminResponse | undefined {
    const segments = split(path);
    const allowed: string[] = [];
    for (const c of this.routes) {
      const params = matchSegments(c.segments, segments);
      if (params === undefined) continue;
      if (c.route.method === method || (method === 'HEAD' && c.route.method === 'GET')) return { route: c.route, params };
      allowed.push(c.route.method);
    }
    if (allowed.length === 0) return undefined;
    const err = new AdminError(AdminErrorCode.MethodNotAllowed, 405, `Method ${method} not allowed on ${path}`);
    return json(405, errorBody(405, err.message), { allow: [...new Set(allowed)].join(', ') });
  }
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] as string;
    const a = actual[i] as string;
    if (p.startsWith(':')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(a);
      } catch {
        return undefined;
      }
      if (decoded === '') return undefined;
      params[p.slice(1)] = decoded;
    } else if (p !== a) {
      return undefined;
    }
  }
  return params;
}
