import { LorasmithError } from '../../core/errors.ts';
import { startStudio } from '../../server/serve.ts';
import { usageError, writeJson, writeLine } from '../io.ts';
import { flag, option, parseVerbArgs, type Verb } from '../verb.ts';

export const serveVerb: Verb = {
  name: 'serve',
  help: `lorasmith serve [--port P] [--host H --expose --tls-cert F --tls-key F --public-name N ...] [--json]

Starts the studio on 127.0.0.1 (default port from settings, 7433) and prints a one-time pairing URL:
open it in a browser to sign in. One studio per workspace (LORASMITH_HOME).

  --port P           listen on port P (0: any free port)
  --host H           bind address; anything but loopback needs --expose
  --expose           allow a non-loopback bind; requires --tls-cert, --tls-key and --public-name
  --tls-cert F       TLS certificate (PEM)
  --tls-key F        TLS private key (PEM)
  --public-name N    host name browsers use to reach the studio (repeatable)
  --json             print {"url", "pairingUrl", "pid"} as one JSON line

Remote use without --expose: forward the port over SSH (ssh -L 7433:127.0.0.1:7433 host), see README.`,
  async run(args, io) {
    const { values, positionals } = parseVerbArgs('serve', args, {
      port: { type: 'string' },
      host: { type: 'string' },
      expose: { type: 'boolean', default: false },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'public-name': { type: 'string', multiple: true },
    });
    if (positionals.length > 0) throw usageError(`Unexpected argument ${JSON.stringify(positionals[0])}.`, 'See `lorasmith serve --help`.');
    const portText = option(values, 'port');
    const port = portText === undefined ? undefined : Number(portText);
    if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw usageError(`--port must be 0–65535, not ${portText}.`, 'Pick another port.');
    const json = flag(values, 'json');
    const host = option(values, 'host');
    const tlsCert = option(values, 'tls-cert');
    const tlsKey = option(values, 'tls-key');
    const publicNames = Array.isArray(values['public-name']) ? values['public-name'].filter((v): v is string => typeof v === 'string') : [];
    const running = await startStudio({
      ...(port === undefined ? {} : { port }),
      ...(host === undefined ? {} : { host }),
      expose: flag(values, 'expose'),
      ...(tlsCert === undefined ? {} : { tlsCert }),
      ...(tlsKey === undefined ? {} : { tlsKey }),
      publicNames,
    });
    if (json) writeJson(io, { url: running.url, pairingUrl: running.pairingUrl, pid: process.pid });
    else {
      writeLine(io, `lorasmith studio running at ${running.url}`);
      writeLine(io, `Open this link to pair your browser (one use, expires in a few minutes):`);
      writeLine(io, `  ${running.pairingUrl}`);
      writeLine(io, 'Another browser later: `lorasmith pair`. Stop: Ctrl-C.');
    }
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await running.close().catch((error: unknown) => {
      throw new LorasmithError({ code: 'shutdown-failed', message: `The studio did not shut down cleanly: ${String(error)}`, hint: 'Check the workspace with `lorasmith doctor`.' });
    });
    if (!json) writeLine(io, 'studio stopped');
    return 0;
  },
};
