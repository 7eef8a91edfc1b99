/**
 * Dead letters: a task (or job) that can never succeed is kept in the DLQ stream with its
 * reason, attempts and job id, so an operator can inspect and retry it.
 */
import { z } from 'zod';
import type { Bus } from './bus.ts';
import { encode } from '../protocol/codec.ts';
import type { TaskKind } from '../protocol/names.ts';

export const DeadLetterSchema = z.object({
  kind: z.enum(['map', 'convolve', 'reduce', 'jobs']),
  jobId: z.string().optional(),
  taskId: z.string().optional(),
  op: z.string().optional(),
  reason: z.string(),
  attempts: z.number().int(),
  /** The subject the message was published on (where a retry republishes it). */
  subject: z.string(),
  /** The original message bytes. */
  data: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected bytes'),
  ts: z.string(),
});
export type DeadLetter = z.infer<typeof DeadLetterSchema>;

export async function deadLetter(bus: Bus, kind: TaskKind | 'jobs', dl: Omit<DeadLetter, 'kind' | 'ts'>): Promise<void> {
  const record: DeadLetter = { kind, ts: new Date().toISOString(), ...dl };
  await bus.js.publish(bus.names.subjects.dlq(kind), encode(record));
}
