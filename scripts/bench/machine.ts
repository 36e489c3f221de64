/** What the figures were measured on: machine, load, versions, commit. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  hostname: string;
}

export interface Versions {
  node: string;
  npm: string;
  redisServer: string;
  packages: Record<string, string>;
  git: { commit: string; dirty: boolean } | null;
}

export const ROOT = path.resolve(__dirname, '..', '..');

/** Versions of the packages the figures depend on, as installed. */
const KEY_PACKAGES = ['express', 'bullmq', 'ioredis', 'better-sqlite3', '@prisma/client', 'got', 'zod', 'autocannon', 'tsx', 'playwright-core'];

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 15000 }).trim();
  } catch {
    return 'unknown';
  }
}

function osName(): string {
  try {
    const line = fs
      .readFileSync('/etc/os-release', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('PRETTY_NAME='));
    if (line) return line.slice('PRETTY_NAME='.length).replace(/^"|"$/g, '');
  } catch {
    // not Linux
  }
  return `${os.type()} ${os.release()}`;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osName(),
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    hostname: os.hostname(),
  };
}

export function versions(): Versions {
  const packages: Record<string, string> = {};
  for (const name of KEY_PACKAGES) {
    try {
      packages[name] = (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      packages[name] = 'not installed';
    }
  }
  const redis = run('redis-server', ['--version']);
  const commit = run('git', ['rev-parse', '--short=12', 'HEAD']);
  return {
    node: process.version,
    npm: run(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['--version']),
    redisServer: /v=(\S+)/.exec(redis)?.[1] ?? redis,
    packages,
    git: commit === 'unknown' ? null : { commit, dirty: run('git', ['status', '--porcelain', '--untracked-files=no']) !== '' },
  };
}

/** 1, 5 and 15-minute load averages. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = os.loadavg();
  return [a, b, c];
}
