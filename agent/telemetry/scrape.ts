/** Fetches and reads a scoring module's `/metrics` (Prometheus text) into per-model figures. */
import { UnavailableError } from '../../common/errors.js';
import { parsePrometheusText } from './prometheus-text.js';
import { type ModelFigures, scoringFigures } from './scoring-figures.js';

export async function scrapeScoringFigures(url: string, timeoutMs = 2000): Promise<ModelFigures[]> {
  let text: string;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    text = await response.text();
  } catch (cause) {
    throw new UnavailableError('METRICS_SCRAPE_FAILED', `cannot read ${url}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return scoringFigures(parsePrometheusText(text));
}

/** Requests and errors per second between two scrapes of the same model (undefined after a restart). */
export function ratesBetween(
  previous: ModelFigures | undefined,
  current: ModelFigures,
  seconds: number,
): { requestsPerSecond?: number; errorsPerSecond?: number } {
  if (!previous || seconds <= 0 || current.requests < previous.requests) return {};
  const per = (n: number) => Math.round((n / seconds) * 1000) / 1000;
  return {
    requestsPerSecond: per(current.requests - previous.requests),
    errorsPerSecond: per(Math.max(0, current.errors - previous.errors)),
  };
}
