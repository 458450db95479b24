/** Tasks over HTTP: start, per-task and studio SSE streams (cookie and bearer), cancel, truthful stop. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse } from '../../src/cli/sse-client.ts';
import type { TaskRecord } from '../../src/tasks/task-types.ts';
import { startTestStudio, type TestStudio } from '../helpers/studio.ts';

let studio: TestStudio;
let cookie: string;
beforeAll(async () => {
  studio = await startTestStudio();
  cookie = await studio.pair();
});
afterAll(async () => studio.stop());

const json = { 'content-type': 'application/json' };

async function collect(response: Response, until: (event: string, data: string) => boolean): Promise<Array<{ event: string; data: string }>> {
  const seen: Array<{ event: string; data: string }> = [];
  if (response.body === null) throw new Error('no body');
  for await (const message of readSse(response.body)) {
    seen.push(message);
    if (until(message.event, message.data)) break;
  }
  return seen;
}

describe('task streams', () => {
  it('a script follows a task over SSE with its bearer token, from the current record to the final one', async () => {
    const task = (await studio.asBearer({ path: '/api/tasks/selftest', method: 'POST', headers: json, body: '{"steps":5,"intervalMs":20}' })).json<TaskRecord>();
    const response = await fetch(`${studio.url}/api/tasks/${task.id}/events`, { headers: { authorization: `Bearer ${await studio.apiSecret()}` } });
    expect(response.status).toBe(200);
    const records = (await collect(response, () => false)).map((m) => JSON.parse(m.data) as TaskRecord);
    expect(records.at(-1)).toMatchObject({ state: 'succeeded', progress: { done: 5, total: 5 }, result: { steps: 5 } });
    const dones = records.map((r) => r.progress.done);
    expect(dones).toEqual([...dones].sort((a, b) => a - b));
  });

  it('the page follows the same stream with its cookie; a wrong bearer token gets 401', async () => {
    const task = (await studio.asBearer({ path: '/api/tasks/selftest', method: 'POST', headers: json, body: '{"steps":3,"intervalMs":10}' })).json<TaskRecord>();
    const page = await fetch(`${studio.url}/api/tasks/${task.id}/events`, { headers: { cookie, 'sec-fetch-site': 'same-origin' } });
    expect(page.status).toBe(200);
    const last = (await collect(page, () => false)).at(-1);
    expect(JSON.parse(last?.data ?? '{}')).toMatchObject({ state: 'succeeded' });
    const wrong = await fetch(`${studio.url}/api/tasks/${task.id}/events`, { headers: { authorization: 'Bearer lsc_not-a-token' } });
    expect(wrong.status).toBe(401);
  });

  it('the studio stream carries task updates and security events', async () => {
    const controller = new AbortController();
    const stream = await fetch(`${studio.url}/api/events`, { headers: { cookie, 'sec-fetch-site': 'same-origin' }, signal: controller.signal });
    const events = collect(stream, (event) => event === 'security');
    const task = (await studio.asBearer({ path: '/api/tasks/selftest', method: 'POST', headers: json, body: '{"steps":2,"intervalMs":10}' })).json<TaskRecord>();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await studio.asBearer({ path: '/api/health', headers: { host: `evil.test:${studio.running.port}` } });
    const seen = await events;
    controller.abort();
    expect(seen.some((m) => m.event === 'task' && (JSON.parse(m.data) as TaskRecord).id === task.id)).toBe(true);
    expect(JSON.parse(seen.at(-1)?.data ?? '{}')).toMatchObject({ kind: 'host-refused' });
  });

  it('cancel stops a running task and the record says cancelled', async () => {
    const task = (await studio.asBearer({ path: '/api/tasks/selftest', method: 'POST', headers: json, body: '{"steps":100,"intervalMs":50}' })).json<TaskRecord>();
    await new Promise((resolve) => setTimeout(resolve, 150));
    const cancelled = (await studio.asPage({ path: `/api/tasks/${task.id}/cancel`, method: 'POST', headers: json, body: '{}' }, cookie)).json<TaskRecord>();
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.progress.done).toBeLessThan(100);
    const listed = (await studio.asBearer({ path: '/api/tasks?kind=selftest' })).json<{ tasks: TaskRecord[] }>().tasks;
    expect(listed.find((t) => t.id === task.id)?.state).toBe('cancelled');
  });

  it('a task running when the studio stops is recorded as interrupted, and stays so after restart', async () => {
    const task = (await studio.asBearer({ path: '/api/tasks/selftest', method: 'POST', headers: json, body: '{"steps":100,"intervalMs":50}' })).json<TaskRecord>();
    await new Promise((resolve) => setTimeout(resolve, 150));
    await studio.restart();
    cookie = await studio.pair();
    const after = (await studio.asBearer({ path: `/api/tasks/${task.id}` })).json<TaskRecord>();
    expect(after.state).toBe('interrupted');
    expect(after.error?.code).toBe('interrupted');
  });

  it('an unknown task is a 404 in the error shape', async () => {
    const response = await studio.asBearer({ path: '/api/tasks/nope' });
    expect(response.status).toBe(404);
    expect(response.json<{ error: { code: string; hint: string } }>().error).toMatchObject({ code: 'task-not-found', hint: expect.any(String) });
  });
});
