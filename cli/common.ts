/** Helpers shared by the CLI commands: options, input reading, error exits. */
import { readFileSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { redactUrlCredentials } from '../shared/log/redact.ts';

export interface ConnOpts {
  nats?: string;
  embedded?: boolean;
  prefix?: string;
  json?: boolean;
}

export function withConnOptions(cmd: Command): Command {
  return cmd
    .option('--nats <url>', 'NATS server URL (default: $NATS_URL, else nats://127.0.0.1:4222)')
    .option('--embedded', 'start a private nats-server and all services for this command')
    .option('--prefix <prefix>', 'name prefix of streams and buckets (default: $MR_PREFIX, else "mr")');
}

/** A user-facing error: printed as one line, exit code 2. */
export class UsageError extends Error {}

export interface ReadLimit {
  /** Refuse files larger than this, before reading them. */
  maxBytes?: number;
  /** How the user raises the limit (e.g. "--max-input-mb"). */
  option?: string;
}

const mb = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MB`;

/** Read a UTF-8 text file, with clear errors for missing, empty, too large or non-UTF-8 input. */
export function readTextFile(path: string, what = 'file', limit: ReadLimit = {}): string {
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new UsageError(`${what} ${path} is not a regular file`);
    if (limit.maxBytes !== undefined && st.size > limit.maxBytes) {
      const raise = limit.option ? ` (raise it with ${limit.option})` : '';
      throw new UsageError(`${what} ${path} is ${mb(st.size)}; the limit is ${mb(limit.maxBytes)}${raise}`);
    }
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${what} ${path} is not valid UTF-8 text; convert it first (e.g. \`iconv -f latin1 -t utf-8\`)`);
  }
  if (text.trim().length === 0) throw new UsageError(`${what} ${path} is empty: there is nothing to read`);
  return text;
}

export function fail(e: unknown): never {
  const msg = redactUrlCredentials(e instanceof Error ? e.message : String(e));
  process.stderr.write(`llmxmr: ${msg}\n`);
  process.exit(e instanceof UsageError ? 2 : 1);
}
