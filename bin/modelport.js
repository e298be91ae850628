#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (prepare) or `npm run build`.
process.env.ORT_DISABLE_TELEMETRY ??= '1';
await import('../dist/cloud/cli/main.js');
