import winston from 'winston';
import { redact } from './mask';
import type { RequestContext } from './request-context';

export interface LoggerOptions {
  service: string;
  version: string;
  level: string;
  /** Where request and message ids come from; omit for processes without requests. */
  context?: RequestContext;
  /** Extra transports (tests capture lines with a stream transport). Defaults to stdout. */
  transports?: winston.transport[];
}

export type Logger = winston.Logger;

/** Winston JSON lines: timestamp, level, message, service, version, request_id, message_id. */
export function createLogger(options: LoggerOptions): Logger {
  const stamp = winston.format((info) => {
    const ctx = options.context?.current();
    if (ctx?.requestId && info.request_id === undefined) info.request_id = ctx.requestId;
    if (ctx?.messageId && info.message_id === undefined) info.message_id = ctx.messageId;
    for (const key of Object.keys(info)) {
      if (key === 'level' || key === 'message') continue;
      info[key] = (redact({ [key]: info[key] }) as Record<string, unknown>)[key];
    }
    return info;
  });
  return winston.createLogger({
    level: options.level,
    defaultMeta: { service: options.service, version: options.version },
    format: winston.format.combine(stamp(), winston.format.errors({ stack: true }), winston.format.timestamp(), winston.format.json()),
    transports: options.transports ?? [new winston.transports.Console()],
  });
}
