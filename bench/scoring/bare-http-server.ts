/**
 * Baseline (a): a bare node:http server that reads the request body, parses it as JSON and
 * replies with a JSON body of the same size as /score's reply (REPLY, re-serialized per request).
 */
import { createServer } from 'node:http';

const template: unknown = JSON.parse(process.env.REPLY ?? '[[0]]');
const server = createServer((req, res) => {
  if (req.method === 'GET') return void res.end('ok');
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: unknown };
    if (!parsed.data) res.writeHead(400).end();
    const body = JSON.stringify(template);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
