import type { Migration } from '../../common/db.js';

export const REGISTRY_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    up: (db) => {
      db.exec(`
        -- Versions are never reused, even after a delete, so name:version always means one thing.
        CREATE TABLE model_names (
          name TEXT PRIMARY KEY,
          last_version INTEGER NOT NULL
        ) STRICT;
        CREATE TABLE models (
          name TEXT NOT NULL REFERENCES model_names(name),
          version INTEGER NOT NULL,
          framework TEXT NOT NULL,
          description TEXT NOT NULL DEFAULT '',
          digest TEXT NOT NULL,
          created_at TEXT NOT NULL,
          tags TEXT NOT NULL DEFAULT '{}',
          properties TEXT NOT NULL DEFAULT '{}',
          size INTEGER NOT NULL,
          onnx TEXT,
          PRIMARY KEY (name, version)
        ) STRICT;
        CREATE TABLE model_files (
          name TEXT NOT NULL,
          version INTEGER NOT NULL,
          path TEXT NOT NULL,
          sha256 TEXT NOT NULL,
          size INTEGER NOT NULL,
          PRIMARY KEY (name, version, path),
          FOREIGN KEY (name, version) REFERENCES models(name, version) ON DELETE CASCADE
        ) STRICT;
        CREATE INDEX model_files_sha256 ON model_files(sha256);
      `);
    },
  },
  {
    version: 2,
    up: (db) => {
      // What `modelport package` built, so `modelport manifest generate` can find the image of a module
      // that names models but no image (cloud/registry/packaged-images.ts). IF NOT EXISTS: two
      // connections opening an older file at once may both see version 1.
      db.exec(`
        CREATE TABLE IF NOT EXISTS packaged_images (
          id INTEGER PRIMARY KEY,
          image TEXT NOT NULL,
          digest TEXT,
          platform TEXT NOT NULL,
          models TEXT NOT NULL,
          created_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX IF NOT EXISTS packaged_images_image ON packaged_images(image);
      `);
    },
  },
  {
    version: 3,
    up: (db) => {
      // What `modelport watch` rolled out, per target (a manifest file, or an IoT Hub deployment), and
      // what its gate decided about each model version (cloud/watch/state.ts): a restarted watch neither
      // deploys the same models again nor asks the gate twice.
      db.exec(`
        CREATE TABLE IF NOT EXISTS watch_rollouts (
          id INTEGER PRIMARY KEY,
          target TEXT NOT NULL,
          rollout_key TEXT NOT NULL,
          spec_path TEXT NOT NULL,
          spec_hash TEXT NOT NULL,
          models TEXT NOT NULL,
          images TEXT NOT NULL,
          deployment_id TEXT,
          priority INTEGER,
          manifest_digest TEXT,
          applied_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX IF NOT EXISTS watch_rollouts_target ON watch_rollouts(target, id);
        CREATE TABLE IF NOT EXISTS watch_gate_decisions (
          target TEXT NOT NULL,
          name TEXT NOT NULL,
          version INTEGER NOT NULL,
          digest TEXT NOT NULL,
          accepted INTEGER NOT NULL,
          detail TEXT NOT NULL,
          decided_at TEXT NOT NULL,
          PRIMARY KEY (target, name, version)
        ) STRICT;
      `);
    },
  },
];
