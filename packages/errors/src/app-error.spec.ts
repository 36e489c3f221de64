import { AppError, ErrorCodes, UnavailableError, ValidationError } from './app-error';

describe('AppError', () => {
  it('carries a stable code, a status and the offending field', () => {
    const err = new ValidationError(ErrorCodes.invalidPhone, 'phone is not valid', 'phone');
    expect(err).toBeInstanceOf(AppError);
    expect([err.code, err.status, err.field]).toEqual(['SMS.INVALID_PHONE', 400, 'phone']);
  });

  it('sets Retry-After on a 503 when a retry time is known', () => {
    expect(new UnavailableError(ErrorCodes.noProviderAvailable, 'none', undefined, 5).extra.headers).toEqual({ 'Retry-After': '5' });
  });

  it('uses DOMAIN.REASON codes only', () => {
    for (const code of Object.values(ErrorCodes)) expect(code).toMatch(/^[A-Z_]+\.[A-Z_]+$/);
  });
});
