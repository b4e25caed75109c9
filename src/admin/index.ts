/**
 * The admin API (Restate's REST shapes): register, list, describe and remove deployments; list
 * and describe services, handlers and their OpenAPI documents; SQL introspection (`/query`, run
 * by the store's query engine, read-only); health, version and Prometheus metrics. The core is a function of a request
 * (`createAdminHandler`), wrapped by a thin node:http adapter (`startAdminServer`). Other modules
 * add routes through `extraRoutes`. It changes schemas only through the SchemaRegistry and never
 * touches partition state directly.
 */
export { createAdminHandler, MAX_ADMIN_API_VERSION, MIN_ADMIN_API_VERSION } from './handler.ts';
export type { AdminDeps } from './handler.ts';
export type { RegistrationHooks } from './deployments.ts';
export { startAdminServer } from './server.ts';
export type { AdminServer, AdminServerOptions } from './server.ts';
export type { AdminHandler, AdminRequest, AdminResponse } from './http.ts';
export { empty, json } from './http.ts';
export { Router } from './router.ts';
export type { AdminRoute, RouteContext } from './router.ts';
export { AdminError, AdminErrorCode, errorResponse } from './errors.ts';
export { friendlyDuration, parseFriendlyDuration } from './duration.ts';
export type { ServiceDefaults } from './views.ts';
