export { createLogger, type Logger, type LoggerOptions } from './create-logger';
export { maskPhone, redact } from './mask';
export { RequestContext, type LogContext } from './request-context';
