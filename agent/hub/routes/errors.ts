import { UsageError } from '../../../common/errors.js';

/** One route that does not parse: where and why. */
export interface RouteIssue {
  route: string;
  text: string;
  /** 0-based character offset into the route text. */
  position: number;
  message: string;
}

/**
 * The `$edgeHub` routes could not be applied (the hub keeps its previous routes). The agent reports
 * `code` and the message (one line per bad route) in the `$edgeHub` reported properties.
 */
export class RoutesError extends UsageError {
  readonly issues: readonly RouteIssue[];
  constructor(issues: readonly RouteIssue[]) {
    super(
      'ROUTES_INVALID',
      issues
        .map((i) => `route '${i.route}': ${i.message} (at character ${i.position + 1} of '${i.text}')`)
        .join('; '),
      {
        hint: 'fix the routes in $edgeHub desired properties: FROM <source> [WHERE <condition>] INTO <sink>',
        details: { issues },
      },
    );
    this.issues = issues;
  }
}

/** Thrown inside the parser and collected into a RoutesError. */
export class RouteSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
  }
}

export function isRoutesError(e: unknown): e is RoutesError {
  return e instanceof RoutesError;
}
