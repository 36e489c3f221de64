import { parsePhoneNumberFromString, validatePhoneNumberLength, type CountryCode } from 'libphonenumber-js';
import { ErrorCodes, ValidationError } from '@twillow/errors';

/** Characters people write in phone numbers; anything else (letters, ';', '/') is refused up front. */
const PHONE_CHARS = /^\+?[0-9\s().-]+$/;

/**
 * Parses `phone` as written by a client and returns it in E.164. A number without a country code is
 * read in `defaultRegion` (01921317475 in BD -> +8801921317475).
 * @throws ValidationError SMS.INVALID_PHONE (field `phone`) for an impossible or invalid number.
 */
export function normalizePhone(phone: string, defaultRegion: string): string {
  const region = defaultRegion as CountryCode;
  const trimmed = phone.trim();
  if (!PHONE_CHARS.test(trimmed) || !/\d/.test(trimmed)) {
    throw invalid(`phone "${shorten(phone)}" is not a phone number: only digits, spaces, + ( ) . - are allowed`);
  }
  const parsed = parsePhoneNumberFromString(trimmed, region);
  if (!parsed) throw invalid(`phone "${shorten(phone)}" is not a phone number that can be read in region ${defaultRegion}`);
  if (!parsed.isPossible()) {
    const why = validatePhoneNumberLength(trimmed, region);
    const reason = why === 'TOO_SHORT' ? 'too short' : why === 'TOO_LONG' ? 'too long' : 'of an impossible length';
    throw invalid(`phone "${shorten(phone)}" is not a possible phone number (${reason} for +${parsed.countryCallingCode})`);
  }
  if (!parsed.isValid()) {
    throw invalid(`phone "${shorten(phone)}" is not a valid phone number (no such number range for +${parsed.countryCallingCode})`);
  }
  return parsed.number;
}

function invalid(message: string): ValidationError {
  return new ValidationError(ErrorCodes.invalidPhone, message, 'phone');
}

function shorten(s: string): string {
  return s.length > 32 ? `${s.slice(0, 32)}...` : s;
}
