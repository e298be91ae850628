/**
 * The `$edgeHub` desired properties (routes, store-and-forward) and the custom modules' twin desired
 * properties, for the local hub to subscribe to (issue 9). Fed by the `$edgeHub` module twin in hub
 * mode and by the manifest file's `$edgeHub` / module sections in offline mode. A subscriber gets the
 * latest value at once, then every change.
 */
import type { EdgeHubDesired, ModuleTwinDesired } from '../../manifests/index.js';

export interface EdgeHubDesiredUpdate {
  /** The `$edgeHub` twin's `$version`, or the desired version of the manifest file it came in. */
  version: number;
  edgeHub: EdgeHubDesired;
  /** Desired properties of custom modules' twins (manifest files only; in hub mode they live in IoT Hub). */
  moduleTwins: Record<string, ModuleTwinDesired>;
}

export type EdgeHubListener = (update: EdgeHubDesiredUpdate) => void;

export class EdgeHubDesiredStream {
  private latest: EdgeHubDesiredUpdate | undefined;
  private readonly listeners = new Set<EdgeHubListener>();

  get current(): EdgeHubDesiredUpdate | undefined {
    return this.latest;
  }

  publish(update: EdgeHubDesiredUpdate): void {
    this.latest = update;
    for (const listener of this.listeners) listener(update);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: EdgeHubListener): () => void {
    this.listeners.add(listener);
    if (this.latest) listener(this.latest);
    return () => this.listeners.delete(listener);
  }
}
