/// <reference types="node" />
// Types of scripts/launcher.js (plain CommonJS so that it runs without a build).
import type { ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';

export interface StackPorts {
  /** Gateway port; default GATEWAY_PORT, else 8000. */
  gateway?: number;
  /** Port of dispatcher-1; dispatcher-i gets this + i - 1. Default DISPATCHER_PORT, else 8090. */
  dispatcher?: number;
  /** Health monitor port; default HEALTH_MONITOR_PORT, else 8080. */
  healthMonitor?: number;
  /** Ports of the provider1..3 mocks; override PROVIDERn_URL (set to http://127.0.0.1:<port>/api/sms/providerN). */
  mocks?: [number, number, number] | number[];
}

export type ServiceKind = 'mocks' | 'gateway' | 'dispatcher' | 'health-monitor';

export interface StackOptions {
  /** Repository root; default the parent of scripts/. */
  root?: string;
  /** `.env` file read first (real env wins over it); default `<root>/.env`; false to skip. */
  envFile?: string | false;
  /** Variables passed to every child, over `.env` and process.env. */
  env?: Record<string, string | undefined>;
  ports?: StackPorts;
  /** Directory of the owned Redis' AOF and of the default SQLite file; default `<root>/data` (or TWILLOW_DATA_DIR). */
  dataDir?: string;
  /** Number of dispatchers; default DISPATCHERS, else 1. */
  dispatchers?: number;
  /** Redis to use; default REDIS_URL, else redis://127.0.0.1:6379. */
  redisUrl?: string;
  /**
   * auto (default): use the Redis at redisUrl if it answers PING, else start redis-server on its port.
   * own: always start redis-server (fails if one already answers there). external: never start one.
   */
  redis?: 'auto' | 'own' | 'external';
  /** redis-server binary; default found on PATH. */
  redisServer?: string;
  /** Apply migrations (`npm run db:migrate`) before starting the services; default true. */
  migrate?: boolean;
  /** Start only these kinds (redis and migrations are always handled); default all that exist. */
  services?: ServiceKind[];
  /** Where prefixed log lines go; default process.stdout; null to discard. */
  output?: NodeJS.WritableStream | null;
  /** Called with every log line of every process (name is e.g. 'gateway', 'dispatcher-1', 'launcher'). */
  onLine?: (name: string, line: string) => void;
  /** Time each process has to answer /health (Redis: PING), in ms; default 60000. */
  readyTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping, in ms; default 10000. */
  stopTimeoutMs?: number;
  /** Aborting it stops whatever started so far; startStack then rejects. */
  signal?: AbortSignal;
}

export interface StackProcess {
  name: string;
  kind: 'redis' | 'mock' | 'gateway' | 'dispatcher' | 'health-monitor';
  pid: number | undefined;
  port: number;
  /** Base URL (http://host:port); the Redis URL for redis. */
  url: string;
  healthUrl?: string;
  child: ChildProcess;
  exited: boolean;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The last 200 output lines. */
  recentLines: string[];
}

export interface StackUrls {
  redis: string;
  gateway: string | null;
  docs: string | null;
  healthMonitor: string | null;
  dispatchers: string[];
  providers: Record<'provider1' | 'provider2' | 'provider3', string>;
  databaseUrl: string;
}

export interface ExitEvent {
  name: string;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  expected: boolean;
}

export interface StackHandle extends EventEmitter {
  urls: StackUrls;
  /** By name: redis (when owned), provider1..3, gateway, dispatcher-1..N, health-monitor. */
  processes: Record<string, StackProcess>;
  /** The environment every child got (REDIS_URL, DATABASE_URL absolute, PROVIDERn_URL filled in). */
  env: Record<string, string>;
  dataDir: string;
  ownsRedis: boolean;
  /** Stops everything (services, then mocks, then Redis): SIGTERM, SIGKILL after stopTimeoutMs. Idempotent. */
  stop(): Promise<void>;
  /** Signals one process (default SIGKILL) and waits for it to exit; the exit counts as expected. */
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped process again with the same settings and waits until it is ready. */
  start(name: string): Promise<StackProcess>;
  /** Waits until the process answers /health (Redis: PING); rejects if it exits first. */
  waitReady(name: string, timeoutMs?: number): Promise<void>;
  pids(): Record<string, number | undefined>;
  on(event: 'exit' | 'unexpected-exit', listener: (e: ExitEvent) => void): this;
}

export function startStack(options?: StackOptions): Promise<StackHandle>;
/** True when something answering the Redis protocol is at url. */
export function pingRedis(url: string, timeoutMs?: number): Promise<boolean>;
/** A free port on 127.0.0.1 below the kernel ephemeral range (so outgoing connections cannot take it before use). */
export function freePort(): Promise<number>;
export function freePorts(n: number): Promise<number[]>;
export function isAlive(pid: number | undefined): boolean;
export function whichSync(bin: string, envPath?: string): string | null;
export function readEnvFile(file: string): Record<string, string>;
export function redact(url: string): string;
export const ROOT: string;
export function portFree(port: number, host?: string): Promise<boolean>;
/** The first of n consecutive free ports on 127.0.0.1 (e.g. DISPATCHER_PORT for n dispatchers). */
export function freeConsecutivePorts(n: number): Promise<number>;
