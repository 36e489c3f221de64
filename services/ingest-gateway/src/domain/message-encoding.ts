import { SegmentedMessage } from 'sms-segments-calculator';
import type { Encoding } from '@twillow/contracts';
import { ErrorCodes, ValidationError } from '@twillow/errors';

export interface MessageEncoding {
  encoding: Encoding;
  /** Number of SMS segments the text takes (GSM-7: 160 in one, 153 each when split; UCS-2: 70 / 67). */
  segments: number;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Characters of the GSM-7 basic table that are also ASCII: one septet each, never escaped. */
const GSM7_BASIC_ASCII = /^[A-Za-z0-9 \n\r!"#$%&'()*+,\-./:;<=>?@_]*$/;

/**
 * The encoding and segment count of `text`, from Twilio's segment calculator: GSM-7 when every
 * character is in the GSM-7 basic or extension table (extension characters such as € take two
 * septets), else UCS-2 (emoji take two UTF-16 units).
 *
 * Plain-ASCII texts of the basic table (most traffic) take a fast path with the same result: one
 * septet per character, 160 in one segment, 153 per segment when split. The calculator costs
 * ~250 µs per message (grapheme splitting), more than the rest of the request; message-encoding.spec
 * checks that both agree.
 */
export function measureText(text: string): MessageEncoding {
  if (GSM7_BASIC_ASCII.test(text)) {
    return { encoding: 'GSM-7', segments: text.length <= 160 ? 1 : Math.ceil(text.length / 153) };
  }
  return measureWithCalculator(text);
}

/** Twilio's calculator, for every text (the reference the fast path is checked against). */
export function measureWithCalculator(text: string): MessageEncoding {
  const message = new SegmentedMessage(text, 'auto');
  return { encoding: message.encodingName, segments: message.segmentsCount };
}

/**
 * Checks the text of a send: not blank, at most `maxSegments` segments.
 * @throws ValidationError SMS.EMPTY_TEXT or SMS.TOO_MANY_SEGMENTS (field `text`).
 */
export function checkText(text: string, maxSegments: number): MessageEncoding {
  if (text.trim().length === 0) {
    throw new ValidationError(ErrorCodes.emptyText, 'text must contain at least one visible character', 'text');
  }
  // A lone UTF-16 surrogate cannot be stored or sent as it was given (it would become U+FFFD).
  if (LONE_SURROGATE.test(text)) {
    throw new ValidationError(ErrorCodes.invalidText, 'text must be well-formed Unicode (it contains an unpaired UTF-16 surrogate)', 'text');
  }
  const measured = measureText(text);
  if (measured.segments > maxSegments) {
    throw new ValidationError(
      ErrorCodes.tooManySegments,
      `text takes ${measured.segments} ${measured.encoding} segments; at most ${maxSegments} are allowed`,
      'text',
      { segments: measured.segments, max_segments: maxSegments, encoding: measured.encoding },
    );
  }
  return measured;
}
