import { messageOf } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';

/** Named log events of the local hub (style 12); logic never builds log strings. */
export function hubEvents(log: Logger) {
  return {
    listening: (host: string, port: number, caPath: string) =>
      log.info(
        { event: 'hub-listening', host, port, caPath },
        `edge hub listening on ${host}:${port} (MQTT over TLS)`,
      ),
    portTaken: (port: number, err: unknown) =>
      log.warn(
        { event: 'hub-port-taken', port, err: messageOf(err) },
        `edge hub cannot listen on port ${port} (${messageOf(err)}); trying the next candidate`,
      ),
    certificatesMade: (dir: string) =>
      log.info({ event: 'hub-certificates-made', dir }, `made new hub certificates in ${dir}`),
    moduleConnected: (moduleId: string, cleanSession: boolean) =>
      log.info({ event: 'module-connected', moduleId, cleanSession }, `module ${moduleId} connected`),
    moduleRefused: (clientId: string, returnCode: number, reason: string) =>
      log.warn(
        { event: 'module-refused', clientId, returnCode, reason },
        `refused connection of '${clientId}' (CONNACK ${returnCode}): ${reason}`,
      ),
    moduleDisconnected: (moduleId: string) =>
      log.info({ event: 'module-disconnected', moduleId }, `module ${moduleId} disconnected`),
    publishRefused: (moduleId: string, topic: string, code: string, reason: string) =>
      log.warn(
        { event: 'publish-refused', moduleId, topic, code, reason },
        `closed the connection of ${moduleId}: its message was refused (${reason})`,
      ),
    messageUnrouted: (moduleId: string, outputName: string | undefined, routes: number) =>
      log.warn(
        { event: 'message-unrouted', moduleId, outputName, routes },
        `no route takes a message of ${moduleId}${outputName ? ` (output ${outputName})` : ''}: acknowledged and dropped, as edgeHub does (${routes} route(s); check the $edgeHub routes); further ones are counted once a minute`,
      ),
    messagesUnrouted: (count: number, modules: string[], intervalMs: number, routes: number) =>
      log.warn(
        { event: 'messages-unrouted', count, modules, intervalMs, routes },
        `${count} more module message(s) matched no route in the last ${Math.round(intervalMs / 1000)} s and were dropped (from ${modules.join(', ')}; ${routes} route(s))`,
      ),
    routesNeedEdgeHubIdentity: () =>
      log.warn(
        { event: 'edgehub-routes-missing' },
        'hub mode without --edgehub-connection-string: routes come only from the $edgeHub twin, so no module message is routed (each is dropped as unrouted); give the $edgeHub module connection string',
      ),
    modulesForgotten: (moduleIds: string[]) =>
      log.info(
        { event: 'modules-forgotten', moduleIds },
        `forgot the hub identities of removed module(s) ${moduleIds.join(', ')}: their keys no longer connect`,
      ),
    certificateRenewed: (notAfter: string) =>
      log.info(
        { event: 'hub-certificate-renewed', notAfter },
        `renewed the hub's server certificate (valid until ${notAfter}); new connections use it`,
      ),
    certificateRenewFailed: (err: unknown) =>
      log.error(
        { event: 'hub-certificate-renew-failed', err: messageOf(err) },
        `could not renew the hub's server certificate: ${messageOf(err)} (retrying tomorrow)`,
      ),
    routesApplied: (names: readonly string[]) =>
      log.info({ event: 'routes-applied', routes: names }, `applied ${names.length} route(s)`),
    routesRejected: (err: unknown) =>
      log.error(
        { event: 'routes-rejected', err: messageOf(err) },
        `kept the previous routes; the new ones do not parse: ${messageOf(err)}`,
      ),
    desiredPushed: (moduleId: string, version: number) =>
      log.debug(
        { event: 'twin-desired-pushed', moduleId, version },
        `pushed desired properties v${version} to ${moduleId}`,
      ),
    reportSent: (target: string, keys: string[], bytes: number) =>
      log.debug(
        { event: 'edgehub-report-sent', target, keys, bytes },
        `$edgeHub reported properties written to ${target} (${bytes} bytes)`,
      ),
    reportFailed: (target: string, err: unknown) =>
      log.warn(
        { event: 'edgehub-report-failed', target, err: messageOf(err) },
        `$edgeHub reported properties not written to ${target}: ${messageOf(err)}`,
      ),
    snapshotFailed: (path: string, err: unknown) =>
      log.warn(
        { event: 'metrics-snapshot-failed', path, err: messageOf(err) },
        `metrics snapshot not written to ${path}: ${messageOf(err)}`,
      ),
    clientError: (clientId: string, err: unknown) =>
      log.debug(
        { event: 'client-error', clientId, err: messageOf(err) },
        `connection of ${clientId}: ${messageOf(err)}`,
      ),
  };
}

export type HubEvents = ReturnType<typeof hubEvents>;
