import { readFile } from 'node:fs/promises';
import { UsageError } from '../../common/errors.js';
import { readOnnxMetadata } from './onnx-metadata.js';
import type { OnnxSummary } from './types.js';

interface Candidate {
  absolute: string;
  path: string;
}

/**
 * Finds the ONNX graph of a model. A single file is checked by content whatever its name; in a
 * folder the `.onnx` files are candidates and `model.onnx` wins when there are several.
 * With `--framework onnx` a model without a valid graph is refused; with another framework none is read.
 */
export async function detectOnnx(
  files: readonly Candidate[],
  framework: string | undefined,
): Promise<OnnxSummary | null> {
  if (framework !== undefined && framework !== 'onnx') return null;
  const candidates = files.length === 1 ? files : files.filter((f) => f.path.toLowerCase().endsWith('.onnx'));
  const chosen =
    candidates.length <= 1
      ? candidates[0]
      : (candidates.find((f) => f.path.toLowerCase().endsWith('/model.onnx')) ?? candidates[0]);
  if (!chosen) {
    if (framework === 'onnx') {
      throw new UsageError('ONNX_NOT_FOUND', 'the model folder holds no .onnx file but --framework is onnx');
    }
    return null;
  }
  try {
    const meta = readOnnxMetadata(await readFile(chosen.absolute), chosen.path);
    return {
      file: chosen.path,
      irVersion: meta.irVersion,
      opsets: meta.opsets,
      producerName: meta.producerName,
      producerVersion: meta.producerVersion,
      inputs: meta.inputs,
      outputs: meta.outputs,
    };
  } catch (e) {
    // Content that merely looks like something else is a custom model unless onnx was asked for
    // or the file claims to be ONNX by its name.
    if (framework === 'onnx' || chosen.path.toLowerCase().endsWith('.onnx')) throw e;
    return null;
  }
}
