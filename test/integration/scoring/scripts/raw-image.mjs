// Azure ML's @rawhttp: the whole request in, a response out. Reads a PNG's size from its IHDR chunk.
export const rawHttp = true;

export function init() {}

export function run(request) {
  if (request.method === 'GET') {
    return { status: 200, headers: { 'content-type': 'text/plain' }, body: `query ${request.query.q ?? ''}` };
  }
  if (request.method === 'OPTIONS') {
    return {
      status: 204,
      headers: {
        'access-control-allow-origin': 'https://script.example',
        'access-control-allow-methods': 'POST',
      },
    };
  }
  const body = request.body;
  const png = body.length >= 24 && body.readUInt32BE(0) === 0x89504e47;
  if (!png) return { status: 400, body: { error: 'not a PNG' } };
  return {
    status: 200,
    headers: {
      'access-control-allow-origin': 'https://script.example',
      'x-image-bytes': String(body.length),
    },
    body: {
      width: body.readUInt32BE(16),
      height: body.readUInt32BE(20),
      contentType: request.headers['content-type'],
    },
  };
}
