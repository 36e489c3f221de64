import { spawn } from 'node:child_process';
import path from 'node:path';
import { startProviderMock, type RunningProviderMock } from '../src';
import { JsonClient } from './http-client';

const projectDir = path.join(__dirname, '..');

/** Runs src/main.ts as the launcher does; collects its output and exit code. */
function runMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--conditions=development', '--require', 'tsx/cjs', 'src/main.ts'], {
    cwd: projectDir,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('src/main.ts', () => {
  let blocker: RunningProviderMock | undefined;
  const client = new JsonClient();
  afterAll(async () => {
    client.close();
    await blocker?.close();
  });

  it('prints one line naming MOCK_PORT and exits 1 when the port is taken', async () => {
    blocker = await startProviderMock({ logLevel: 'error' });
    const proc = runMain({ MOCK_PORT: String(blocker.port) });
    expect(await proc.exited).toBe(1);
    const lines = proc.err().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Port ${blocker.port} is already in use`);
    expect(lines[0]).toContain('MOCK_PORT');
  });

  it('serves the configured provider path with the configured settings and exits 0 on SIGTERM', async () => {
    const proc = runMain({ MOCK_PORT: '0', MOCK_PROVIDER_ID: 'provider2', MOCK_RATE_LIMIT: '7', MOCK_DEDUPE: 'false' });
    const deadline = Date.now() + 20_000;
    let sendUrl: string | undefined;
    while (!sendUrl && Date.now() < deadline) {
      sendUrl = /"url":"([^"]+)"/.exec(proc.out())?.[1];
      if (!sendUrl) await new Promise((r) => setTimeout(r, 50));
    }
    expect(sendUrl).toMatch(/\/api\/sms\/provider2$/);
    const res = await client.request('POST', sendUrl!, { phone: '+8801921317475', text: 'hi', message_id: 'main-1' });
    expect(res.status).toBe(200);
    const stats = await client.request('GET', sendUrl!.replace('/api/sms/provider2', '/admin/stats'));
    expect(stats.body).toMatchObject({ provider: 'provider2', rate_limit: 7, accepted: 1, dedupe: false });
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  });
});
