import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../../common/logger.js';
import { errorBody } from '../error-handler.js';
import { KeyRing } from './key-ring.js';
import { looksLikeToken, verifyToken } from './tokens.js';

export interface AuthOptions {
  /** Accepted keys (primary, secondary, …). */
  keys?: string[];
  /** A file of keys, watched and re-read on change (see key-file.ts for its format). */
  keyFile?: string;
  /** Secret that signs expiring tokens (see tokens.ts); tokens are accepted when set. */
  tokenSecret?: string;
  /** Require a key on health routes too (default: they stay open for probes). */
  protectHealth?: boolean;
}

/** What a route says about authentication, in its `config.auth`. */
export type RouteAccess = 'open' | 'health' | 'protected';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAccess;
  }
}

export function authEnabled(options: AuthOptions | undefined): options is AuthOptions {
  return Boolean(options && ((options.keys?.length ?? 0) > 0 || options.keyFile || options.tokenSecret));
}

/**
 * Bearer authentication as Azure ML endpoints do it (`Authorization: Bearer <key or token>`).
 * Routes are protected unless their config says `open` (docs) or `health` (probes, open unless
 * protectHealth). Preflight requests carry no credentials and pass; unknown routes answer 404.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions, logger: Logger): KeyRing {
  const ring = new KeyRing(options.keys ?? [], options.keyFile, logger);
  const secret = options.tokenSecret;
  const protectHealth = options.protectHealth === true;
  app.addHook('onClose', async () => ring.close());
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.method === 'OPTIONS' || request.is404) return;
    const access = request.routeOptions.config.auth ?? 'protected';
    if (access === 'open' || (access === 'health' && !protectHealth)) return;
    const presented = bearer(request.headers.authorization);
    if (presented === undefined)
      return deny(reply, request, 'AUTH_REQUIRED', 'this route needs an Authorization: Bearer <key> header');
    if (secret && looksLikeToken(presented)) {
      const check = verifyToken(presented, secret, Date.now());
      if (check.ok) return;
      return deny(reply, request, 'TOKEN_INVALID', `the token is not accepted (${check.reason})`);
    }
    if (ring.matches(presented)) return;
    return deny(reply, request, 'KEY_INVALID', 'the key is not accepted');
  });
  return ring;
}

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1]?.trim() || undefined;
}

function deny(reply: FastifyReply, request: FastifyRequest, code: string, message: string): FastifyReply {
  return reply
    .code(401)
    .header('www-authenticate', 'Bearer')
    .send(errorBody(code, message, request.id));
}
