/**
 * One ONNX Runtime session in a worker thread. session.run executes on the calling JS thread, so
 * the HTTP thread hands requests here and stays free for parsing and health checks.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TensorData, TensorMeta } from '../tensor.js';
import type { InferRequest, WorkerInit, WorkerMessage } from './protocol.js';

process.env.ORT_DISABLE_TELEMETRY ??= '1'; // before the native library loads
const ort = await import('onnxruntime-node');

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error('session-worker must run in a worker thread');

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

function toMeta(m: {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}): TensorMeta {
  if (!m.isTensor) return { name: m.name, type: 'non-tensor', shape: null };
  return {
    name: m.name,
    type: m.type ?? 'unknown',
    shape: m.shape ? m.shape.map((d) => (typeof d === 'number' && d < 0 ? null : d)) : null,
  };
}

type Session = Awaited<ReturnType<typeof ort.InferenceSession.create>>;

async function loadSession(): Promise<Session | undefined> {
  const s = init.settings;
  try {
    const started = performance.now();
    const session = await ort.InferenceSession.create(init.modelPath, {
      intraOpNumThreads: s.intraOpNumThreads,
      interOpNumThreads: s.interOpNumThreads,
      graphOptimizationLevel: s.graphOptimizationLevel,
      enableCpuMemArena: s.enableCpuMemArena,
      enableMemPattern: s.enableMemPattern,
      executionProviders: s.executionProviders,
      executionMode: 'sequential',
    });
    const loadMs = performance.now() - started;
    post({
      kind: 'ready',
      model: {
        inputs: session.inputMetadata.map(toMeta),
        outputs: session.outputMetadata.map(toMeta),
        loadMs,
      },
    });
    return session;
  } catch (e) {
    // The parent reports the failure and terminates this worker.
    post({ kind: 'load-failed', message: (e as Error).message });
    return undefined;
  }
}

async function serve(session: Session, request: InferRequest): Promise<void> {
  try {
    const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
    for (const [name, t] of Object.entries(request.inputs)) {
      feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    }
    const started = performance.now();
    const results = request.outputs ? await session.run(feeds, request.outputs) : await session.run(feeds);
    const runMs = performance.now() - started;
    const outputs: Record<string, TensorData> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, value] of Object.entries(results)) {
      const tensor = value as InstanceType<typeof ort.Tensor>;
      const data = ownBuffer(tensor.data as TensorData['data']);
      if (!Array.isArray(data)) transfer.push(data.buffer as ArrayBuffer);
      outputs[name] = { type: tensor.type as TensorData['type'], dims: [...tensor.dims], data };
    }
    post({ kind: 'result', id: request.id, outputs, runMs }, transfer);
  } catch (e) {
    post({ kind: 'error', id: request.id, message: (e as Error).message });
  }
}

const session = await loadSession();
if (session) port.on('message', (request: InferRequest) => void serve(session, request));

/** A typed array that owns its whole buffer, so the buffer can be transferred without copying others' bytes. */
function ownBuffer(data: TensorData['data']): TensorData['data'] {
  if (Array.isArray(data)) return data;
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data;
  return data.slice();
}
