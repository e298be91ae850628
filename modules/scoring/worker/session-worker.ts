/**
 * One ONNX Runtime session in a worker thread. session.run executes on the calling JS thread, so
 * the HTTP thread hands requests here (through the shared mailbox) and stays free for parsing and
 * health checks.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { allocate, isElementType, type TensorData, type TensorMeta } from '../tensor.js';
import { CTL, Mailbox } from './mailbox.js';
import { ortSessionOptions, type ToWorker, type WorkerInit, type WorkerMessage } from './protocol.js';

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

/** The outputs fetched when a request names none: all, unless some are not tensors. */
let tensorOutputs: string[] | undefined;

async function loadSession(): Promise<Session | undefined> {
  try {
    const started = performance.now();
    const session = await ort.InferenceSession.create(init.modelPath, ortSessionOptions(init.settings));
    const loadMs = performance.now() - started;
    const inputs = session.inputMetadata.map(toMeta);
    const outputs = session.outputMetadata.map(toMeta);
    // Sequence and map outputs (e.g. skl2onnx's ZipMap probabilities) cannot be returned by
    // onnxruntime-node: by default only the tensor outputs are fetched.
    if (outputs.some((o) => o.type === 'non-tensor'))
      tensorOutputs = outputs.filter((o) => o.type !== 'non-tensor').map((o) => o.name);
    const warmRunMs = await warmUp(session, inputs);
    post({
      kind: 'ready',
      model: {
        inputs,
        outputs,
        loadMs,
        ...(warmRunMs === undefined ? {} : { warmRunMs }),
      },
    });
    return session;
  } catch (e) {
    // The parent reports the failure and terminates this worker.
    post({ kind: 'load-failed', message: (e as Error).message });
    return undefined;
  }
}

async function run(
  session: Session,
  inputs: Record<string, TensorData>,
  outputs: string[] | undefined,
): Promise<{ outputs: Record<string, TensorData>; runMs: number }> {
  const feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
  for (const name in inputs) {
    const t = inputs[name] as TensorData;
    feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
  }
  const started = performance.now();
  const fetches = outputs ?? tensorOutputs;
  const results = fetches ? await session.run(feeds, fetches) : await session.run(feeds);
  const runMs = performance.now() - started;
  const out: Record<string, TensorData> = {};
  for (const [name, value] of Object.entries(results)) {
    const tensor = value as InstanceType<typeof ort.Tensor>;
    out[name] = {
      type: tensor.type as TensorData['type'],
      dims: [...tensor.dims],
      data: ownBuffer(tensor.data as TensorData['data']),
    };
  }
  return { outputs: out, runMs };
}

/**
 * A few batch-1 runs on zeros before the first request: the memory arena and caches are primed,
 * and their median time tells the server how long a small run takes. A model that cannot run on
 * zeros (unusual inputs) is simply not warmed up.
 */
async function warmUp(session: Session, inputs: TensorMeta[]): Promise<number | undefined> {
  const feeds: Record<string, TensorData> = {};
  for (const meta of inputs) {
    if (!isElementType(meta.type) || !meta.shape) return undefined;
    const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const count = dims.reduce((a, b) => a * b, 1);
    if (count > 1 << 20) return undefined;
    const data = allocate(meta.type, count);
    if (Array.isArray(data)) data.fill('');
    feeds[meta.name] = { type: meta.type, dims, data };
  }
  const times: number[] = [];
  try {
    // A slow model gets one warm-up run, not five.
    for (let i = 0; i < 5 && !(times[0] !== undefined && times[0] > 20); i++)
      times.push((await run(session, feeds, undefined)).runMs);
  } catch {
    return undefined; // zeros are not a valid input for this model: no warm-up figure
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/** A typed array that owns its whole buffer, so the buffer can be transferred without copying others' bytes. */
function ownBuffer(data: TensorData['data']): TensorData['data'] {
  if (Array.isArray(data)) return data;
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data;
  return data.slice();
}

function transferables(tensors: Record<string, TensorData>): ArrayBuffer[] {
  const list: ArrayBuffer[] = [];
  for (const name in tensors) {
    const d = (tensors[name] as TensorData).data;
    if (!Array.isArray(d)) list.push(d.buffer as ArrayBuffer);
  }
  return list;
}

const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The request loop: poll the mailbox briefly when requests have been arriving close together, else
 * sleep in Atomics.wait (waking every 50 ms to let this thread's event loop run: termination and
 * large requests sent by postMessage).
 */
async function serve(session: Session): Promise<void> {
  let mailbox = new Mailbox(init.mailbox);
  let seen = 0;
  const messages: ToWorker[] = [];
  port?.on('message', (m: ToWorker) => messages.push(m));
  let lastGapUs = Number.POSITIVE_INFINITY;
  let idleSince = performance.now();
  for (;;) {
    while (messages.length > 0) {
      const m = messages.shift() as ToWorker;
      try {
        const result = await run(session, m.inputs, m.outputs);
        post(
          { kind: 'result', id: m.id, outputs: result.outputs, runMs: result.runMs },
          transferables(result.outputs),
        );
      } catch (e) {
        post({ kind: 'error', id: m.id, message: (e as Error).message });
      }
      if (m.mailbox) {
        mailbox = new Mailbox(m.mailbox);
        seen = 0;
      }
      idleSince = performance.now();
    }
    const ctl = mailbox.control;
    let seq = Atomics.load(ctl, CTL.request);
    if (seq === seen && lastGapUs <= init.pollMicros) {
      const until = performance.now() + init.pollMicros / 1000;
      // Polling: the next request usually comes within the last gap.
      while (seq === seen && performance.now() < until) seq = Atomics.load(ctl, CTL.request);
    }
    if (seq === seen) {
      if (Atomics.load(ctl, CTL.message) === 1) {
        Atomics.store(ctl, CTL.message, 0);
        await macrotask();
        continue;
      }
      // Sleep: announce it, then look once more (a request stored before the announcement
      // was read is seen here; one stored after it gets a notify).
      Atomics.store(ctl, CTL.sleeping, 1);
      if (
        Atomics.load(ctl, CTL.request) === seen &&
        Atomics.wait(ctl, CTL.request, seen, 50) === 'timed-out'
      ) {
        Atomics.store(ctl, CTL.sleeping, 0);
        await macrotask();
        continue;
      }
      Atomics.store(ctl, CTL.sleeping, 0);
      continue;
    }
    lastGapUs = (performance.now() - idleSince) * 1000;
    seen = seq;
    const { header, tensors } = mailbox.read('request');
    try {
      const result = await run(session, tensors, header.outputs);
      if (!mailbox.write('reply', header.id, result.outputs, { runMs: result.runMs })) {
        post(
          { kind: 'result', id: header.id, outputs: result.outputs, runMs: result.runMs },
          transferables(result.outputs),
        );
        mailbox.write('reply', header.id, {}, { viaMessage: true });
      }
    } catch (e) {
      mailbox.write('reply', header.id, {}, { error: (e as Error).message.slice(0, 2000) });
    }
    Atomics.store(ctl, CTL.reply, seq);
    Atomics.notify(ctl, CTL.reply);
    idleSince = performance.now();
  }
}

const session = await loadSession();
if (session) await serve(session);
