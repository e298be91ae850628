/**
 * The deployment being applied and where it stands, and the bookkeeping of outcomes (SQLite rows,
 * `lastDesiredStatus`). A target is the newest valid desired document, or the last known good one
 * after a failure.
 */
import type { DesiredModule } from '../reconcile/types.js';
import { type DeploymentStatus, DeploymentStatusCode } from '../report/status.js';
import type { AgentStore, DesiredRecord } from '../state/store.js';
import type { AppliedDeployment } from './intake.js';

export type Phase = 'converging' | 'verifying' | 'steady';

export interface Target {
  record: DesiredRecord;
  deployment: AppliedDeployment;
  modules: DesiredModule[];
  phase: Phase;
  /** ms since epoch when the health window opened. */
  verifyingSince?: number;
  /** Set when this target is the last known good being re-applied after `rollbackOf` failed. */
  rollbackOf?: number;
}

export interface LastDesired {
  version: number;
  status: DeploymentStatus;
}

const LAST_DESIRED_KEY = 'last-desired-status';

/** Outcomes of desired documents, kept in SQLite so `lastDesiredStatus` survives a restart. */
export class Outcomes {
  private last: LastDesired | undefined;

  constructor(private readonly store: AgentStore) {
    const saved = store.getMeta(LAST_DESIRED_KEY);
    this.last = saved ? (JSON.parse(saved) as LastDesired) : undefined;
  }

  get lastDesired(): LastDesired | undefined {
    return this.last;
  }

  private remember(version: number, status: DeploymentStatus): void {
    this.last = { version, status };
    this.store.setMeta(LAST_DESIRED_KEY, JSON.stringify(this.last));
  }

  invalid(record: DesiredRecord, status: DeploymentStatus): void {
    this.store.setDesiredStatus(record.id, 'invalid', status.code, status.description);
    this.remember(record.version, status);
  }

  applying(record: DesiredRecord): void {
    this.store.setDesiredStatus(record.id, 'applying');
  }

  succeeded(record: DesiredRecord, description: string): void {
    this.store.setDesiredStatus(record.id, 'succeeded', DeploymentStatusCode.Successful, description);
    this.remember(record.version, { code: DeploymentStatusCode.Successful, description });
  }

  failed(record: DesiredRecord, description: string): void {
    this.store.setDesiredStatus(record.id, 'failed', DeploymentStatusCode.Failed, description);
    this.remember(record.version, { code: DeploymentStatusCode.Failed, description });
  }
}
