import type { Logger } from '../common/logger.ts';
import { ConfigError, type Config } from '../config/index.ts';
import { RequestIdentity, RequestIdentityError } from '../protocol/index.ts';

/**
 * Loads the key that signs requests to services, when one is configured, and prints its public
 * key (`publickeyv1_…`, the form services are configured with) as Restate does. A key that
 * cannot be used stops the start-up as a configuration error: a server that was meant to sign
 * must never fall back to unsigned requests.
 */
export function loadRequestIdentity(config: Config, logger: Logger): RequestIdentity | undefined {
  const path = config.requestIdentityPrivateKeyPemFile;
  if (path === undefined) return undefined;
  let identity: RequestIdentity;
  try {
    identity = RequestIdentity.fromPemFile(path);
  } catch (err) {
    if (err instanceof RequestIdentityError) throw new ConfigError([`request identity: ${err.message}`]);
    throw err;
  }
  logger.info(
    { publicKey: identity.publicKey, path },
    `loaded the request identity key; services accept this server with withIdentityV1("${identity.publicKey}")`,
  );
  return identity;
}
