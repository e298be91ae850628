#!/usr/bin/env node
// Thin launcher for the device agent, compiled to dist/ by `npm run build`.
process.env.ORT_DISABLE_TELEMETRY ??= '1';
await import('../dist/agent/main.js');
