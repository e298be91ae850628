import type { Worker } from 'node:worker_threads';
import type { InferResult } from '../batching/batcher.js';
import { ScoringError } from '../errors.js';
import type { TensorData } from '../tensor.js';
import { CTL, Mailbox, messageBytes, waitAsync } from './mailbox.js';
import type { ToWorker, WorkerMessage } from './protocol.js';

interface Call {
  id: number;
  inputs: Record<string, TensorData>;
  outputs: string[] | undefined;
  resolve: (r: InferResult) => void;
  reject: (e: Error) => void;
}

const MAX_MAILBOX_BYTES = 256 * 1024 * 1024;

/**
 * The HTTP thread's side of one session worker: one run at a time through the shared mailbox
 * (mailbox.ts), queued when the worker is busy; a run too large for the mailbox goes by
 * postMessage, with a mailbox large enough for it next time.
 */
export class SessionWorker {
  private mailbox: Mailbox;
  private nextMailbox: Mailbox | undefined;
  private seq = 0;
  private nextId = 1;
  private current: (Call & { viaMessage: boolean }) | undefined;
  private readonly waiting: Call[] = [];
  private readonly onReply = () => this.replied();

  constructor(
    private readonly worker: Worker,
    shared: SharedArrayBuffer,
    private readonly onExit: (w: SessionWorker, code: number) => void,
  ) {
    this.mailbox = new Mailbox(shared);
    worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    worker.on('error', (e) => this.failAll(e));
    worker.on('exit', (code) => {
      this.failAll(new ScoringError(500, 'WORKER_EXITED', `inference worker stopped (exit code ${code})`));
      this.onExit(this, code);
    });
  }

  get inFlight(): number {
    return (this.current ? 1 : 0) + this.waiting.length;
  }

  infer(inputs: Record<string, TensorData>, outputs: string[] | undefined): Promise<InferResult> {
    return new Promise<InferResult>((resolve, reject) => {
      this.waiting.push({ id: this.nextId++, inputs, outputs, resolve, reject });
      if (!this.current) this.next();
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  private next(): void {
    const call = this.waiting.shift();
    if (!call) return;
    if (this.nextMailbox) {
      this.mailbox = this.nextMailbox;
      this.nextMailbox = undefined;
      this.seq = 0;
    }
    const ctl = this.mailbox.control;
    if (this.mailbox.write('request', call.id, call.inputs, call.outputs ? { outputs: call.outputs } : {})) {
      this.current = { ...call, viaMessage: false };
      this.seq++;
      Atomics.store(ctl, CTL.request, this.seq);
      if (Atomics.load(ctl, CTL.sleeping) === 1) Atomics.notify(ctl, CTL.request);
      const wait = waitAsync(ctl, CTL.reply, this.seq - 1);
      if (wait.async) void wait.value.then(this.onReply);
      else this.replied();
      return;
    }
    // Too large for the mailbox: by message, with a larger mailbox for the next runs.
    const want = Math.min(
      MAX_MAILBOX_BYTES,
      Math.max(this.mailbox.capacity * 4, messageBytes(call.inputs) * 4),
    );
    this.nextMailbox = want > this.mailbox.capacity * 2 ? Mailbox.create(want) : undefined;
    this.current = { ...call, viaMessage: true };
    const message: ToWorker = { kind: 'run', id: call.id, inputs: call.inputs };
    if (call.outputs) message.outputs = call.outputs;
    if (this.nextMailbox) message.mailbox = this.nextMailbox.shared;
    this.worker.postMessage(message);
    Atomics.store(ctl, CTL.message, 1);
    Atomics.notify(ctl, CTL.request);
  }

  private replied(): void {
    const call = this.current;
    if (!call || call.viaMessage) return;
    const { header, tensors } = this.mailbox.read('reply');
    if (header.id !== call.id) return;
    if (header.viaMessage) {
      call.viaMessage = true; // the result follows as a message
      return;
    }
    this.current = undefined;
    if (header.error !== undefined)
      call.reject(new ScoringError(500, 'INFERENCE_FAILED', `inference failed: ${header.error}`));
    else call.resolve({ outputs: tensors, runMs: header.runMs ?? 0 });
    this.next();
  }

  private onMessage(m: WorkerMessage): void {
    if (m.kind !== 'result' && m.kind !== 'error') return;
    const call = this.current;
    if (!call || call.id !== m.id) return;
    this.current = undefined;
    if (m.kind === 'result') call.resolve({ outputs: m.outputs, runMs: m.runMs });
    else call.reject(new ScoringError(500, 'INFERENCE_FAILED', `inference failed: ${m.message}`));
    this.next();
  }

  private failAll(error: Error): void {
    const calls = [...(this.current ? [this.current] : []), ...this.waiting.splice(0)];
    this.current = undefined;
    for (const c of calls) c.reject(error);
  }
}
