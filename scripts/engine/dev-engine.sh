#!/usr/bin/env bash
# A persistent Docker engine + loopback registry for developers, reused by the docker test project.
#   eval "$(scripts/engine/dev-engine.sh start)"   # start or reuse; prints DOCKER_HOST / MODELPORT_TEST_REGISTRY
#   scripts/engine/dev-engine.sh env               # print the export lines of the running engine
#   scripts/engine/dev-engine.sh stop              # stop it (images are kept for the next start)
#   scripts/engine/dev-engine.sh purge             # stop it and delete its data
# Lives under $MODELPORT_ENGINE_DIR/dev (default /tmp/modelport-engine/dev).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
exec node --import tsx scripts/engine/dev-engine.ts "$@"
