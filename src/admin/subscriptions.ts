import { AdminError, AdminErrorCode, notFound } from './errors.ts';
import { json } from './http.ts';
import type { AdminRoute } from './router.ts';

/**
 * The `/subscriptions` routes. Endure has no event sources (Restate's Kafka subscriptions), so
 * there is never a subscription: the list is empty, and creating one is refused with 501
 * rather than accepted and never served.
 */
export function subscriptionRoutes(): AdminRoute[] {
  const unsupported = () => {
    throw new AdminError(AdminErrorCode.NotImplemented, 501, 'Subscriptions (Kafka event sources) are not supported by Endure');
  };
  const unknown = (id: string) => notFound(`The requested subscription '${id}' does not exist`);
  return [
    { method: 'GET', path: '/subscriptions', handle: () => json(200, { subscriptions: [] }) },
    { method: 'POST', path: '/subscriptions', handle: unsupported },
    {
      method: 'GET',
      path: '/subscriptions/:id',
      handle: (_req, { params }) => {
        throw unknown(params.id as string);
      },
    },
    {
      method: 'DELETE',
      path: '/subscriptions/:id',
      handle: (_req, { params }) => {
        throw unknown(params.id as string);
      },
    },
  ];
}
