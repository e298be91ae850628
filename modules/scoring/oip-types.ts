import type { ElementType } from './tensor.js';

/** Open Inference Protocol (KServe v2) datatypes and ONNX Runtime's element types. */
export const OIP_TO_ELEMENT: Readonly<Record<string, ElementType>> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

export const ELEMENT_TO_OIP: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(OIP_TO_ELEMENT).map(([oip, element]) => [element, oip]),
);

export function oipDatatype(type: string): string {
  return ELEMENT_TO_OIP[type] ?? type.toUpperCase();
}
