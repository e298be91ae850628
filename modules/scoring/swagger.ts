import type { ServedModel } from './served-model.js';
import type { TensorMeta } from './tensor.js';

/** A JSON schema fragment (OpenAPI flavour). */
export type Schema = Record<string, unknown>;

export interface SwaggerOptions {
  serviceName: string;
  serviceVersion: string;
  /** Schemas of /score's body and reply; from ONNX metadata or an entry script's samples. */
  input: Schema;
  output: Schema;
  /** Several models behind /score: it then takes ?model=NAME. */
  modelNames: string[];
}

const ITEM_TYPES: Record<string, Schema> = {
  float32: { type: 'number', format: 'float' },
  float16: { type: 'number', format: 'float' },
  float64: { type: 'number', format: 'double' },
  int8: { type: 'integer', format: 'int8' },
  int16: { type: 'integer', format: 'int16' },
  int32: { type: 'integer', format: 'int32' },
  int64: { type: 'integer', format: 'int64' },
  uint8: { type: 'integer', format: 'uint8' },
  uint16: { type: 'integer', format: 'uint16' },
  uint32: { type: 'integer', format: 'uint32' },
  uint64: { type: 'integer', format: 'uint64' },
  bool: { type: 'boolean' },
  string: { type: 'string' },
};

/** Nested array schema, one level per dimension, with a one-sample example as Azure ML shows it. */
export function tensorSchema(meta: TensorMeta): Schema {
  const shape = meta.shape ?? [null];
  let schema: Schema = { ...(ITEM_TYPES[meta.type] ?? {}) };
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    schema = { type: 'array', items: schema };
  }
  return { ...schema, format: 'numpy.ndarray', example: exampleValue(meta) };
}

function exampleValue(meta: TensorMeta): unknown {
  const shape = (meta.shape ?? [1]).map((d, axis) => (axis === 0 || typeof d !== 'number' || d <= 0 ? 1 : d));
  const leaf = meta.type === 'string' ? 'text' : meta.type === 'bool' ? false : 0;
  const build = (axis: number): unknown =>
    axis === shape.length ? leaf : Array.from({ length: shape[axis] ?? 1 }, () => build(axis + 1));
  return build(0);
}

/** ServiceInput / ServiceOutput for an ONNX model, matching decodeScoreBody and encodeScoreResult. */
export function onnxScoreSchemas(model: ServedModel): { input: Schema; output: Schema } {
  const inputs = model.inputs.map((i) => [i.name, tensorSchema(i)] as const);
  const data: Schema =
    inputs.length === 1 && inputs[0]
      ? inputs[0][1]
      : { type: 'object', properties: Object.fromEntries(inputs), required: inputs.map(([n]) => n) };
  const input: Schema = {
    type: 'object',
    properties: { data },
    required: ['data'],
    example: {
      data:
        inputs.length === 1
          ? inputs[0]?.[1].example
          : Object.fromEntries(inputs.map(([n, s]) => [n, s.example])),
    },
  };
  const outputs = model.outputs
    .filter((o) => o.type !== 'non-tensor')
    .map((o) => [o.name, tensorSchema(o)] as const);
  const output: Schema =
    outputs.length === 1 && outputs[0]
      ? outputs[0][1]
      : { type: 'object', properties: Object.fromEntries(outputs), required: outputs.map(([n]) => n) };
  return { input, output };
}

const ERROR_RESPONSE: Schema = {
  type: 'object',
  properties: {
    message: { type: 'string' },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
};

/** The Swagger 2.0 document in the shape azureml-inference-server-http serves. */
export function swagger2(o: SwaggerOptions): Schema {
  const modelParameter =
    o.modelNames.length > 1
      ? [
          {
            name: 'model',
            in: 'query',
            required: true,
            type: 'string',
            enum: o.modelNames,
            description: 'which model scores the request',
          },
        ]
      : [];
  const errorReply = {
    description: 'The service failed to execute due to an error.',
    schema: { $ref: '#/definitions/ErrorResponse' },
  };
  return {
    swagger: '2.0',
    info: {
      title: o.serviceName,
      description: `API specification for the Azure Machine Learning service ${o.serviceName}`,
      version: o.serviceVersion,
    },
    schemes: ['https'],
    consumes: ['application/json'],
    produces: ['application/json'],
    securityDefinitions: {
      Bearer: {
        type: 'apiKey',
        name: 'Authorization',
        in: 'header',
        description: 'For example: Bearer abc123',
      },
    },
    paths: {
      '/': {
        get: {
          operationId: 'ServiceHealthCheck',
          description: 'Simple health check endpoint to ensure the service is up at any given point.',
          responses: {
            '200': {
              description:
                "If service is up and running, this response will be returned with the content 'Healthy'",
              schema: { type: 'string' },
              examples: { 'application/json': 'Healthy' },
            },
            default: errorReply,
          },
        },
      },
      '/score': {
        post: {
          operationId: 'RunMLService',
          description: "Run web service's model and get the prediction output",
          security: [{ Bearer: [] }],
          parameters: [
            {
              name: 'serviceInputPayload',
              in: 'body',
              description: 'The input payload for executing the real-time machine learning service.',
              schema: { $ref: '#/definitions/ServiceInput' },
            },
            ...modelParameter,
          ],
          responses: {
            '200': {
              description:
                'The service processed the input correctly and provided a result prediction, if applicable.',
              schema: { $ref: '#/definitions/ServiceOutput' },
            },
            default: errorReply,
          },
        },
      },
      '/swagger.json': {
        get: {
          operationId: 'GetSwaggerSpec',
          description: 'Get the Swagger specification.',
          parameters: [
            {
              name: 'version',
              in: 'query',
              required: false,
              type: 'string',
              enum: ['2', '3'],
              description: 'OpenAPI version of the document',
            },
          ],
          responses: {
            '200': { description: 'The Swagger specification.', schema: { type: 'string' } },
            default: errorReply,
          },
        },
      },
    },
    definitions: { ServiceInput: o.input, ServiceOutput: o.output, ErrorResponse: ERROR_RESPONSE },
  };
}
