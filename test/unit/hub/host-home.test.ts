import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import {
  containerIdFromMountInfo,
  detectHostHome,
  hostPathFromMounts,
} from '../../../agent/hub/host-home.js';

const ID = 'a'.repeat(12) + 'b'.repeat(52);
/** /proc/self/mountinfo of a container (vfs storage), trimmed to the lines that matter. */
const CONTAINER_MOUNTINFO = [
  '600 550 0:52 / / rw,relatime - overlay overlay rw',
  `611 600 8:1 /var/lib/docker/containers/${ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/sda1 rw`,
  `612 600 8:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw`,
  '613 600 8:1 /var/lib/docker/volumes/modelport-agent/_data /var/lib/modelport-agent rw - ext4 /dev/sda1 rw',
].join('\n');
const HOST_MOUNTINFO = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '23 22 0:21 / /proc rw,nosuid - proc proc rw',
].join('\n');

describe('host home of an agent in a container', () => {
  it('reads the container id from the engine files mounted into it, and nothing on a host', () => {
    expect(containerIdFromMountInfo(CONTAINER_MOUNTINFO)).toBe(ID);
    expect(containerIdFromMountInfo(HOST_MOUNTINFO)).toBeUndefined();
    expect(containerIdFromMountInfo('')).toBeUndefined();
  });

  it.each([
    ['/var/lib/modelport-agent', '/var/lib/docker/volumes/modelport-agent/_data'],
    ['/var/lib/modelport-agent/outbox.db', '/var/lib/docker/volumes/modelport-agent/_data/outbox.db'],
    // The deepest mount wins.
    ['/var/lib/modelport-agent/hub', '/srv/hub'],
    ['/var/lib/modelport-agent/hub/ca.pem', '/srv/hub/ca.pem'],
    // Not a prefix of a path segment: /var/lib/modelport-agent2 is not under /var/lib/modelport-agent.
    ['/var/lib/modelport-agent2', undefined],
    ['/home/op', undefined],
  ])('%s is %s on the host', (path, expected) => {
    const mounts = [
      { Source: '/var/lib/docker/volumes/modelport-agent/_data', Destination: '/var/lib/modelport-agent' },
      { Source: '/srv/hub', Destination: '/var/lib/modelport-agent/hub' },
      { Source: '/run/docker.sock', Destination: '/var/run/docker.sock' },
      { Destination: '/no-source' },
    ];
    expect(hostPathFromMounts(path, mounts)).toBe(expected);
  });

  it('outside a container (or without /proc) the home is used as it is, and no engine is asked', async () => {
    // An engine that does not exist: asking it would fail the call.
    const nowhere = new Docker({ socketPath: '/nonexistent/docker.sock' });
    await expect(
      detectHostHome(nowhere, '/home/op/.modelport-agent', async () => HOST_MOUNTINFO),
    ).resolves.toEqual({});
    await expect(
      detectHostHome(nowhere, '/x', async () => {
        throw Object.assign(new Error('no /proc'), { code: 'ENOENT' });
      }),
    ).resolves.toEqual({});
  });
});
