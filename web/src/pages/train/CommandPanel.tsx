import { CopyButton } from '../../components/CopyButton.tsx';
import type { DryRun } from './types.ts';

/** A POSIX shell word: plain when safe, else single-quoted. */
function shellWord(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(argv: string[]): string {
  // One argument per line after the program, continued with backslashes: readable, and still pastes into a shell.
  const words = argv.map(shellWord);
  const lines: string[] = [];
  let lastIsFlag = false;
  for (const word of words) {
    const index = lines.length - 1;
    if (index >= 0 && lastIsFlag && !word.startsWith('-')) {
      lines[index] = `${lines[index]} ${word}`;
      lastIsFlag = false;
    } else {
      lines.push(lines.length === 0 ? word : `  ${word}`);
      lastIsFlag = word.startsWith('-') && lines.length > 1;
    }
  }
  return lines.join(' \\\n');
}

/** The exact engine command, its environment and every file the run would write, for review. */
export function CommandPanel({ dryRun }: { dryRun: DryRun }) {
  const command = commandLine(dryRun.argv);
  const env = Object.entries(dryRun.env);
  const files = Object.entries(dryRun.files);
  return (
    <div className="command" id="train-command">
      <dl className="facts">
        <dt>Engine</dt>
        <dd>{dryRun.engine}</dd>
        <dt>Working folder</dt>
        <dd>
          <code>{dryRun.cwd}</code>
        </dd>
      </dl>
      <div className="command__block">
        <div className="command__head">
          <h3 className="subsection__title">Command</h3>
          <CopyButton value={command} what="command line" testId="copy-command" />
        </div>
        <pre className="code-block" data-testid="command-argv">
          {command}
        </pre>
      </div>
      <div className="command__block">
        <h3 className="subsection__title">Environment</h3>
        {env.length === 0 ? (
          <p className="muted">No variables set.</p>
        ) : (
          <div className="table-scroll">
            <table className="table table--env" data-testid="command-env">
              <thead>
                <tr>
                  <th scope="col">Variable</th>
                  <th scope="col">Value</th>
                </tr>
              </thead>
              <tbody>
                {env.map(([name, value]) => (
                  <tr key={name}>
                    <td className="mono">{name}</td>
                    <td className="mono command__env-value">{value}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
      <div className="command__block" data-testid="command-files">
        <h3 className="subsection__title">Files</h3>
        {files.length === 0 ? <p className="muted">The run writes no config files.</p> : null}
        {files.map(([name, content]) => (
          <div key={name} className="command__file" data-testid={`file-${name}`}>
            <div className="command__head">
              <code className="command__file-name">{name}</code>
              <CopyButton value={content} what={name} />
            </div>
            <pre className="code-block">{content}</pre>
          </div>
        ))}
      </div>
      {dryRun.sandbox !== undefined && dryRun.sandbox !== null ? (
        <details className="command__block">
          <summary className="subsection__title">Sandbox</summary>
          <pre className="code-block">{JSON.stringify(dryRun.sandbox, null, 2)}</pre>
        </details>
      ) : null}
    </div>
  );
}
