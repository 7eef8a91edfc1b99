/**
 * Helpers for the bad-input corpus: inputs written for the tests, the CLI as a child process,
 * and readers for what the system reports (events, dead letters, job status, task results).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bus } from '../../shared/bus/bus.ts';
import { decodeLoose } from '../../shared/protocol/codec.ts';
import type { JobEvent, JobStatus } from '../../shared/protocol/schemas.ts';
import { ROOT, until } from './cluster.ts';

const DIRECTIONS = ['cache quantization', 'token eviction', 'paged cache memory', 'host offloading', 'prefix sharing', 'low-rank keys'];

/** `n` short papers in six research directions (text written for these tests). */
export function papers(n: number): Array<{ title: string; abstract: string; txt: string }> {
  return Array.from({ length: n }, (_, i) => {
    const d = DIRECTIONS[i % DIRECTIONS.length];
    const txt =
      `This study of ${d} targets long inputs. Variant ${i + 1} cuts cache memory by ${10 + (i % 40)} percent ` +
      `while accuracy stays within one point of the full cache. The method of ${d} is evaluated on retrieval ` +
      `and summarisation tasks, and its cost grows linearly with the context length.`;
    return { title: `Study ${i + 1} on ${d}`, abstract: txt.slice(0, 120), txt };
  });
}

export const dir = mkdtempSync(join(tmpdir(), 'llmxmr-badinput-'));

export function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `llmxmr <args>`; never throws. */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/llmxmr.js', ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Every event published under the prefix, as it arrives. */
export function collectEvents(bus: Bus): JobEvent[] {
  const out: JobEvent[] = [];
  bus.nc.subscribe(bus.names.subjects.eventsAll, {
    callback: (_e, m) => {
      const d = Bus.decodeEvent(m.data);
      if (d.ok) out.push(d.value);
    },
  });
  return out;
}

export type DeadLetterRecord = { kind: string; reason: string; jobId?: string; taskId?: string; subject: string; data: Uint8Array; attempts: number };

export async function deadLetters(bus: Bus): Promise<DeadLetterRecord[]> {
  const info = await bus.jsm.streams.info(bus.names.streams.dlq);
  const out: DeadLetterRecord[] = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await bus.jsm.streams.getMessage(bus.names.streams.dlq, { seq }).catch(() => null);
    if (m) out.push(decodeLoose(m.data) as DeadLetterRecord);
  }
  return out;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);

/** Wait for the dead letter of exactly these message bytes. */
export function deadLetterOf(bus: Bus, data: Uint8Array): Promise<DeadLetterRecord> {
  return until('the dead letter', async () => (await deadLetters(bus)).find((d) => d.data instanceof Uint8Array && sameBytes(d.data, data)), 20_000);
}

export function finalStatus(bus: Bus, jobId: string): Promise<JobStatus> {
  return until(`job ${jobId} to end`, async () => {
    const s = await bus.getStatus(jobId);
    return s && ['succeeded', 'failed', 'cancelled'].includes(s.state) ? s : null;
  }, 60_000);
}

/** The one line a failing CLI command prints, with no stack trace. */
export function oneLineError(r: CliResult): string {
  const lines = r.stderr.trim().split('\n').filter((l) => l.trim());
  if (r.code === 0) throw new Error(`expected a failure; exit 0, stderr: ${r.stderr}`);
  if (lines.length !== 1 || /\n\s+at /.test(r.stderr)) throw new Error(`expected one line on stderr, got:\n${r.stderr}`);
  return lines[0];
}
