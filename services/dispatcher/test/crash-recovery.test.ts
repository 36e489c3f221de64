import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@twillow/testing';
import { startHarness, type Harness } from './support';

/**
 * A dispatcher killed with SIGKILL mid-run leaves its active jobs locked; the survivor takes them
 * over once the lock (DISPATCHER_LOCK_MS) expires, and the stored-state check keeps it from sending
 * again what was already recorded as sent.
 */
describe('two dispatcher processes, one killed with SIGKILL mid-run', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  }, 90000);
  afterAll(() => h.close(), 60000);

  it('the survivor completes every message and nothing recorded as sent is sent again', async () => {
    const env = { DISPATCHER_LOCK_MS: '2000', DISPATCHER_CONCURRENCY: '20', PROVIDER_TIMEOUT_MS: '5000' };
    const [victim, survivor] = await Promise.all([h.spawnDispatcher(env), h.spawnDispatcher(env)]);
    const ids = await h.enqueue(400);
    // Kill once both are busy: some messages sent, most still queued.
    await waitFor(() => h.arrivals.flat().length >= 100, 60000, 20, '100 sends');
    victim.child.kill('SIGKILL');
    await waitFor(() => victim.child.signalCode === 'SIGKILL', 5000, 20, 'the victim to die');
    const killedAt = h.arrivals.flat().length;
    await sleep(100);

    await h.waitForTerminal(ids, 90000);
    expect(h.statuses()).toEqual({ sent: 400 });
    expect(killedAt).toBeLessThan(400);

    const stats = await h.stats();
    const accepted = stats.reduce((n, s) => n + s.accepted, 0);
    const duplicates = stats.reduce((n, s) => n + s.duplicates, 0);
    const successRows = (h.sqlite.prepare("SELECT count(*) AS n FROM sms_responses WHERE outcome = 'success'").get() as { n: number }).n;
    // Exactly one recorded acceptance per message.
    expect(successRows).toBe(400);
    const acceptedIds = new Set(
      (await Promise.all(h.mocks.map(async (m) => ((await (await fetch(`${m.url}/admin/accepted`)).json()) as { message_ids: string[] }).message_ids))).flat(),
    );
    expect([...acceptedIds].sort()).toEqual([...ids].sort());
    // A provider can be handed a message a second time only when the victim died after a provider
    // accepted it and before the acceptance was stored (the at-least-once window; providers dedupe
    // by message_id). Those are exactly the acceptances missing from the database, and at most the
    // victim's concurrency. Anything recorded as sent was never sent again.
    const resent = accepted - successRows;
    expect(resent).toBeLessThanOrEqual(20);
    expect(duplicates).toBeLessThanOrEqual(resent);
    process.stdout.write(`crash recovery: killed after ${killedAt} sends; messages accepted twice ${resent} (same provider: ${duplicates})\n`);
    expect(survivor.child.exitCode).toBeNull();
    expect(await survivor.stop()).toBe(0);
  }, 150000);
});
