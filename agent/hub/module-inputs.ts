/**
 * Messages routed to `BrokeredEndpoint("/modules/{m}/inputs/{i}")` wait in the outbox like upstream
 * ones and are delivered with QoS 1 to `devices/{d}/modules/{m}/inputs/{i}/…` while the module is
 * connected and subscribed to its inputs; one sender per endpoint, paused while the module is away.
 */
import type { UpstreamEvents } from '../upstream/events.js';
import { parseModuleInputEndpoint } from '../upstream/message.js';
import type { OutboxApi } from '../upstream/outbox.js';
import { EndpointSender, type SenderStats } from '../upstream/sender.js';
import type { ModuleBroker } from './broker.js';
import { inputTopic } from './topics.js';

export class ModuleInputs {
  private readonly senders = new Map<string, EndpointSender>();

  constructor(
    private readonly deps: {
      deviceId: string;
      outbox: OutboxApi;
      broker: ModuleBroker;
      events: UpstreamEvents;
    },
  ) {
    deps.broker.onOnline((m) => {
      if (deps.broker.isOnline(m, 'inputs')) this.forModule(m, (s) => s.resume());
    });
    deps.broker.onOffline((m) => this.forModule(m, (s) => s.pause()));
  }

  /** Runs a sender for each endpoint (new ones start; existing ones keep going). */
  ensure(endpoints: Iterable<string>): void {
    for (const endpoint of endpoints) {
      const target = parseModuleInputEndpoint(endpoint);
      if (!target || this.senders.has(endpoint)) continue;
      const sender = new EndpointSender({
        outbox: this.deps.outbox,
        endpoint,
        window: 16,
        events: this.deps.events,
        deliver: (m) =>
          this.deps.broker.deliver(
            target.moduleId,
            inputTopic(this.deps.deviceId, target.moduleId, target.input, {
              messageId: m.messageId,
              app: m.appProperties,
              system: m.systemProperties,
            }),
            m.body,
          ),
      });
      this.senders.set(endpoint, sender);
      if (!this.deps.broker.isOnline(target.moduleId, 'inputs')) sender.pause();
      sender.start();
    }
  }

  stats(): SenderStats[] {
    return [...this.senders.values()].map((s) => s.stats());
  }

  stop(): void {
    for (const s of this.senders.values()) s.stop();
    this.senders.clear();
  }

  private forModule(moduleId: string, action: (s: EndpointSender) => void): void {
    for (const [endpoint, sender] of this.senders) {
      if (parseModuleInputEndpoint(endpoint)?.moduleId === moduleId) action(sender);
    }
  }
}
