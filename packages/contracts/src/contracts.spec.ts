import { outcomeEventSchema, sendSmsRequestSchema, smsJobDataSchema } from './index';

describe('sendSmsRequestSchema', () => {
  it('accepts the original guide example', () => {
    expect(sendSmsRequestSchema.parse({ phone: '01921317475', text: 'Hello' })).toEqual({ phone: '01921317475', text: 'Hello' });
  });

  it('refuses unknown fields, naming them', () => {
    const r = sendSmsRequestSchema.safeParse({ phone: '1', text: 'x', extra: 1 });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['extra'] });
  });

  it('says which field is missing and which has the wrong type', () => {
    const r = sendSmsRequestSchema.safeParse({ phone: 5 });
    expect(r.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['phone', 'phone must be a string'],
      ['text', 'text is required'],
    ]);
  });
});

describe('Redis messages', () => {
  it('refuses a job without an E.164 phone', () => {
    const base = { message_id: '7f3c2a2d-1b2c-4d5e-8f90-1234567890ab', text: 'x', enqueued_at: 1 };
    expect(smsJobDataSchema.safeParse({ ...base, phone: '+8801921317475' }).success).toBe(true);
    expect(smsJobDataSchema.safeParse({ ...base, phone: '01921317475' }).success).toBe(false);
  });

  it('refuses an outcome of an unknown provider or kind', () => {
    const ok = { provider: 'provider1', kind: 'success', latency_ms: 3, at: 1 };
    expect(outcomeEventSchema.safeParse(ok).success).toBe(true);
    expect(outcomeEventSchema.safeParse({ ...ok, provider: 'provider9' }).success).toBe(false);
    expect(outcomeEventSchema.safeParse({ ...ok, kind: 'meh' }).success).toBe(false);
  });
});
