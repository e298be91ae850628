/** What packaging reports while it works; a view turns these into bars or lines (or nothing). */
export type PackageEvent =
  | {
      kind: 'phase';
      phase: 'check' | 'context' | 'pull' | 'build' | 'tag' | 'push' | 'record';
      message: string;
    }
  | { kind: 'build-step'; number: number; total: number; instruction: string }
  | { kind: 'build-output'; line: string }
  | {
      kind: 'layer';
      direction: 'push' | 'pull';
      id: string;
      status: string;
      current?: number;
      total?: number;
    }
  | { kind: 'status'; direction: 'push' | 'pull'; message: string };

export type PackageObserver = (event: PackageEvent) => void;
