/** Masks the middle digits of a phone number: +8801921317475 -> +88019*****475. */
export function maskPhone(phone: string): string {
  if (phone.length <= 7) return '*'.repeat(phone.length);
  const head = phone.slice(0, 6);
  const tail = phone.slice(-3);
  return `${head}${'*'.repeat(phone.length - 9)}${tail}`;
}

const SECRET_KEYS = /(authorization|api[-_]?key|password|secret|token)/i;
const PHONE_KEYS = /^(phone|phone_normalized|phoneNormalized|to)$/;

/** Copies `meta`, masking phone numbers and replacing secrets, at any depth up to 4. */
export function redact(meta: unknown, depth = 0): unknown {
  if (depth > 4 || meta === null || typeof meta !== 'object') return meta;
  if (Array.isArray(meta)) return meta.map((m) => redact(m, depth + 1));
  if (meta instanceof Error) return meta;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta as Record<string, unknown>)) {
    if (SECRET_KEYS.test(k)) out[k] = '[redacted]';
    else if (PHONE_KEYS.test(k) && typeof v === 'string') out[k] = maskPhone(v);
    else out[k] = redact(v, depth + 1);
  }
  return out;
}
