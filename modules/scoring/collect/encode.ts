/** A record as it travels: JSON text, its message id (kept across retries) and routing properties. */
import { randomUUID } from 'node:crypto';
import type { CollectRecord } from './record.js';

/** IoT Hub's limit for one device-to-cloud message, body and properties together. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** Room for the properties the hub adds on the way upstream (type, module, output, ids). */
const PROPERTY_ALLOWANCE_BYTES = 1024;

export interface EncodedRecord {
  messageId: string;
  body: string;
  /** Application properties: routes can select on them (`WHERE model = 'ridge'`). */
  properties: { model: string; version: string; requestId: string };
}

/**
 * The record as a message, or undefined when it is larger than `maxBytes` (IoT Hub's limit for the
 * edge hub; a file has none): it is dropped then, and counted.
 */
export function encodeRecord(
  record: CollectRecord,
  maxBytes = Number.POSITIVE_INFINITY,
): EncodedRecord | undefined {
  const body = JSON.stringify(record);
  const properties = { model: record.model, version: record.version, requestId: record.requestId };
  const size = Buffer.byteLength(body) + Buffer.byteLength(JSON.stringify(properties));
  if (size + PROPERTY_ALLOWANCE_BYTES > maxBytes) return undefined;
  return { messageId: randomUUID(), body, properties };
}
