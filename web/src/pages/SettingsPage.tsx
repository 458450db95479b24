import { ApiTokensSection } from './settings/ApiTokensSection.tsx';
import { EnginesSection } from './settings/EnginesSection.tsx';
import { HubTokensSection } from './settings/HubTokensSection.tsx';
import { NotificationsSection } from './settings/NotificationsSection.tsx';
import { SecurityEventsSection } from './settings/SecurityEventsSection.tsx';
import { SelfTestSection } from './settings/SelfTestSection.tsx';
import { SessionsSection } from './settings/SessionsSection.tsx';
import { WorkspaceSection } from './settings/WorkspaceSection.tsx';

export function SettingsPage() {
  return (
    <div className="page" data-testid="page-settings">
      <h1 className="page__title" tabIndex={-1}>
        Settings
      </h1>
      <div className="page__grid">
        <WorkspaceSection />
        <EnginesSection />
        <HubTokensSection />
        <NotificationsSection />
        <ApiTokensSection />
        <SessionsSection />
        <SelfTestSection />
        <SecurityEventsSection />
      </div>
    </div>
  );
}
