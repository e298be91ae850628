import type { PackageEvent } from './progress.js';

/** One JSON message of the engine's build, push or pull stream. */
export interface EngineMessage {
  stream?: string;
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
  error?: string;
  errorDetail?: { message?: string; code?: number };
}

export interface BuildStep {
  number: number;
  total: number;
  instruction: string;
}

/** Where a build stopped and what the failing step printed. */
export interface BuildFailure {
  message: string;
  step: BuildStep | undefined;
  output: string[];
}

const STEP = /^Step (\d+)\/(\d+) : (.*)$/;
const MAX_OUTPUT_LINES = 40;

/**
 * Follows the classic builder's JSON stream: step headers become progress events, other lines are the
 * current step's output, `aux.ID` is the image, and an error line ends it with the failing step and its
 * output (the last lines of it).
 */
export class BuildStreamParser {
  private partial = '';
  private step: BuildStep | undefined;
  private output: string[] = [];
  imageId: string | undefined;
  failure: BuildFailure | undefined;

  constructor(private readonly emit: (event: PackageEvent) => void) {}

  push(message: EngineMessage): void {
    if (message.stream !== undefined) this.text(message.stream);
    if (message.aux?.ID) this.imageId = message.aux.ID;
    if (message.status !== undefined && message.id !== undefined) {
      // The builder pulling FROM's image: layer progress like a pull.
      this.emit(layerEvent('pull', message));
    }
    if (message.error !== undefined || message.errorDetail?.message !== undefined) {
      this.flush();
      this.failure = {
        message: (message.errorDetail?.message ?? message.error ?? 'unknown error').trim(),
        step: this.step,
        output: this.output.slice(-MAX_OUTPUT_LINES),
      };
    }
  }

  /** Call when the stream ends: settles a last line without a newline. */
  end(): void {
    this.flush();
    const built = this.output.map((l) => /^Successfully built ([0-9a-f]{12,64})$/.exec(l)?.[1]).find(Boolean);
    if (this.imageId === undefined && built !== undefined) this.imageId = built;
  }

  private text(chunk: string): void {
    this.partial += chunk;
    let newline = this.partial.indexOf('\n');
    while (newline !== -1) {
      this.line(this.partial.slice(0, newline));
      this.partial = this.partial.slice(newline + 1);
      newline = this.partial.indexOf('\n');
    }
    // The builder sends "Step n/m : …" and its newline as two messages; a step header is whole.
    if (STEP.test(this.partial)) this.flush();
  }

  private flush(): void {
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
  }

  private line(raw: string): void {
    const line = raw.replace(/\r$/, '');
    const step = STEP.exec(line);
    if (step) {
      this.step = { number: Number(step[1]), total: Number(step[2]), instruction: step[3] ?? '' };
      this.output = [];
      this.emit({ kind: 'build-step', ...this.step });
      return;
    }
    if (line.trim() === '') return;
    this.output.push(line);
    if (this.output.length > MAX_OUTPUT_LINES * 2) this.output = this.output.slice(-MAX_OUTPUT_LINES);
    this.emit({ kind: 'build-output', line });
  }
}

/** Follows a push or pull stream: per-layer progress events, the pushed digest, the error if any. */
export class TransferStreamParser {
  digest: string | undefined;
  error: string | undefined;

  constructor(
    private readonly direction: 'push' | 'pull',
    private readonly emit: (event: PackageEvent) => void,
  ) {}

  push(message: EngineMessage): void {
    if (message.aux?.Digest) this.digest = message.aux.Digest;
    if (message.error !== undefined || message.errorDetail?.message !== undefined) {
      this.error = (message.errorDetail?.message ?? message.error ?? 'unknown error').trim();
      return;
    }
    if (message.status === undefined) return;
    if (message.id !== undefined && message.progressDetail !== undefined) {
      this.emit(layerEvent(this.direction, message));
      return;
    }
    const pushed = /digest: (sha256:[0-9a-f]{64})/.exec(message.status);
    if (pushed?.[1] && this.digest === undefined) this.digest = pushed[1];
    this.emit({ kind: 'status', direction: this.direction, message: message.status });
  }
}

function layerEvent(direction: 'push' | 'pull', message: EngineMessage): PackageEvent {
  const current = message.progressDetail?.current;
  const total = message.progressDetail?.total;
  return {
    kind: 'layer',
    direction,
    id: message.id ?? '',
    status: message.status ?? '',
    ...(current === undefined ? {} : { current }),
    ...(total === undefined ? {} : { total }),
  };
}

export type TransferFailureKind = 'auth' | 'unreachable' | 'not-found' | 'other';

/** Sorts a registry error the engine reported into what the user can do about it. */
export function classifyTransferError(message: string): TransferFailureKind {
  if (
    /unauthorized|authentication required|no basic auth credentials|denied|forbidden|\b40[13]\b/i.test(
      message,
    )
  ) {
    return 'auth';
  }
  if (/manifest unknown|not found|does not exist|repository .* not found/i.test(message)) return 'not-found';
  if (
    /connection refused|no such host|i\/o timeout|dial tcp|network is unreachable|no route to host|server gave HTTP response to HTTPS client|tls: |x509: |EOF|connection reset|timeout exceeded|Client\.Timeout/i.test(
      message,
    )
  ) {
    return 'unreachable';
  }
  return 'other';
}
