import { UsageError } from '../../common/errors.js';
import { describeShape, type ElementType, isElementType } from '../../modules/scoring/tensor.js';
import type { TensorInfo } from '../registry/onnx-metadata.js';

/** One model input as batch scoring fills it: a batch dimension, then fixed per-record dims. */
export interface InputSlot {
  name: string;
  type: ElementType;
  /** The model's declared shape (batch dimension first). */
  shape: (number | string | null)[];
  /** Dims of one record (the declared shape without its batch dimension). */
  sampleDims: number[];
  /** Values in one record. */
  sampleSize: number;
}

export interface InputLayout {
  inputs: InputSlot[];
  /** Output names in model order; an output row per record is written for each. */
  outputs: string[];
  /** Records per session.run. */
  batchSize: number;
  /**
   * Set when the model's batch dimension is a fixed number: every run then carries exactly that many
   * rows, and a last partial batch is padded with zeros whose outputs are dropped.
   */
  fixedBatch: number | undefined;
  /** Values per record over all inputs (a CSV row's column count). */
  recordWidth: number;
}

/**
 * Checks that a model can be scored record by record and fixes the batch size. Every input and output
 * needs a leading batch dimension; input dimensions after it must be fixed sizes, since records are
 * stacked into one tensor. A fixed batch dimension overrides the requested batch size (and says so).
 */
export function layoutFor(
  model: { name: string; inputs: readonly TensorInfo[]; outputs: readonly TensorInfo[] },
  requestedBatchSize: number,
): { layout: InputLayout; warnings: string[] } {
  const warnings: string[] = [];
  const fixedSizes = new Set<number>();
  const inputs = model.inputs.map((info): InputSlot => {
    const shape = info.shape;
    if (!isElementType(info.elementType)) {
      throw new UsageError(
        'MODEL_INPUT_UNSUPPORTED',
        `input '${info.name}' of model ${model.name} has type ${info.elementType}, which batch records cannot carry`,
      );
    }
    if (shape === null || shape.length === 0) {
      throw new UsageError(
        'MODEL_INPUT_UNBATCHED',
        `input '${info.name}' of model ${model.name} has ${shape === null ? 'no declared shape' : 'no dimensions'}; batch scoring needs a shape [batch, …]`,
      );
    }
    const [batchDim, ...rest] = shape;
    if (typeof batchDim === 'number' && batchDim > 0) fixedSizes.add(batchDim);
    const sampleDims = rest.map((d, i) => {
      if (typeof d !== 'number' || d <= 0) {
        throw new UsageError(
          'MODEL_INPUT_DYNAMIC',
          `input '${info.name}' ${describeShape(shape)} has a dynamic dimension ${i + 1}; batch scoring stacks records into one tensor, so every dimension after the batch dimension must be a fixed size`,
          { hint: 'export the model with fixed feature dimensions, or score it through `modelport serve`' },
        );
      }
      return d;
    });
    return {
      name: info.name,
      type: info.elementType,
      shape,
      sampleDims,
      sampleSize: sampleDims.reduce((a, b) => a * b, 1),
    };
  });
  if (inputs.length === 0) {
    throw new UsageError('MODEL_NO_INPUTS', `model ${model.name} has no inputs to feed records into`);
  }
  for (const out of model.outputs) {
    if (out.shape !== null && out.shape.length === 0) {
      throw new UsageError(
        'MODEL_OUTPUT_UNBATCHED',
        `output '${out.name}' of model ${model.name} is a scalar; batch scoring needs one output row per record`,
      );
    }
  }
  if (fixedSizes.size > 1) {
    throw new UsageError(
      'MODEL_BATCH_INCONSISTENT',
      `the inputs of model ${model.name} declare different fixed batch sizes (${[...fixedSizes].join(', ')})`,
    );
  }
  const [fixedBatch] = [...fixedSizes];
  let batchSize = requestedBatchSize;
  if (fixedBatch !== undefined && fixedBatch !== requestedBatchSize) {
    warnings.push(
      `model ${model.name} has a fixed batch size of ${fixedBatch}: scoring ${fixedBatch} record(s) per run instead of ${requestedBatchSize}`,
    );
    batchSize = fixedBatch;
  }
  return {
    layout: {
      inputs,
      outputs: model.outputs.map((o) => o.name),
      batchSize,
      fixedBatch,
      recordWidth: inputs.reduce((n, i) => n + i.sampleSize, 0),
    },
    warnings,
  };
}
