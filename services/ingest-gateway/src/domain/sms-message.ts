import { sendSmsRequestSchema, type Encoding } from '@twillow/contracts';
import { checkText } from './message-encoding';
import { normalizePhone } from './phone-number';
import { parseInput } from './validate';

/** A send body that passed every check, with what the gateway derived from it. */
export interface SmsMessage {
  phone: string;
  phoneNormalized: string;
  text: string;
  encoding: Encoding;
  segments: number;
}

export interface MessageRules {
  /** Region for numbers written without a country code (DEFAULT_REGION). */
  defaultRegion: string;
  /** Most segments one message may take (MAX_SEGMENTS). */
  maxSegments: number;
}

/** Validates a send body (shape, phone, text, segments); throws a 400 AppError naming the field. */
export function readSmsMessage(body: unknown, rules: MessageRules): SmsMessage {
  const input = parseInput(sendSmsRequestSchema, body, 'body');
  const phoneNormalized = normalizePhone(input.phone, rules.defaultRegion);
  const { encoding, segments } = checkText(input.text, rules.maxSegments);
  return { phone: input.phone, phoneNormalized, text: input.text, encoding, segments };
}
