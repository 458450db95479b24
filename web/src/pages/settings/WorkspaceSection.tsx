import { ErrorBanner } from '../../components/ErrorBanner.tsx';
import { Loading } from '../../components/Loading.tsx';
import { Section } from '../../components/Section.tsx';
import { formatBytes } from '../../format.ts';
import { useJson } from '../../hooks/useJson.ts';
import type { WorkspaceInfo } from '../../types.ts';

export function WorkspaceSection() {
  const { data, error, reload } = useJson<WorkspaceInfo>('/api/workspace');
  return (
    <Section id="workspace" title="Workspace" description="Where this studio keeps its data, and what it runs on.">
      <ErrorBanner error={error} onRetry={reload} />
      {data ? (
        <dl className="facts" data-testid="workspace-info">
          <dt>Home</dt>
          <dd>
            <code>{data.home}</code>
          </dd>
          <dt>Database</dt>
          <dd>
            <code>{data.dbFile}</code>
          </dd>
          <dt>Free disk</dt>
          <dd>{formatBytes(data.freeDiskBytes)}</dd>
          <dt>Studio URL</dt>
          <dd>
            <code>{data.serverUrl}</code>
          </dd>
          <dt>Network</dt>
          <dd>
            {data.exposed ? (
              <span className="badge badge--warn">exposed beyond this machine</span>
            ) : (
              <span className="badge badge--ok">loopback only</span>
            )}
          </dd>
          <dt>lorasmith</dt>
          <dd>{data.version}</dd>
          <dt>Node.js</dt>
          <dd>{data.node}</dd>
        </dl>
      ) : error ? null : (
        <Loading />
      )}
    </Section>
  );
}
