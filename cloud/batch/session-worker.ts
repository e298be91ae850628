/**
 * The batch runner's onnxruntime session, in a worker thread: session.run blocks the thread it runs on,
 * so here it leaves the main thread free to read and parse the next batches meanwhile. Runs are
 * served strictly in arrival order, one at a time; outputs go back with their buffers transferred.
 *
 * A worker of its own rather than the scoring server's: that one is tuned for request latency (it
 * polls for the next request, spending a core the batch runner's parser needs), this one for
 * throughput, with the same session options (modules/scoring/session-options.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TensorData } from '../../modules/scoring/tensor.js';
import { ortSessionOptions } from '../../modules/scoring/worker/protocol.js';
import type { BatchWorkerInit, FromBatchWorker, ToBatchWorker } from './worker-protocol.js';

process.env.ORT_DISABLE_TELEMETRY ??= '1'; // before the native library loads
const ort = await import('onnxruntime-node');
const init = workerData as BatchWorkerInit;
const port = parentPort;
if (!port) throw new Error('the batch session worker must run in a worker thread');

function post(message: FromBatchWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

type Session = Awaited<ReturnType<typeof ort.InferenceSession.create>>;

async function load(): Promise<Session | undefined> {
  try {
    const session = await ort.InferenceSession.create(init.modelPath, ortSessionOptions(init.settings));
    post({ kind: 'ready' });
    return session;
  } catch (e) {
    post({ kind: 'load-failed', message: (e as Error).message });
    return undefined;
  }
}

async function run(session: Session, m: ToBatchWorker): Promise<void> {
  try {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const [name, t] of Object.entries(m.inputs)) {
      feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    }
    const results = await session.run(feeds);
    const outputs: Record<string, TensorData> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, value] of Object.entries(results)) {
      const tensor = value as InstanceType<typeof ort.Tensor>;
      let data = tensor.data as TensorData['data'];
      if (!Array.isArray(data)) {
        // Only a buffer the tensor alone uses may be transferred; otherwise its bytes are copied.
        if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice();
        transfer.push(data.buffer as ArrayBuffer);
      }
      outputs[name] = { type: tensor.type as TensorData['type'], dims: [...tensor.dims], data };
    }
    // The inputs' buffers go back too: the runner reuses them for later batches.
    const inputs: Record<string, TensorData['data']> = {};
    for (const [name, t] of Object.entries(m.inputs)) {
      inputs[name] = t.data;
      if (!Array.isArray(t.data)) transfer.push(t.data.buffer as ArrayBuffer);
    }
    post({ kind: 'result', id: m.id, outputs, inputs }, transfer);
  } catch (e) {
    post({ kind: 'error', id: m.id, message: (e as Error).message });
  }
}

const session = await load();
if (session) {
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (m: ToBatchWorker) => {
    queue = queue.then(() => run(session, m));
  });
}
