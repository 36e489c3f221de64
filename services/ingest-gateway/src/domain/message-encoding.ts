import { SegmentedMessage } from 'sms-segments-calculator';
import type { Encoding } from '@twillow/contracts';
import { ErrorCodes, ValidationError } from '@twillow/errors';

export interface MessageEncoding {
  encoding: Encoding;
  /** Number of SMS segments the text takes (GSM-7: 160 in one, 153 each when split; UCS-2: 70 / 67). */
  segments: number;
}

/**
 * The encoding and segment count of `text`, from Twilio's segment calculator: GSM-7 when every
 * character is in the GSM-7 basic or extension table (extension characters such as € take two
 * septets), else UCS-2 (emoji take two UTF-16 units).
 */
export function measureText(text: string): MessageEncoding {
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
