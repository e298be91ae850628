# modelport scoring module image, linux/amd64.
#
# This is the template `modelport package` renders into each build context (`--output-dir` writes the
# rendered copy beside the files it copies): the `#@modelport:` lines become the model-specific ENV,
# LABEL and COPY instructions, and BASE_IMAGE's default becomes the chosen base. The context holds
#   node_modules/    production dependencies of the scoring module (onnxruntime-node: linux/x64 only)
#   app/             the compiled scoring module and its package.json
#   azureml-models/  the model files as NAME/VERSION/..., laid out as Azure ML lays them out
#   entry-script/    the compiled entry script, when one was given
# There are no RUN steps, so building needs no emulator and no network beyond the base image.
ARG BASE_IMAGE=node:20-bookworm-slim
FROM ${BASE_IMAGE}

# Runtime settings first: they are the same for every image, so these steps are always cached.
ENV NODE_ENV=production \
    ORT_DISABLE_TELEMETRY=1 \
    AML_APP_ROOT=/var/azureml-app \
    MODELPORT_PORT=5001
WORKDIR /var/azureml-app
# The `node` user of the official node images; the files below stay root-owned, read-only to it.
USER 1000:1000
EXPOSE 5001
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.MODELPORT_PORT||5001)+'/',{signal:AbortSignal.timeout(8000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
CMD ["node", "/var/azureml-app/modules/scoring/main.js"]

# Layers from the least to the most often changed, so a new model version reuses the others.
COPY node_modules/ /var/azureml-app/node_modules/
COPY app/ /var/azureml-app/
COPY azureml-models/ /var/azureml-app/azureml-models/
#@modelport:entry-script
#@modelport:env
#@modelport:labels
