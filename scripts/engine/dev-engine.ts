/**
 * The persistent dev engine for developers: `start` (re)uses dockerd + registry under
 * $MODELPORT_ENGINE_DIR/dev (default /tmp/modelport-engine/dev), builds the x64 base image, and prints
 * the export lines on stdout; `env` prints them if it runs; `stop` stops it (images kept); `purge`
 * also deletes its data. Progress goes to stderr so `eval "$(… start)"` works.
 */
import { ensureBaseImage } from '../../test/support/engine/base-image.js';
import { dockerFromHost } from '../../test/support/engine/docker-host.js';
import type { DevEngine } from '../../test/support/engine/engine.js';
import { devEngineStatus, ensureDevEngine, stopDevEngine } from '../../test/support/engine/engine.js';
import { engineEvents } from '../../test/support/engine/events.js';
import { enginePaths, engineSettings } from '../../test/support/engine/settings.js';

function exportLines(engine: DevEngine): string {
  return `export DOCKER_HOST=${engine.dockerHost}\nexport MODELPORT_TEST_REGISTRY=${engine.registry}\n`;
}

async function main(command: string | undefined): Promise<number> {
  // The dev engine is ours to start: an inherited DOCKER_HOST must not redirect it.
  const settings = { ...engineSettings(), dockerHost: undefined, registry: undefined };
  const events = engineEvents();
  switch (command) {
    case 'start': {
      const engine = await ensureDevEngine(settings, events);
      const started = Date.now();
      const base = await ensureBaseImage(dockerFromHost(engine.dockerHost), {
        cacheDir: enginePaths(settings.home).cache,
        allowInstall: settings.allowInstall,
      });
      events.baseImageReady(base.tag, base.built, base.sizeBytes, Date.now() - started);
      process.stdout.write(exportLines(engine));
      return 0;
    }
    case 'env':
    case 'status': {
      const engine = await devEngineStatus(settings);
      if (engine === undefined) {
        process.stderr.write('dev engine is not running; start it with scripts/engine/dev-engine.sh start\n');
        return 1;
      }
      process.stdout.write(exportLines(engine));
      return 0;
    }
    case 'stop':
    case 'purge':
      await stopDevEngine(settings, events, command === 'purge');
      return 0;
    default:
      process.stderr.write('usage: dev-engine.sh start|env|status|stop|purge\n');
      return 2;
  }
}

main(process.argv[2]).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const err = e as { message?: string; hint?: string };
    process.stderr.write(`dev-engine: ${err.message ?? String(e)}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
    process.exitCode = 1;
  },
);
