import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interpretDesired } from '../../../agent/deploy/intake.js';
import { desiredModules } from '../../../agent/reconcile/desired.js';
import { statusFromError } from '../../../agent/report/status.js';
import { buildDeployment } from '../../../manifests/index.js';

const EXAMPLE = join(import.meta.dirname, '../../../manifests/examples/az-set-modules.deployment.json');

const manifest = () =>
  buildDeployment({
    modules: {
      scorer: {
        image: 'reg.test/scorer:1',
        env: { MODELPORT_PORT: 5001, DEBUG: true },
        createOptions: { HostConfig: { NetworkMode: 'host' } },
        startupOrder: 2,
        restartPolicy: 'on-failure',
      },
    },
    routes: { up: 'FROM /messages/* INTO $upstream' },
  });

function statusOf(body: string) {
  try {
    interpretDesired(body);
  } catch (e) {
    return statusFromError(e);
  }
  throw new Error('expected the document to be rejected');
}

describe('interpretDesired', () => {
  it('takes a whole deployment, with $edgeHub and normalized modules', () => {
    const d = interpretDesired(JSON.stringify(manifest()));
    expect(d.edgeHub?.routes).toEqual([{ name: 'up', route: 'FROM /messages/* INTO $upstream' }]);
    expect(desiredModules(d.edgeAgent)).toEqual([
      {
        name: 'scorer',
        image: 'reg.test/scorer:1',
        createOptions: { HostConfig: { NetworkMode: 'host' } },
        env: { MODELPORT_PORT: '5001', DEBUG: 'true' },
        binds: [],
        version: '',
        status: 'running',
        restartPolicy: 'on-failure',
        startupOrder: 2,
        imagePullPolicy: 'on-create',
      },
    ]);
  });

  it('takes the $edgeAgent desired properties as the twin delivers them ($version, $metadata ignored)', () => {
    const agent = manifest().modulesContent.$edgeAgent['properties.desired'];
    const d = interpretDesired(JSON.stringify({ ...agent, $version: 12, $metadata: { $lastUpdated: 'x' } }));
    expect(Object.keys(d.edgeAgent.modules)).toEqual(['scorer']);
    expect(d.edgeHub).toBeUndefined();
  });

  it('takes a manifest written by the IoT Edge tools (chunked createOptions)', () => {
    const d = interpretDesired(readFileSync(EXAMPLE, 'utf8'));
    expect(Object.keys(d.edgeAgent.modules).length).toBeGreaterThan(0);
  });

  it('adds what the module-environment provider gives, the provider winning on a clash', () => {
    const d = interpretDesired(JSON.stringify(manifest()));
    const [m] = desiredModules(d.edgeAgent, {
      forModule: (name) => ({
        env: { EdgeHubConnectionString: `HostName=gw;ModuleId=${name}`, DEBUG: 'false' },
        binds: ['/var/lib/hub/ca.pem:/hub/ca.pem:ro'],
      }),
    });
    expect(m?.env).toEqual({
      MODELPORT_PORT: '5001',
      DEBUG: 'false',
      EdgeHubConnectionString: 'HostName=gw;ModuleId=scorer',
    });
    expect(m?.binds).toEqual(['/var/lib/hub/ca.pem:/hub/ca.pem:ro']);
  });

  it.each([
    ['not JSON', '{"modulesContent": ', 400, /not JSON/],
    ['a schema error', JSON.stringify({ modulesContent: { $edgeAgent: {} } }), 400, /properties\.desired/],
    ['empty twin desired properties', JSON.stringify({ $version: 1 }), 417, /hold no deployment/],
  ])('rejects %s with code %i', (_what, body, code, description) => {
    const status = statusOf(body);
    expect(status.code).toBe(code);
    expect(status.description).toMatch(description);
  });

  it('reports an unsupported schemaVersion alone as InvalidSchemaVersion (412)', () => {
    const m = manifest();
    const agent = { ...m.modulesContent.$edgeAgent['properties.desired'], schemaVersion: '9.0' };
    const status = statusOf(JSON.stringify(agent));
    expect(status.code).toBe(412);
    expect(status.description).toMatch(/schemaVersion/);
  });

  it('maps any other failure to Failed (500)', () => {
    expect(statusFromError(new Error('boom'))).toEqual({ code: 500, description: 'boom' });
  });
});
