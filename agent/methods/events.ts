import type { Logger } from '../../common/logger.js';

/** Named log events of direct methods. */
export function methodEvents(log: Logger) {
  return {
    methodCalled: (name: string, status: number, ms: number) =>
      log.info(
        { event: 'method-called', method: name, status, ms },
        `direct method ${name} → ${status} (${ms} ms)`,
      ),
    moduleRestartRequested: (module: string) =>
      log.warn(
        { event: 'module-restart-requested', module, reason: 'RestartModule direct method' },
        `restarting module '${module}': requested by the RestartModule direct method`,
      ),
  };
}

export type MethodEvents = ReturnType<typeof methodEvents>;
