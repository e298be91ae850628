import { type ModelportErrorOptions, UsageError } from '../common/errors.js';

/** One problem found in a manifest or spec: where (a JSONPath into the input), which rule, what is wrong. */
export interface ManifestIssue {
  /** JSONPath into the document as it was given, e.g. `$.modulesContent.$edgeAgent['properties.desired']`. */
  path: string;
  /** Rule name: a JSON-schema keyword (`required`, `enum`, …) or a modelport check (`create-options-json`, …). */
  rule: string;
  /** What is wrong, without the path: `required property missing`. */
  message: string;
}

export type PathSegment = string | number;

const DOT_SAFE = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** `['modulesContent', '$edgeAgent', 'properties.desired']` → `$.modulesContent.$edgeAgent['properties.desired']`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '$';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (DOT_SAFE.test(s)) out += `.${s}`;
    else out += `['${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
  }
  return out;
}

export function formatIssue(issue: ManifestIssue): string {
  return `${issue.path}: ${issue.message} (rule: ${issue.rule})`;
}

/** Collects issues while a document is walked; paths are kept as segments until an issue is recorded. */
export class IssueList {
  readonly items: ManifestIssue[] = [];

  add(path: readonly PathSegment[], rule: string, message: string): void {
    this.items.push({ path: formatPath(path), rule, message });
  }

  push(...issues: ManifestIssue[]): void {
    this.items.push(...issues);
  }

  get empty(): boolean {
    return this.items.length === 0;
  }
}

/** Drops exact duplicates (the same finding from two validators) and orders issues by path. */
export function dedupeIssues(issues: readonly ManifestIssue[]): ManifestIssue[] {
  const seen = new Set<string>();
  const out: ManifestIssue[] = [];
  for (const i of issues) {
    const key = `${i.path}\u0000${i.rule}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(i);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const MAX_LISTED = 25;

export interface ManifestErrorOptions extends ModelportErrorOptions {
  /** What was being read, for the first line of the message (default `deployment manifest`). */
  subject?: string;
  /** Error code (default `MANIFEST_INVALID`; the deployment spec uses `DEPLOYMENT_SPEC_INVALID`). */
  code?: string;
}

/**
 * A manifest, deployment or deployment spec that breaks one or more rules (exit 2, HTTP 400).
 * `details.errors` holds every issue as `{path, rule, message}`; the message lists them one per line.
 */
export class ManifestError extends UsageError {
  readonly issues: readonly ManifestIssue[];

  constructor(issues: readonly ManifestIssue[], options: ManifestErrorOptions = {}) {
    const { subject = 'deployment manifest', code = 'MANIFEST_INVALID', ...rest } = options;
    super(code, manifestErrorMessage(subject, issues), {
      hint: 'Fix the listed paths; `modelport manifest validate FILE` checks a manifest without deploying it.',
      ...rest,
      details: { ...rest.details, errors: issues.map((i) => ({ ...i })) },
    });
    this.issues = issues;
  }
}

function manifestErrorMessage(subject: string, issues: readonly ManifestIssue[]): string {
  const first = issues[0];
  if (issues.length === 1 && first) return `invalid ${subject}: ${formatIssue(first)}`;
  const lines = issues.slice(0, MAX_LISTED).map((i) => `  - ${formatIssue(i)}`);
  if (issues.length > MAX_LISTED) lines.push(`  … and ${issues.length - MAX_LISTED} more`);
  return `invalid ${subject} (${issues.length} problems):\n${lines.join('\n')}`;
}

export function isManifestError(e: unknown): e is ManifestError {
  return e instanceof ManifestError;
}

/** Throws a ManifestError when the list holds anything. */
export function throwIfIssues(issues: readonly ManifestIssue[], options?: ManifestErrorOptions): void {
  if (issues.length > 0) throw new ManifestError(dedupeIssues(issues), options);
}
