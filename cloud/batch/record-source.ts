import { open } from 'node:fs/promises';
import { UsageError } from '../../common/errors.js';
import { BatchBuilder, type BuiltBatch, type RecordRef, type StoragePool } from './batch-builder.js';
import { CsvRecordDecoder, isCsvHeader } from './csv-record.js';
import type { InputFile, InputSet } from './input-files.js';
import type { InputLayout, InputSlot } from './input-layout.js';
import { JsonlRecordDecoder } from './jsonl-record.js';
import { DEFAULT_CHUNK_BYTES, isBlank, readLines } from './line-reader.js';
import { NPY_PREAMBLE_BYTES, type NpyHeader, NpyRowWriter, npyRows, parseNpyHeader } from './npy.js';

/** Where reading stands: the file being read, the byte offset to read from, the lines read in it. */
export interface Position {
  file: number;
  offset: number;
  line: number;
}

export const START: Position = { file: 0, offset: 0, line: 0 };

export interface RejectRef {
  file?: string;
  line: number;
  reason: string;
}

/**
 * A consistent cut of the input: every record before `end` is in `batch` (to score) or in `rejects`.
 * Units are what gets checkpointed, so a restart resumes exactly at a unit boundary.
 */
export interface Unit {
  batch: BuiltBatch | undefined;
  rejects: RejectRef[];
  end: Position;
  /** Input bytes consumed up to `end`, over all files (for progress). */
  bytesDone: number;
}

/** A run of bad records is cut into units too, so a file of rejects still checkpoints as it goes. */
const MAX_REJECTS_PER_UNIT = 4096;

class UnitAssembler {
  readonly builder: BatchBuilder;
  private rejects: RejectRef[] = [];
  /** Units cut while reading the current chunk, handed out after it. */
  ready: Unit[] = [];
  /** Bytes of the files before the one being read. */
  bytesBefore = 0;
  position: Position;

  constructor(layout: InputLayout, from: Position, pool: StoragePool | undefined) {
    this.builder = new BatchBuilder(layout, pool);
    this.position = from;
  }

  reject(ref: RecordRef, reason: string): void {
    this.rejects.push(
      ref.file === undefined ? { line: ref.line, reason } : { file: ref.file, line: ref.line, reason },
    );
  }

  /** Called after each record (or skipped line): cuts a unit when the batch is full. */
  advance(end: Position): void {
    this.position = end;
    if (this.builder.full || this.rejects.length >= MAX_REJECTS_PER_UNIT) this.cut();
  }

  /** Cuts whatever is pending (at the end of the input). */
  finish(): void {
    if (this.builder.rows > 0 || this.rejects.length > 0) this.cut();
  }

  private cut(): void {
    const batch = this.builder.rows > 0 ? this.builder.take() : undefined;
    const end = this.position;
    this.ready.push({ batch, rejects: this.rejects, end, bytesDone: this.bytesBefore + end.offset });
    this.rejects = [];
  }
}

/**
 * Reads records from `from` to the end of the input, decoding them into units of `layout.batchSize`
 * good records plus the rejects met on the way. Never holds more than a unit (and a read chunk).
 */
export async function* readUnits(
  set: InputSet,
  layout: InputLayout,
  from: Position,
  pool?: StoragePool,
): AsyncGenerator<Unit> {
  const assembler = new UnitAssembler(layout, from, pool);
  assembler.bytesBefore = set.files.slice(0, from.file).reduce((n, f) => n + f.size, 0);
  for (let index = from.file; index < set.files.length; index++) {
    const file = set.files[index] as InputFile;
    const start = index === from.file ? from : { file: index, offset: 0, line: 0 };
    const label = set.folder ? file.name : undefined;
    const chunks =
      set.format === 'npy'
        ? readNpy(file, start, layout, assembler, label)
        : readText(file, start, set.format, layout, assembler, label);
    for await (const _ of chunks) {
      yield* assembler.ready;
      assembler.ready = [];
    }
    assembler.bytesBefore += file.size;
    // The end of a file is a position of its own, so a resume there starts with the next file.
    assembler.position = { file: index + 1, offset: 0, line: 0 };
  }
  assembler.finish();
  yield* assembler.ready;
}

/** Decodes one text file's records into the assembler, yielding after each chunk read. */
async function* readText(
  file: InputFile,
  from: Position,
  format: 'jsonl' | 'csv',
  layout: InputLayout,
  assembler: UnitAssembler,
  label: string | undefined,
): AsyncGenerator<void> {
  const jsonl = format === 'jsonl' ? new JsonlRecordDecoder(layout) : undefined;
  const csv = format === 'csv' ? new CsvRecordDecoder(layout) : undefined;
  const builder = assembler.builder;
  let line = from.line;
  for (const chunk of readLines(file.path, from.offset, DEFAULT_CHUNK_BYTES)) {
    for (const text of chunk) {
      line++;
      const end = { file: from.file, offset: text.next, line };
      let start = text.start;
      // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first record.
      if (
        line === 1 &&
        text.bytes[start] === 0xef &&
        text.bytes[start + 1] === 0xbb &&
        text.bytes[start + 2] === 0xbf
      )
        start += 3;
      if (isBlank(text.bytes, start, text.end)) {
        assembler.advance(end);
        continue;
      }
      const ref: RecordRef = label === undefined ? { line } : { file: label, line };
      let reason: string | undefined;
      if (jsonl) reason = jsonl.decode(text.bytes, start, text.end, builder, ref);
      else if (csv) {
        const row = text.bytes.toString('utf8', start, text.end);
        if (line === 1 && isCsvHeader(row)) {
          assembler.advance(end);
          continue;
        }
        reason = csv.decode(row, builder, ref);
      }
      if (reason !== undefined) assembler.reject(ref, reason);
      assembler.advance(end);
    }
    yield;
  }
}

/** Reads an npy file's rows (one record each) into the assembler, yielding after each chunk. */
async function* readNpy(
  file: InputFile,
  from: Position,
  layout: InputLayout,
  assembler: UnitAssembler,
  label: string | undefined,
): AsyncGenerator<void> {
  const slot = layout.inputs[0] as InputSlot;
  if (layout.inputs.length !== 1) {
    throw new UsageError(
      'NPY_MULTI_INPUT',
      `.npy input feeds single-input models; this model takes ${layout.inputs.map((i) => `'${i.name}'`).join(', ')}`,
      { hint: 'use JSON lines with one object per record: {"a": […], "b": […]}' },
    );
  }
  const handle = await open(file.path, 'r');
  try {
    const header = await readNpyHeader(handle, file);
    const { rows, rowSize } = npyRows(header);
    if (rowSize !== slot.sampleSize) {
      throw new UsageError(
        'NPY_SHAPE_MISMATCH',
        `${file.name} has rows of ${rowSize} values (shape (${header.shape.join(', ')})) but input '${slot.name}' takes ${slot.sampleSize} per record [${slot.sampleDims.join(', ')}]`,
      );
    }
    const rowBytes = rowSize * header.itemSize;
    const expectedSize = header.dataOffset + rows * rowBytes;
    if (file.size < expectedSize) {
      throw new UsageError(
        'NPY_TRUNCATED',
        `${file.name} is truncated: its header promises ${rows} rows (${expectedSize} bytes) but it has ${file.size} bytes`,
      );
    }
    const writer = new NpyRowWriter(header, slot, file.name);
    const builder = assembler.builder;
    const rowsPerChunk = Math.max(1, Math.floor(DEFAULT_CHUNK_BYTES / Math.max(1, rowBytes)));
    // One buffer for every chunk: rows are copied into the batch before the next read.
    const buffer = Buffer.allocUnsafe(Math.min(rowsPerChunk, Math.max(1, rows)) * rowBytes);
    let row = from.line;
    while (row < rows) {
      const count = Math.min(rowsPerChunk, rows - row);
      await handle.read(buffer, 0, count * rowBytes, header.dataOffset + row * rowBytes);
      for (let r = 0; r < count; r++) {
        row++;
        const ref: RecordRef = label === undefined ? { line: row } : { file: label, line: row };
        const reason = writer.write(buffer, r * rowBytes, builder.storage(0), builder.rowOffset(0));
        if (reason === undefined) builder.commit(ref);
        else assembler.reject(ref, reason);
        assembler.advance({ file: from.file, offset: header.dataOffset + row * rowBytes, line: row });
      }
      yield;
    }
  } finally {
    await handle.close();
  }
}

async function readNpyHeader(
  handle: import('node:fs/promises').FileHandle,
  file: InputFile,
): Promise<NpyHeader> {
  let length = Math.max(NPY_PREAMBLE_BYTES, 256);
  for (;;) {
    const buffer = Buffer.alloc(Math.min(length, file.size));
    await handle.read(buffer, 0, buffer.length, 0);
    const parsed = parseNpyHeader(buffer, file.name);
    if (!('needBytes' in parsed)) return parsed;
    if (parsed.needBytes > file.size) parseNpyHeader(Buffer.alloc(0), file.name); // throws: truncated
    length = parsed.needBytes;
  }
}
