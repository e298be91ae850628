// A CommonJS script: it reaches the script API with a dynamic import.
let modelDir;
exports.init = async () => {
  const api = await import('modelport/scoring');
  modelDir = process.env.AZUREML_MODEL_DIR;
  exports.resolved = typeof api.getModelPath;
};
exports.run = (raw) => ({ length: raw.length, modelDir: modelDir ?? null, api: exports.resolved });
