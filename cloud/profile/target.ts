/** What one load step cost the server. */
export interface StepUsage {
  /** Average CPU cores used over the step. */
  cpuCores: number;
  /** Largest resident (or container) memory seen during the step. */
  peakRssBytes: number;
}

/** A running scoring server under test: the model in a child process or in its packaged image. */
export interface ProfileTarget {
  /** Base URL (`http://127.0.0.1:PORT`). */
  url: string;
  /** How it runs and what limits it: written into the profile document. */
  server: ServerFacts;
  /** Starts measuring; the function it returns stops and reports. */
  measure(): Promise<() => Promise<StepUsage>>;
  /** Peak memory since the server started (its model load included). */
  peakRssBytes(): Promise<number>;
  stop(): Promise<void>;
}

export interface ServerFacts {
  mode: 'process' | 'image';
  /** CPU limit asked for (cores), if any, and how it was applied. */
  cpus: number | null;
  cpuLimit: string;
  memoryLimitBytes: number | null;
  pid?: number;
  image?: string;
  container?: string;
}

/** Limits requested on the command line. */
export interface TargetLimits {
  cpus?: number;
  memoryBytes?: number;
}
