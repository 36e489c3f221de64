import { spawn } from 'node:child_process';
import path from 'node:path';
import { waitFor } from '@twillow/testing';

const FIXTURE = path.join(__dirname, 'run-service.fixture.ts');

/** Runs the fixture in its own process; `signal` is sent once it printed `started`. */
async function run(mode: string, signal?: NodeJS.Signals): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--conditions=development', '--require', 'tsx/cjs', FIXTURE], {
    env: { PATH: process.env.PATH ?? '', FIXTURE_MODE: mode },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (signal) {
    await waitFor(() => output.includes('fixture: started'), 20000, 20, 'the fixture to start');
    child.kill(signal);
  }
  return { code: await exited, output };
}

describe('runService', () => {
  it('prints "<name>: <message>" and exits 1 on a config error, before composing anything', async () => {
    const { code, output } = await run('bad-config');
    expect(code).toBe(1);
    expect(output).toContain('fixture-service: Invalid configuration: FIXTURE_PORT expected a number (got "abc").');
    expect(output).not.toContain('fixture: started');
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('stops the service on %s and exits 0', async (signal) => {
    const { code, output } = await run('ok', signal);
    expect(output).toContain('fixture: stopping');
    expect(code).toBe(0);
  });

  it('exits 1 after the shutdown timeout when stopping hangs', async () => {
    const { code, output } = await run('slow-stop', 'SIGTERM');
    expect(output).toContain('fixture: stopping');
    expect(code).toBe(1);
  });

  it('prints "<name> could not start: <reason>", stops what it started and exits 1 when start fails', async () => {
    const { code, output } = await run('fail-start');
    expect(code).toBe(1);
    expect(output).toContain('fixture-service could not start: Cannot reach the thing it needs.');
    expect(output).toContain('fixture: stopping');
  });
});
