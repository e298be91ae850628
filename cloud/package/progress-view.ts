import cliProgress from 'cli-progress';
import type { PackageEvent, PackageObserver } from './progress.js';

export interface ProgressView {
  observer: PackageObserver;
  /** Stops the bars (call on success and on failure, before printing anything else). */
  stop(): void;
}

/** `bars` on a terminal, `lines` for logs (CI), `quiet` under --json. */
export type ProgressMode = 'bars' | 'lines' | 'quiet';

const DONE = /^(Pushed|Layer already exists|Mounted from .*|Pull complete|Already exists)$/;

export function progressView(stream: NodeJS.WritableStream, mode: ProgressMode): ProgressView {
  if (mode === 'quiet') return { observer: () => undefined, stop: () => undefined };
  if (mode === 'lines') return linesView(stream);
  return barsView(stream);
}

function linesView(stream: NodeJS.WritableStream): ProgressView {
  const write = (line: string) => stream.write(`${line}\n`);
  return {
    observer: (event: PackageEvent) => {
      switch (event.kind) {
        case 'phase':
          write(`==> ${event.message}`);
          break;
        case 'build-step':
          write(`Step ${event.number}/${event.total} : ${event.instruction}`);
          break;
        case 'layer':
          if (DONE.test(event.status)) write(`  ${event.id}: ${event.status}`);
          break;
        case 'status':
          write(`  ${event.message}`);
          break;
        case 'build-output':
          break; // the failing step's output is part of the error; success needs no builder chatter
      }
    },
    stop: () => undefined,
  };
}

function barsView(stream: NodeJS.WritableStream): ProgressView {
  const multibar = new cliProgress.MultiBar(
    {
      stream,
      format: '{label} [{bar}] {value}/{total} {detail}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      autopadding: true,
      formatValue: (value, _options, type) =>
        type === 'value' || type === 'total' ? shortNumber(value) : String(value),
    },
    cliProgress.Presets.shades_classic,
  );
  let build: cliProgress.SingleBar | undefined;
  const layers = new Map<string, cliProgress.SingleBar>();
  return {
    observer: (event: PackageEvent) => {
      switch (event.kind) {
        case 'phase':
          multibar.log(`${event.message}\n`);
          break;
        case 'build-step':
          build ??= multibar.create(event.total, 0, { label: 'build', detail: '' });
          build.setTotal(event.total);
          build.update(event.number, { detail: truncate(event.instruction, 48) });
          break;
        case 'layer': {
          let bar = layers.get(`${event.direction}:${event.id}`);
          if (bar === undefined) {
            bar = multibar.create(event.total ?? 1, 0, {
              label: `${event.direction} ${event.id.slice(0, 12)}`,
              detail: '',
            });
            layers.set(`${event.direction}:${event.id}`, bar);
          }
          if (event.total !== undefined) bar.setTotal(event.total);
          if (DONE.test(event.status)) bar.update(bar.getTotal(), { detail: event.status });
          else bar.update(event.current ?? 0, { detail: event.status });
          break;
        }
        case 'status':
          multibar.log(`${event.message}\n`);
          break;
        case 'build-output':
          break;
      }
    },
    stop: () => multibar.stop(),
  };
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** Byte counts of layers read better as 12.3M than 12345678. */
function shortNumber(value: number): string {
  if (value < 10_000) return String(Math.round(value));
  const units = ['K', 'M', 'G'];
  let v = value / 1024;
  let unit = 0;
  while (v >= 1024 && unit < units.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${v.toFixed(1)}${units[unit]}`;
}
