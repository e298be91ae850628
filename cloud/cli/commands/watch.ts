import { resolve } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../../common/errors.js';
import {
  type DeploymentSpec,
  isManifestError,
  ManifestError,
  parseDeploymentSpec,
} from '../../../manifests/index.js';
import { parseHubConnectionString } from '../../fleet/connection-string.js';
import { readSpecFile } from '../../manifest/index.js';
import {
  type CycleDeps,
  type CycleOutcome,
  checkGate,
  cycleSettings,
  HubDeploymentTarget,
  holdTarget,
  hubRollout,
  intervalMs,
  localEffects,
  ManifestFileTarget,
  type RolloutTarget,
  runCycle,
  specReader,
  TargetLocks,
  type WatchEvent,
  type WatchEvents,
  type WatchFlags,
  WatchState,
  watchEvents,
  watchLoop,
} from '../../watch/index.js';
import { type CliContext, modelportHome } from '../context.js';
import { type CommandResult, runCommand } from '../run-command.js';
import {
  addHubOptions,
  HUB_CONNECTION_STRING_ENV,
  type HubOptions,
  withHub,
} from './deployment-hub-options.js';

/** What both `modelport watch` and `modelport model register --deploy-spec` need to roll out. */
export interface PipelineOptions extends HubOptions, WatchFlags {
  manifestOut?: string;
}

export interface Pipeline {
  deps: CycleDeps;
  events: WatchEvents;
  close(): void;
}

/** Events on stderr: a sentence per event, or one JSON line each under --json (stdout keeps the result). */
function eventSink(ctx: CliContext, json: boolean): (e: WatchEvent) => void {
  return (e) => {
    if (json) ctx.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
    else
      ctx.stderr.write(
        `${new Date().toISOString().slice(11, 19)} ${e.level === 'info' ? '' : `${e.level}: `}${e.message}\n`,
      );
  };
}

function targetOf(
  opts: PipelineOptions,
  ctx: CliContext,
  spec: Parameters<typeof hubRollout>[1],
  specPath: string,
): RolloutTarget {
  if (opts.manifestOut !== undefined && opts.hubConnectionString !== undefined) {
    throw new UsageError(
      'WATCH_TARGET_INVALID',
      'give one target: --manifest-out FILE or --hub-connection-string CS, not both',
    );
  }
  if (opts.manifestOut !== undefined) return new ManifestFileTarget(resolve(ctx.cwd, opts.manifestOut));
  const connectionString = opts.hubConnectionString ?? ctx.env[HUB_CONNECTION_STRING_ENV];
  if (!connectionString) {
    throw new UsageError(
      'WATCH_TARGET_MISSING',
      `name where rollouts go: --manifest-out FILE (agents in offline mode), or --hub-connection-string CS (or $${HUB_CONNECTION_STRING_ENV})`,
    );
  }
  const source =
    opts.hubConnectionString !== undefined ? '--hub-connection-string' : HUB_CONNECTION_STRING_ENV;
  const { hostName } = parseHubConnectionString(connectionString, source);
  return new HubDeploymentTarget({
    hostName,
    ...hubRollout(opts, spec, specPath),
    withHub: (use) => withHub({ ...opts, hubConnectionString: connectionString }, ctx, use),
  });
}

/** Checks every setting (spec, target, gate) before anything runs, then opens the watch state. */
export async function openPipeline(
  specFile: string,
  opts: PipelineOptions,
  ctx: CliContext,
): Promise<Pipeline> {
  const specPath = resolve(ctx.cwd, specFile);
  const spec = await readSpecFile(specPath);
  const target = targetOf(opts, ctx, spec, specPath);
  const settings = cycleSettings(opts, spec, specPath, ctx.cwd);
  if (settings.gate) await checkGate(settings.gate.script);
  const home = modelportHome(ctx.env);
  const state = WatchState.open(home);
  const locks = TargetLocks.open(home);
  const events = watchEvents(eventSink(ctx, Boolean(opts.json)));
  return {
    deps: {
      specPath,
      // Read again whenever the file changes: editing the spec while watching takes effect.
      readSpec: specReader(specPath, specParser(specPath)),
      settingsFor: (s) => cycleSettings(opts, s, specPath, ctx.cwd),
      state,
      target,
      effects: localEffects({ home, env: ctx.env, specPath, logger: ctx.logger, signal: ctx.shutdownSignal }),
      events,
      // One rollout per target at a time, across processes: a second runner waits its turn.
      holdTarget: () =>
        holdTarget(locks, target.facts.key, {
          signal: ctx.shutdownSignal,
          onBusy: (holder) => events.targetBusy(target.description, holder),
        }),
    },
    events,
    close: () => {
      locks.close();
      state.close();
    },
  };
}

/** Parses the spec text with errors that name the file (as readSpecFile does). */
function specParser(path: string): (text: string) => DeploymentSpec {
  return (text) => {
    try {
      return parseDeploymentSpec(text);
    } catch (e) {
      if (!isManifestError(e)) throw e;
      throw new ManifestError(e.issues, {
        subject: `deployment spec ${path}`,
        code: e.code,
        ...(e.hint && { hint: e.hint }),
      });
    }
  };
}

const ref = (m: { module: string; model: string }) => `${m.module}: ${m.model}`;

/** Lines for a person; the JSON result carries the same. */
export function describeOutcome(outcome: CycleOutcome, target: string): string[] {
  switch (outcome.outcome) {
    case 'deployed':
      return [
        `Deployed rollout ${outcome.rollout.key.slice(0, 12)} to ${target}`,
        ...outcome.rollout.models.map((m) =>
          `  ${ref(m)}  ${outcome.rollout.images[m.module] ?? ''}`.trimEnd(),
        ),
        ...(outcome.applied.deploymentId
          ? [
              `  deployment ${outcome.applied.deploymentId} (priority ${outcome.applied.priority}, ${outcome.applied.outcome})`,
            ]
          : []),
        ...outcome.applied.removed.map((id) => `  removed ${id}`),
      ];
    case 'unchanged':
      return [`Up to date: ${target} holds rollout ${outcome.rollout?.key.slice(0, 12) ?? '-'}`];
    case 'rejected':
      return [
        `Not deployed: ${outcome.gate
          .filter((d) => !d.accepted)
          .map((d) => `${d.name}:${d.version} rejected by the gate (${d.detail})`)
          .join('; ')}`,
        ...(outcome.rollout ? [`  ${target} stays on ${outcome.rollout.models.map(ref).join(', ')}`] : []),
      ];
    case 'blocked':
      return [
        `Nothing to deploy: ${outcome.notes
          .filter((n) => n.kind === 'missing')
          .map((n) => n.message)
          .join('; ')}`,
      ];
    case 'planned':
      return outcome.status === 'rollout'
        ? [`Plan for ${target} (dry run, nothing done):`, ...outcome.steps.map((s) => `  ${s.id}`)]
        : [`Plan for ${target} (dry run): nothing to do (${outcome.status})`];
  }
}

/** The JSON result of one cycle (without the internal record). */
export function outcomeResult(outcome: CycleOutcome, target: string): Record<string, unknown> {
  if (outcome.outcome === 'deployed') {
    const { record: _record, ...rest } = outcome;
    return { target, ...rest };
  }
  return { target, ...outcome };
}

interface Options extends PipelineOptions {
  spec: string;
  once?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export async function watchCommand(opts: Options, ctx: CliContext): Promise<CommandResult> {
  const interval = intervalMs(opts);
  const pipeline = await openPipeline(opts.spec, opts, ctx);
  const { deps, events } = pipeline;
  const target = deps.target.description;
  try {
    if (opts.once || opts.dryRun) {
      const outcome = await runCycle(deps, { dryRun: Boolean(opts.dryRun) });
      return {
        result: outcomeResult(outcome, target),
        human: describeOutcome(outcome, target),
        ...(outcome.outcome === 'blocked' && { exitCode: 3 }),
      };
    }
    events.started(deps.specPath, target, interval);
    const summary = await watchLoop(deps, { intervalMs: interval }, ctx.shutdownSignal);
    return {
      result: {
        target,
        cycles: summary.cycles,
        rollouts: summary.rollouts,
        failures: summary.failures,
        last: summary.last && outcomeResult(summary.last, target),
      },
      human: `Stopped watching ${opts.spec}: ${summary.rollouts} rollout(s) in ${summary.cycles} cycle(s)`,
    };
  } finally {
    pipeline.close();
  }
}

export function register(program: Command, ctx: CliContext): void {
  addHubOptions(
    program
      .command('watch')
      .description(
        'deploy new model versions as they are registered: package, generate the manifest, and write it (--manifest-out) or deploy it through IoT Hub',
      )
      .requiredOption('--spec <file>', 'deployment spec (models as name:latest follow new versions)')
      .option('--manifest-out <file>', 'write the manifest here, atomically, for agents in offline mode')
      .option(
        '--gate <script>',
        'executable that accepts (exit 0) or rejects a new version; gets MODELPORT_MODEL_*',
      )
      .option('--gate-timeout <seconds>', 'how long the gate may take (default 600)')
      .option(
        '--image-repo <repository>',
        'push new images here (default: rollout.imageRepository in the spec)',
      )
      .option('--platform <platform>', 'linux/amd64 or linux/arm64 (default: the spec, else linux/amd64)')
      .option('--base-image <image>', 'node 20 base image for packaging')
      .option('--target-condition <condition>', 'IoT Hub: devices to deploy to')
      .option(
        '--priority <n>',
        'IoT Hub: priority of the first rollout (default 10); each next one is higher',
      )
      .option('--layered', 'IoT Hub: layered deployments')
      .option(
        '--remove-previous',
        "IoT Hub: delete the watch's previous deployment once the new one is applied",
      )
      .option('--interval <seconds>', 'how often to look for changes (default 5)')
      .option('--once', 'process the current state once and exit')
      .option('--dry-run', 'print the plan only (implies --once)'),
  ).action(runCommand(ctx, watchCommand));
}
