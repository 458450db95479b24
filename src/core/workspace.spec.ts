import { mkdir, mkdtemp, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from './db/migrations.ts';
import { openDatabase } from './db/open-database.ts';
import { SecretStore } from './secret-store.ts';
import { defaultSettings, SettingsStore, settingsPatchSchema } from './settings.ts';
import { openWorkspace, workspaceHome, WORKSPACE_AREAS } from './workspace.ts';

const mode = async (file: string) => ((await stat(file)).mode & 0o777).toString(8);

describe('workspace', () => {
  it('LORASMITH_HOME wins, must be absolute, and the default is ~/.lorasmith', () => {
    expect(workspaceHome({ LORASMITH_HOME: '/data/ls' }, '/home/u')).toBe('/data/ls');
    expect(workspaceHome({}, '/home/u')).toBe('/home/u/.lorasmith');
    expect(() => workspaceHome({ LORASMITH_HOME: 'relative/dir' }, '/home/u')).toThrow('absolute');
  });

  it('creates the DESIGN.md §3 layout, every folder 0700, and tightens a loose existing home', async () => {
    const home = path.join(await mkdtemp(path.join(os.tmpdir(), 'lorasmith-ws-')), 'home');
    await mkdir(home, { mode: 0o755 });
    const workspace = await openWorkspace({ home });
    expect(await mode(home)).toBe('700');
    for (const area of WORKSPACE_AREAS) expect(await mode(path.join(home, area))).toBe('700');
    await expect(workspace.resolve('datasets', '../secrets.json')).rejects.toThrow('refused');
    expect(await workspace.resolve('datasets', 'cats/main/1.png')).toBe(path.join(home, 'datasets', 'cats', 'main', '1.png'));
  });

  it('the database runs in WAL mode with the migrations applied, file 0600', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'lorasmith-db-'));
    const database = openDatabase(path.join(home, 'lorasmith.db'));
    expect(database.raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(database.raw.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const tables = database.raw.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>;
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['settings', 'sessions', 'tasks', 'uploads', 'security_events', 'api_tokens', 'pairing_codes', 'models']));
    expect(await mode(path.join(home, 'lorasmith.db'))).toBe('600');
    await database.close();
    // Reopening applies nothing twice.
    const again = openDatabase(path.join(home, 'lorasmith.db'));
    expect(again.raw.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    await again.close();
  });

  it('settings have defaults, persist per workspace and refuse out-of-range values', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'lorasmith-set-'));
    const database = openDatabase(path.join(home, 'lorasmith.db'));
    const settings = new SettingsStore(database.db);
    expect(await settings.get()).toEqual(defaultSettings());
    expect((await settings.get()).uploads.imageMaxBytes).toBe(200 * 1024 * 1024);
    await settings.update({ server: { port: 9000 } });
    expect((await new SettingsStore(database.db).get()).server).toMatchObject({ port: 9000, sessionTtlHours: 720 });
    await expect(settings.update({ server: { port: 70000 } })).rejects.toThrow();
    await expect(settings.update({ server: { nope: 1 } as never })).rejects.toThrow();
    // A patch of one key keeps the section's other stored keys (a parsed patch must not fill in defaults).
    await settings.update({ hub: { urlHosts: ['models.example.org'] } });
    await settings.update(settingsPatchSchema.parse({ hub: { civitaiRed: true } }));
    expect((await settings.get()).hub).toMatchObject({ urlHosts: ['models.example.org'], civitaiRed: true });
    await database.close();
  });

  it('the secret store writes 0600, masks values and prefers the store over the environment', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'lorasmith-sec-'));
    const store = new SecretStore(path.join(home, 'secrets.json'), { HF_TOKEN: 'hf_fromenvironmentXXXXXXXX1234' });
    expect(await store.summary('hf')).toMatchObject({ present: true, source: 'env', masked: 'hf_…1234' });
    await store.set('hf', 'hf_storedtokenYYYYYYYYYYYY9876');
    expect(await mode(path.join(home, 'secrets.json'))).toBe('600');
    expect(await store.get('hf')).toBe('hf_storedtokenYYYYYYYYYYYY9876');
    expect(await store.summary('hf')).toMatchObject({ source: 'store', masked: 'hf_…9876' });
    await store.delete('hf');
    expect(await store.summary('hf')).toMatchObject({ source: 'env' });
    await expect(store.set('civitai', 'short')).rejects.toThrow('does not look like a token');
  });
});
