/** Collection counters on the server's Prometheus registry (served on /metrics) and its log lines. */
import { Counter, Gauge, type Registry } from 'prom-client';
import { messageOf } from '../../../common/errors.js';
import type { Logger } from '../../../common/logger.js';
import type { DropReason, QueueObserver } from './queue.js';

export type SkipReason = 'unreadable';

export class CollectMetrics implements QueueObserver {
  private readonly records: Counter<'outcome' | 'reason'>;
  private readonly queue: Gauge;
  private failing = false;

  constructor(
    registry: Registry,
    private readonly log: Logger,
  ) {
    this.records = new Counter({
      name: 'modelport_collect_records_total',
      help: 'Model-data collection records by outcome (made, sent, dropped) and, for drops, the reason',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    });
    this.queue = new Gauge({
      name: 'modelport_collect_queue_length',
      help: 'Collection records waiting to be sent or in flight',
      registers: [registry],
    });
  }

  made(): void {
    this.records.inc({ outcome: 'made', reason: '' });
  }

  sent(): void {
    this.records.inc({ outcome: 'sent', reason: '' });
  }

  dropped(reason: DropReason | SkipReason): void {
    this.records.inc({ outcome: 'dropped', reason });
  }

  failed(error: unknown, retryInMs: number): void {
    // Once per outage, not once per retry.
    if (this.failing) return;
    this.failing = true;
    this.log.warn(
      { event: 'collect-send-failed', err: messageOf(error), retryInMs },
      `collection records are not accepted (${messageOf(error)}); they wait and are retried`,
    );
  }

  resumed(): void {
    this.failing = false;
    this.log.info({ event: 'collect-send-resumed' }, 'collection records are accepted again');
  }

  length(n: number): void {
    this.queue.set(n);
  }
}
