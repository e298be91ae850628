/**
 * How the service SDK (`azure-iothub`) reaches the emulator. What its source shows
 * (dist/common-http/http.js, registry.js, client.js):
 * - it passes the connection string's HostName as `host` to `https.request`, so with
 *   `HostName=localhost:PORT` node would look up a host literally named "localhost:PORT" and
 *   fail — a port can only come from an https agent;
 * - `Registry` and `Client` install their own `new https.Agent({ keepAlive: true })` in the
 *   constructor, through `this._restApiClient.setOptions({ http: { agent } })`, and have no public
 *   option for a CA or an agent; `NODE_EXTRA_CA_CERTS` is read only at process start and would
 *   not fix the port anyway.
 * So callers replace that agent after creating the client, with one whose own `host`/`port`/`ca`
 * options (which node merges over each request's) point at the emulator and trust its CA. The
 * Host header and SNI stay `localhost:PORT` / `localhost`, and the SAS stays signed for the
 * connection string's HostName, exactly as against IoT Hub.
 *
 * Product code that wants to be testable against the emulator therefore needs one seam: accept an
 * optional `https.Agent` and apply it with the same call as `useHttpsAgent` below.
 */
import https from 'node:https';
import { EmulatorError } from './errors.js';

/** An agent that sends every request to 127.0.0.1:port and trusts `ca` (keep-alive, like the SDK's own). */
export function createEmulatorHttpsAgent(ca: string, port: number): https.Agent {
  return new https.Agent({ keepAlive: true, ca, host: '127.0.0.1', port });
}

interface HasRestApiClient {
  _restApiClient?: { setOptions?(options: { http: { agent: https.Agent } }): void };
}

/**
 * Makes an `azure-iothub` Registry or Client send its REST calls through `agent` (see the module
 * comment for why this reaches into the SDK's `_restApiClient`). Returns the client.
 */
export function useHttpsAgent<T extends object>(client: T, agent: https.Agent): T {
  const rest = (client as HasRestApiClient)._restApiClient;
  if (typeof rest?.setOptions !== 'function') {
    throw new EmulatorError(
      'HUB_EMULATOR_SDK_SHAPE',
      'This azure-iothub client has no _restApiClient.setOptions; the SDK changed and the emulator needs another way in',
    );
  }
  rest.setOptions({ http: { agent } });
  return client;
}
