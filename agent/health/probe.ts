import http from 'node:http';
import { messageOf } from '../../common/errors.js';
import type { ProbeResult } from './health.js';

export interface Address {
  host: string;
  port: number;
}

/** One HTTP GET with a timeout; never throws (a failure is a result). */
export function httpProbe(address: Address, path: string, timeoutMs = 2_000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = http.get({ host: address.host, port: address.port, path, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ error: messageOf(e) }));
  });
}
