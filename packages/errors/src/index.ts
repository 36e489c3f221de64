export { AppError, ConflictError, ErrorCodes, NotFoundError, UnavailableError, ValidationError } from './app-error';
