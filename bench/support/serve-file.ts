/**
 * The hub double in its own process for benches, so the server's TLS work does not share the measured
 * client's thread: serves one file at /big/<name> on hub.test, prints `{"port","ca"}` and waits.
 *
 *   node bench/support/serve-file.ts FILE
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { startHubDouble } from '../../test/doubles/hub/hub-double.ts';

const file = process.argv[2];
if (file === undefined) throw new Error('usage: serve-file.ts FILE');
const { size } = await stat(file);
const d = await startHubDouble();
d.route('hub.test', `/big/${path.basename(file)}`, (_req, res) => {
  res.writeHead(200, { 'content-length': String(size), etag: '"bench"', 'content-type': 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
process.stdout.write(`${JSON.stringify({ port: d.port, ca: d.ca.toString('utf8') })}\n`);
process.on('SIGTERM', () => void d.close().then(() => process.exit(0)));
