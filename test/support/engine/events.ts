/**
 * The harness's progress lines, one named call per event (logic never builds log strings).
 * They go to stderr through `sink`, so a slow or failing setup shows where the time went.
 */
export interface EngineEvents {
  packagesChecked(pkgs: readonly string[]): void;
  engineReused(mode: string, dockerHost: string, registry: string): void;
  dockerdStarted(dockerHost: string, version: string, ms: number): void;
  registryStarted(address: string, ms: number): void;
  orphanRunRemoved(dir: string): void;
  baseImageReady(tag: string, built: boolean, sizeBytes: number, ms: number): void;
  engineStopped(dir: string, ms: number): void;
}

export function engineEvents(
  sink: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): EngineEvents {
  const say = (text: string) => sink(`[engine] ${text}`);
  const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return {
    packagesChecked: (pkgs) => say(`packages present: ${pkgs.join(', ')}`),
    engineReused: (mode, dockerHost, registry) =>
      say(`reusing ${mode} engine ${dockerHost}, registry ${registry}`),
    dockerdStarted: (dockerHost, version, ms) =>
      say(`dockerd ${version} ready at ${dockerHost} in ${secs(ms)}`),
    registryStarted: (address, ms) => say(`registry ready at ${address} in ${secs(ms)}`),
    orphanRunRemoved: (dir) => say(`removed engine left by a dead run: ${dir}`),
    baseImageReady: (tag, built, sizeBytes, ms) =>
      say(`${tag} ${built ? 'built' : 'reused'} (${(sizeBytes / 1e6).toFixed(0)} MB) in ${secs(ms)}`),
    engineStopped: (dir, ms) => say(`stopped engine ${dir} in ${secs(ms)}`),
  };
}

/** For callers that want no output (tests of the harness itself). */
export function silentEngineEvents(): EngineEvents {
  return engineEvents(() => {});
}
