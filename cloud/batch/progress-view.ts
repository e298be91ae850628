import cliProgress from 'cli-progress';
import type { BatchProgress } from './run-batch.js';

export interface BatchProgressView {
  update(progress: BatchProgress): void;
  /** Stops the bar (on success and on failure, before anything else is printed). */
  stop(): void;
}

/**
 * A progress bar on a terminal: input bytes read (the one total known before the end), records
 * scored and rejected, records per second and an ETA from the byte rate. Nothing when not a TTY or
 * under --json: the summary line says it all there.
 */
export function batchProgressView(stream: NodeJS.WritableStream, enabled: boolean): BatchProgressView {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format:
        'scoring [{bar}] {percentage}% | {records} records, {rejected} rejected | {rate} records/s | ETA {left}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update: (p) => {
      const payload = {
        records: p.scored,
        rejected: p.rejected,
        rate: p.elapsedMs > 0 ? Math.round(((p.scored + p.rejected) * 1000) / p.elapsedMs) : 0,
        left: eta(p),
      };
      if (!started) {
        bar.start(Math.max(1, p.totalBytes), p.bytesDone, payload);
        started = true;
      } else bar.update(p.bytesDone, payload);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}

/** Time left at the byte rate so far, as m:ss (or h:mm:ss). */
export function eta(
  p: Pick<BatchProgress, 'bytesDone' | 'bytesAtStart' | 'totalBytes' | 'elapsedMs'>,
): string {
  const done = p.bytesDone - p.bytesAtStart;
  if (done <= 0 || p.elapsedMs <= 0) return '--:--';
  const seconds = Math.max(0, Math.round(((p.totalBytes - p.bytesDone) * p.elapsedMs) / done / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}
