/**
 * One container behind the proxy: its address, a keep-alive agent of its own (so draining it can
 * close exactly its sockets) and the count of requests in flight to it.
 */
import http from 'node:http';
import type { Address } from '../health/probe.js';

export class Upstream {
  readonly agent: http.Agent;
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    readonly containerId: string,
    readonly address: Address,
  ) {
    // LIFO reuses the warmest socket and lets the others reach the server's keep-alive timeout, which
    // Node's agent honours (it closes a free socket a second before the server's `Keep-Alive` hint).
    this.agent = new http.Agent({ keepAlive: true, scheduling: 'lifo' });
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  get label(): string {
    return `${this.address.host}:${this.address.port}`;
  }

  acquire(): void {
    this.inFlight++;
  }

  release(): void {
    this.inFlight--;
    if (this.inFlight > 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`; returns how many requests are left. */
  async idle(timeoutMs: number): Promise<number> {
    if (this.inFlight === 0) return 0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return this.inFlight;
  }

  /** Closes the keep-alive sockets to the container (requests still running on them are cut). */
  destroy(): void {
    this.agent.destroy();
  }
}
