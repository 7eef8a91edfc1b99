/**
 * GET /api/dlq (the dead letters, oldest first) and POST /api/dlq/:seq/retry (send one back to
 * work; `{"force": true}` also retries when its job has already ended), by the same operations
 * as `llmxmr dlq`.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Bus } from '../../../shared/bus/bus.ts';
import { DeadLetterRefusal, KINDS, listDeadLetters, retryDeadLetters } from '../../../shared/client/dead-letters.ts';
import { issuesLine } from '../../../shared/client/specs.ts';
import { HttpError } from '../http.ts';
import { callerOf, requireAdmin } from '../access.ts';
import type { Caller } from '../auth.ts';

const ListQuery = z.object({ kind: z.enum(KINDS).optional(), job: z.string().min(1).optional() }).strict();
const RetryBody = z.object({ force: z.boolean().default(false) }).strict();

/** The dead letters a caller may see: all for the administrator, those of its own jobs for a publisher. */
async function ownDeadLetters<T extends { jobId?: string }>(bus: Bus, caller: Caller, all: T[]): Promise<T[]> {
  if (caller.admin) return all;
  const owners = new Map<string, string | undefined>();
  for (const id of new Set(all.map((d) => d.jobId).filter((j): j is string => !!j))) owners.set(id, (await bus.getStatus(id))?.owner);
  return all.filter((d) => d.jobId !== undefined && owners.get(d.jobId) === caller.user);
}

export function registerDlqRoutes(app: FastifyInstance, o: { bus: Bus }): void {
  app.get('/dlq', async (req) => {
    const q = ListQuery.safeParse(req.query ?? {});
    if (!q.success) throw new HttpError(400, `bad query: ${issuesLine(q.error)}`);
    const all = await listDeadLetters(o.bus, { kind: q.data.kind, jobId: q.data.job });
    return { deadLetters: await ownDeadLetters(o.bus, callerOf(req), all) };
  });

  app.post('/dlq/:seq/retry', async (req) => {
    requireAdmin(callerOf(req), 'retrying a dead letter');
    const seq = Number((req.params as { seq: string }).seq);
    if (!Number.isInteger(seq) || seq <= 0) throw new HttpError(400, `"${(req.params as { seq: string }).seq}" is not a dead-letter sequence number (see GET /api/dlq)`);
    const body = RetryBody.safeParse(req.body ?? {});
    if (!body.success) throw new HttpError(400, `invalid body: ${issuesLine(body.error)}`);
    try {
      const [done] = await retryDeadLetters(o.bus, [seq], { force: body.data.force });
      return { retried: done };
    } catch (e) {
      if (e instanceof DeadLetterRefusal) throw new HttpError(/^no dead letter/.test(e.message) ? 404 : 409, e.message.replace(/--force/g, '{"force": true}'));
      throw e;
    }
  });
}
