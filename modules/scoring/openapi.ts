import type { Schema, SwaggerOptions } from './swagger.js';

const ERROR_RESPONSE: Schema = {
  type: 'object',
  properties: {
    message: { type: 'string' },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
};

/**
 * The OpenAPI 3 document of the scoring service: the same operations as the Swagger 2 document
 * (Azure ML serves both), with schemas under components and Bearer auth at the top level.
 */
export function openapi3(o: SwaggerOptions, version: '3.0' | '3.1' = '3.0'): Schema {
  const json = (schema: Schema) => ({ 'application/json': { schema } });
  const errorReply = {
    description: 'The service failed to execute due to an error.',
    content: json({ $ref: '#/components/schemas/ErrorResponse' }),
  };
  const modelParameter =
    o.modelNames.length > 1
      ? [
          {
            name: 'model',
            in: 'query',
            required: true,
            description: 'which model scores the request',
            schema: { type: 'string', enum: o.modelNames },
          },
        ]
      : [];
  return {
    openapi: version === '3.1' ? '3.1.0' : '3.0.3',
    info: {
      title: o.serviceName,
      description: `API specification for the Azure Machine Learning service ${o.serviceName}`,
      version: o.serviceVersion,
    },
    security: [{ Bearer: [] }],
    paths: {
      '/': {
        get: {
          operationId: 'ServiceHealthCheck',
          description: 'Simple health check endpoint to ensure the service is up at any given point.',
          security: [],
          responses: {
            '200': {
              description:
                "If service is up and running, this response will be returned with the content 'Healthy'",
              content: { 'text/plain': { schema: { type: 'string' }, example: 'Healthy' } },
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
          parameters: modelParameter,
          requestBody: {
            description: 'The input payload for executing the real-time machine learning service.',
            required: true,
            content: json({ $ref: '#/components/schemas/ServiceInput' }),
          },
          responses: {
            '200': {
              description:
                'The service processed the input correctly and provided a result prediction, if applicable.',
              content: json({ $ref: '#/components/schemas/ServiceOutput' }),
            },
            default: errorReply,
          },
        },
      },
      '/swagger.json': {
        get: {
          operationId: 'GetSwaggerSpec',
          description: 'Get the Swagger specification.',
          security: [],
          parameters: [
            {
              name: 'version',
              in: 'query',
              required: false,
              description: 'OpenAPI version of the document',
              schema: { type: 'string', enum: ['2', '3'] },
            },
          ],
          responses: {
            '200': { description: 'The Swagger specification.', content: json({ type: 'object' }) },
            default: errorReply,
          },
        },
      },
    },
    components: {
      schemas: { ServiceInput: o.input, ServiceOutput: o.output, ErrorResponse: ERROR_RESPONSE },
      securitySchemes: {
        Bearer: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          description: 'For example: Bearer abc123',
        },
      },
    },
  };
}
