// The guide's score.py, in JavaScript: init() loads the registered model, run() gets the body text.
import { getModelPath } from 'modelport/scoring';
import * as ort from 'onnxruntime-node';

let session;
let initCalls = 0;

export async function init(context) {
  initCalls += 1;
  const path = getModelPath('regression10');
  if (context.getModelPath('regression10') !== path) throw new Error('context and import disagree');
  session = await ort.InferenceSession.create(path);
}

export async function run(rawData) {
  const rows = JSON.parse(rawData).data;
  const x = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, 10]);
  const { y } = await session.run({ x });
  return { predictions: Array.from(y.data), initCalls, modelDir: process.env.AZUREML_MODEL_DIR };
}
