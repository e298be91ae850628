import cliProgress from 'cli-progress';
import type { ProfileEvent } from './run-profile.js';

export interface ProfileProgressView {
  observe(event: ProfileEvent): void;
  stop(): void;
}

/**
 * A bar over the whole load (steps × duration) on a terminal, advancing each second within a step and
 * naming the concurrency being driven and the last step's figures. Nothing off a TTY or under --json.
 */
export function profileProgressView(stream: NodeJS.WritableStream, enabled: boolean): ProfileProgressView {
  if (!enabled) return { observe: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'profiling [{bar}] {percentage}% | {step} | {last}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let last = '';
  return {
    observe: (event) => {
      if (event.kind === 'server-ready') return;
      if (!started) {
        bar.start(event.total * (event.kind === 'step-start' ? event.durationSeconds : 1), 0, {
          step: '',
          last: '',
        });
        started = true;
      }
      if (event.kind === 'step-start') {
        const base = event.index * event.durationSeconds;
        let elapsed = 0;
        bar.update(base, {
          step: `concurrency ${event.concurrency} (${event.index + 1}/${event.total})`,
          last,
        });
        clearInterval(timer);
        timer = setInterval(() => {
          elapsed = Math.min(elapsed + 1, event.durationSeconds);
          bar.update(base + elapsed);
        }, 1000);
      } else {
        clearInterval(timer);
        const s = event.step;
        last = `c=${s.concurrency}: ${s.throughput.toFixed(0)} req/s, p99 ${s.latency.p99.toFixed(1)} ms`;
        bar.update(((event.index + 1) / event.total) * bar.getTotal(), { last });
      }
    },
    stop: () => {
      clearInterval(timer);
      if (started) bar.stop();
    },
  };
}
