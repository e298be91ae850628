import { allocate, type ElementType, type TensorData } from '../tensor.js';

/**
 * A shared-memory mailbox between the HTTP thread and one session worker. A request or a reply is
 * written into a SharedArrayBuffer and announced by bumping a sequence number (Atomics.store +
 * Atomics.notify); the worker waits with Atomics.wait, the HTTP thread with Atomics.waitAsync.
 * Compared with postMessage this skips the structured clone, the MessagePort queue and, when the
 * other side is still polling, the thread wake-up: on the test machines a round trip took about
 * half the CPU and half the latency.
 *
 * Layout: 64 bytes of Int32 control words, then the request area, then the reply area.
 * A message is: u32 header length, the header as JSON, then tensor bytes, each 8-byte aligned.
 * Strings travel in the header. A message that does not fit goes by postMessage instead (and the
 * HTTP thread offers a larger mailbox for the next time).
 */
export const CTL = {
  /** Sequence of the last request written by the HTTP thread. */
  request: 0,
  /** Sequence of the last reply written by the worker. */
  reply: 1,
  /** Set by the HTTP thread when a postMessage is waiting (a request too large, a new mailbox). */
  message: 2,
  /** 1 while the worker sleeps until notified; while it polls, storing the request is enough. */
  sleeping: 3,
} as const;

const CONTROL_BYTES = 64;

export interface TensorHeader {
  name: string;
  type: ElementType;
  dims: number[];
  /** Byte offset from the start of the message's tensor data (absent for strings). */
  offset?: number;
  length?: number;
  values?: string[];
}

export interface MessageHeader {
  id: number;
  tensors: TensorHeader[];
  outputs?: string[];
  runMs?: number;
  error?: string;
  /** The reply went by postMessage (it did not fit). */
  viaMessage?: boolean;
}

export class Mailbox {
  readonly control: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly buffer: Buffer;
  private readonly half: number;

  constructor(readonly shared: SharedArrayBuffer) {
    this.control = new Int32Array(shared, 0, CONTROL_BYTES / 4);
    this.bytes = new Uint8Array(shared);
    this.buffer = Buffer.from(shared);
    this.half = Math.floor((shared.byteLength - CONTROL_BYTES) / 2 / 8) * 8;
  }

  static create(bytes: number): Mailbox {
    return new Mailbox(new SharedArrayBuffer(CONTROL_BYTES + Math.ceil(bytes / 16) * 16));
  }

  get capacity(): number {
    return this.half;
  }

  /** Writes a message into the request (or reply) area; false when it does not fit. */
  write(
    area: 'request' | 'reply',
    id: number,
    tensors: Record<string, TensorData>,
    extra: Partial<MessageHeader> = {},
  ): boolean {
    const base = area === 'request' ? CONTROL_BYTES : CONTROL_BYTES + this.half;
    const headers: TensorHeader[] = [];
    let offset = 0;
    for (const name in tensors) {
      const t = tensors[name] as TensorData;
      if (Array.isArray(t.data))
        headers.push({ name, type: t.type, dims: t.dims, values: t.data as string[] });
      else {
        headers.push({ name, type: t.type, dims: t.dims, offset, length: t.data.byteLength });
        offset += Math.ceil(t.data.byteLength / 8) * 8;
      }
    }
    const header = JSON.stringify({ id, tensors: headers, ...extra });
    // Worst case 3 bytes per UTF-16 unit; checked exactly below.
    const headerRoom = header.length * 3;
    if (4 + headerRoom + 8 + offset > this.half) {
      const exact = Buffer.byteLength(header);
      if (4 + exact + 8 + offset > this.half) return false;
    }
    const written = this.buffer.write(header, base + 4, 'utf8');
    this.buffer.writeUInt32LE(written, base);
    const data = base + align8(4 + written);
    for (const h of headers) {
      if (h.offset === undefined) continue;
      const t = tensors[h.name] as TensorData;
      const view = t.data as Uint8Array;
      this.bytes.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), data + h.offset);
    }
    return true;
  }

  /** Reads a message, copying its tensors out of shared memory (the area is reused next time). */
  read(area: 'request' | 'reply'): { header: MessageHeader; tensors: Record<string, TensorData> } {
    const base = area === 'request' ? CONTROL_BYTES : CONTROL_BYTES + this.half;
    const length = this.buffer.readUInt32LE(base);
    const header = JSON.parse(this.buffer.toString('utf8', base + 4, base + 4 + length)) as MessageHeader;
    const data = base + align8(4 + length);
    const tensors: Record<string, TensorData> = {};
    for (const h of header.tensors) {
      if (h.values) {
        tensors[h.name] = { type: h.type, dims: h.dims, data: h.values };
        continue;
      }
      const count = h.dims.reduce((a, b) => a * b, 1);
      const out = allocate(h.type, count) as Uint8Array;
      new Uint8Array(out.buffer).set(
        this.bytes.subarray(data + (h.offset ?? 0), data + (h.offset ?? 0) + (h.length ?? 0)),
      );
      tensors[h.name] = { type: h.type, dims: h.dims, data: out };
    }
    return { header, tensors };
  }
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Bytes a message needs (for sizing a larger mailbox). */
export function messageBytes(tensors: Record<string, TensorData>): number {
  let n = 4096; // header
  for (const name in tensors) {
    const t = tensors[name] as TensorData;
    n += Array.isArray(t.data)
      ? (t.data as string[]).reduce((a, s) => a + s.length * 3 + 8, 0)
      : align8(t.data.byteLength);
  }
  return n;
}

type WaitAsyncResult =
  | { async: false; value: 'not-equal' | 'timed-out' }
  | { async: true; value: Promise<'ok' | 'timed-out'> };

/** Atomics.waitAsync (in Node 20; the ES2023 lib this project compiles against does not declare it). */
export const waitAsync = (
  Atomics as unknown as { waitAsync: (a: Int32Array, i: number, v: number) => WaitAsyncResult }
).waitAsync;
