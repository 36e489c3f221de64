import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@twillow/testing';
import { startHarness, type Harness } from './support';

/**
 * A dispatcher killed with SIGKILL mid-run leaves its active jobs locked and some sends
 * unconfirmed: the provider may have accepted them, and nothing was recorded. The survivor takes
 * the jobs over once the lock (DISPATCHER_LOCK_MS) expires; the stored-state check keeps it from
 * sending again what was recorded, and the send intent ({P:rl}:inflight:<id>) makes it resend an
 * unconfirmed attempt to the SAME provider with the same message_id, which dedupes it.
 *
 * The mocks answer after 40 ms, so at the kill some sends have been accepted and not yet answered.
 */
const MOCK_LATENCY_MS = 40;
const MESSAGES = 400;
const VICTIM_CONCURRENCY = 20;

interface CrashRun {
  h: Harness;
  ids: string[];
  killedAt: number;
  acceptedIds: string[][];
}

async function crashMidRun(h: Harness): Promise<CrashRun> {
  const env = { DISPATCHER_LOCK_MS: '2000', DISPATCHER_CONCURRENCY: String(VICTIM_CONCURRENCY), PROVIDER_TIMEOUT_MS: '5000' };
  const [victim, survivor] = await Promise.all([h.spawnDispatcher(env), h.spawnDispatcher(env)]);
  const ids = await h.enqueue(MESSAGES);
  // Kill once both are busy: some messages sent, most still queued.
  await waitFor(async () => (await received(h)) >= 100, 60000, 5, '100 sends');
  victim.child.kill('SIGKILL');
  await waitFor(() => victim.child.signalCode === 'SIGKILL', 5000, 20, 'the victim to die');
  const killedAt = await received(h);
  await sleep(100);

  await h.waitForTerminal(ids, 90000);
  expect(survivor.child.exitCode).toBeNull();
  expect(await survivor.stop()).toBe(0);
  const acceptedIds = await Promise.all(
    h.mocks.map(async (m) => ((await (await fetch(`${m.url}/admin/accepted`)).json()) as { message_ids: string[] }).message_ids),
  );
  return { h, ids, killedAt, acceptedIds };
}

/** Requests that reached the providers so far. */
async function received(h: Harness): Promise<number> {
  return (await h.stats()).reduce((n, s) => n + s.received, 0);
}

function successRows(h: Harness): number {
  return (h.sqlite.prepare("SELECT count(*) AS n FROM sms_responses WHERE outcome = 'success'").get() as { n: number }).n;
}

describe('two dispatcher processes, one killed with SIGKILL mid-run (providers dedupe by message_id, as the contract says)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness([{ latencyMs: MOCK_LATENCY_MS }, { latencyMs: MOCK_LATENCY_MS }, { latencyMs: MOCK_LATENCY_MS }]);
  }, 90000);
  afterAll(() => h.close(), 60000);

  it('loses no message and delivers none twice: every id accepted by exactly one provider, once', async () => {
    const { ids, killedAt, acceptedIds } = await crashMidRun(h);

    expect(h.statuses()).toEqual({ sent: MESSAGES });
    expect(killedAt).toBeLessThan(MESSAGES);
    // Exactly one recorded acceptance per message.
    expect(successRows(h)).toBe(MESSAGES);
    // The union over the three providers: every id, none twice (not at two providers, not twice at one).
    const union = acceptedIds.flat();
    expect(union).toHaveLength(MESSAGES);
    expect([...new Set(union)].sort()).toEqual([...ids].sort());
    const stats = await h.stats();
    for (const s of stats) expect(s.duplicates).toBe(0);
    expect(stats.reduce((n, s) => n + s.accepted, 0)).toBe(MESSAGES);
    // Resends of unconfirmed attempts reached the provider that had them and were answered from
    // its dedupe; at most one per job the victim had in progress.
    const deduplicated = stats.reduce((n, s) => n + s.deduplicated, 0);
    expect(deduplicated).toBeLessThanOrEqual(VICTIM_CONCURRENCY);
    expect(await h.redis.keys(h.keys.sendIntent('*'))).toEqual([]);
    process.stdout.write(
      `crash recovery (dedupe on): killed after ${killedAt} sends; ambiguous resends answered from the provider's dedupe: ${deduplicated} (${stats.map((s) => `${s.provider}=${s.deduplicated}`).join(' ')})\n`,
    );
  }, 150000);
});

describe('the same crash with naive providers (MOCK_DEDUPE off): what they would have seen', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness([{ latencyMs: MOCK_LATENCY_MS }, { latencyMs: MOCK_LATENCY_MS }, { latencyMs: MOCK_LATENCY_MS }]);
    await Promise.all(
      h.mocks.map((m) => fetch(`${m.url}/admin/config`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ dedupe: false }) })),
    );
  }, 90000);
  afterAll(() => h.close(), 60000);

  it('resends an unconfirmed attempt only to the provider that had it: no id at two providers, repeats only as same-provider duplicates', async () => {
    const { ids, killedAt, acceptedIds } = await crashMidRun(h);

    expect(h.statuses()).toEqual({ sent: MESSAGES });
    expect(successRows(h)).toBe(MESSAGES);
    // Each mock lists an id once; an id listed by two mocks would be a cross-provider double send.
    const union = acceptedIds.flat();
    expect(union).toHaveLength(MESSAGES);
    expect([...new Set(union)].sort()).toEqual([...ids].sort());
    const stats = await h.stats();
    expect(stats.every((s) => s.dedupe === false && s.deduplicated === 0)).toBe(true);
    // Without dedupe, every resend of an unconfirmed attempt is a second delivery at the same provider.
    const duplicates = stats.reduce((n, s) => n + s.duplicates, 0);
    expect(stats.reduce((n, s) => n + s.accepted, 0)).toBe(MESSAGES + duplicates);
    expect(duplicates).toBeLessThanOrEqual(VICTIM_CONCURRENCY);
    process.stdout.write(`crash recovery (dedupe off): killed after ${killedAt} sends; same-provider repeats a naive provider would deliver: ${duplicates}\n`);
  }, 150000);
});
