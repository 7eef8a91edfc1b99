/** Human-readable progress on stderr from a job's events. */
import type { JobEvent } from '../shared/protocol/schemas.ts';

export function progressPrinter(write: (s: string) => void = (s) => process.stderr.write(s)) {
  const t0 = Date.now();
  const lastByStage = new Map<string, number>();
  const stamp = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
  return (e: JobEvent) => {
    switch (e.type) {
      case 'tasks.progress': {
        const key = e.stage ?? '';
        const pct = e.total ? Math.floor(((e.done ?? 0) / e.total) * 10) : 10;
        if (e.done !== e.total && lastByStage.get(key) === pct) return;
        lastByStage.set(key, pct);
        write(`${stamp()}  ${key}: ${e.done}/${e.total} tasks done\n`);
        return;
      }
      case 'stage.started':
        write(`${stamp()}  ${e.stage} started${e.message ? ` — ${e.message}` : ''}\n`);
        return;
      case 'stage.finished':
        write(`${stamp()}  ${e.stage} finished${e.message ? ` — ${e.message}` : ''}\n`);
        return;
      case 'job.started':
        write(`${stamp()}  job started${e.message ? ` (${e.message})` : ''}\n`);
        return;
      case 'task.failed':
        write(`${stamp()}  a ${e.stage} task failed: ${e.message}\n`);
        return;
      case 'info':
        write(`${stamp()}  ${e.message ?? ''}\n`);
        return;
      case 'job.failed':
        write(`${stamp()}  job failed: ${e.message}\n`);
        return;
      default:
    }
  };
}
