/** The cluster page: workers alive per kind, per-stream pending / in-flight / lag, dead letters with Retry. */
import { h, fill, notice } from './dom.ts';
import { apiJson, ApiError } from './api.ts';
import { formatTime } from '../lib/format.ts';
import type { Page } from './main.ts';

interface ClusterView {
  prefix: string;
  workers: Record<string, number>;
  consumers: { stream: string; consumer: string; role: string; pending: number; inFlight: number; redelivered: number }[];
  streams: { stream: string; messages: number; bytes: number }[];
  deadLetters: number;
}

interface DeadLetter {
  seq: number;
  kind: string;
  jobId?: string;
  op?: string;
  reason: string;
  attempts: number;
  subject: string;
  ts: string;
  unreadable?: true;
}

function table(id: string, head: string[], rows: (string | number | Node)[][], numeric: number[] = []): HTMLElement {
  return h(
    'table',
    { id },
    h('thead', {}, h('tr', {}, head.map((t, i) => h('th', { class: numeric.includes(i) ? 'num' : '' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: numeric.includes(i) ? 'num' : '' }, c))))),
  );
}

const kib = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

export const clusterPage: Page = (root) => {
  const workers = h('div', { id: 'workers' });
  const consumers = h('div', { id: 'consumers' });
  const streams = h('div', { id: 'streams' });
  const dlq = h('div', { id: 'dlq' });
  const status = h('p', { class: 'muted' });
  const title = h('h1', {}, 'Cluster');
  root.append(
    h('section', { class: 'card' }, title, h('h2', {}, 'Workers alive'), workers, h('h2', {}, 'Work queues'), consumers, h('h2', {}, 'Streams'), streams, status),
    h('section', { class: 'card' }, h('h2', {}, 'Dead letters'), dlq),
  );
  const retry = async (seq: number, btn: HTMLButtonElement) => {
    btn.disabled = true;
    try {
      try {
        await apiJson('POST', `/api/dlq/${seq}/retry`, {});
      } catch (err) {
        // 409: its job has ended; the server says why, and a person may still want it run.
        if (!(err instanceof ApiError && err.status === 409 && confirm(`${err.message}\n\nRetry anyway?`))) throw err;
        await apiJson('POST', `/api/dlq/${seq}/retry`, { force: true });
      }
      notice(`dead letter ${seq} sent back to work`);
      await refresh();
    } catch (err) {
      btn.disabled = false;
      notice(`retry ${seq}: ${(err as Error).message}`, 'error');
    }
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const refresh = async () => {
    clearTimeout(timer);
    try {
      const [c, d] = await Promise.all([apiJson<ClusterView>('GET', '/api/cluster'), apiJson<{ deadLetters: DeadLetter[] }>('GET', '/api/dlq')]);
      fill(title, 'Cluster ', h('span', { class: 'muted' }, c.prefix));
      fill(workers, table('workers-table', ['role', 'alive'], Object.entries(c.workers).map(([role, n]) => [role, h('span', { class: n > 0 ? 'badge state-succeeded' : 'badge state-failed' }, String(n))]), [1]));
      fill(
        consumers,
        table('consumers-table', ['consumer', 'served by', 'waiting (lag)', 'in flight', 'redelivered'], c.consumers.map((x) => [x.consumer, x.role, x.pending, x.inFlight, x.redelivered]), [2, 3, 4]),
      );
      fill(streams, table('streams-table', ['stream', 'messages', 'size'], [...c.streams.map((x) => [x.stream, x.messages, kib(x.bytes)]), ['dead letters', c.deadLetters, '']], [1, 2]));
      const letters = d.deadLetters;
      fill(
        dlq,
        letters.length
          ? table(
              'dlq-table',
              ['seq', 'when', 'kind', 'job', 'op', 'attempts', 'reason', ''],
              letters.map((l) => {
                const btn = h('button', { class: 'retry', 'data-seq': l.seq, hidden: !!l.unreadable, title: 'send the task back to work' }, 'Retry');
                btn.addEventListener('click', () => void retry(l.seq, btn));
                return [l.seq, formatTime(l.ts), l.kind, l.jobId ?? '—', l.op ?? '—', l.attempts, h('span', { class: 'reason' }, l.reason), btn];
              }),
              [0, 5],
            )
          : h('p', { class: 'muted', id: 'dlq-empty' }, 'no dead letters'),
      );
      status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      status.textContent = `could not read the cluster: ${(err as Error).message}`;
    }
    if (!stopped) timer = setTimeout(refresh, 3000);
  };
  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
};
