/** The cluster page: workers alive per kind, per-stream pending / in-flight / lag, dead letters with Retry. */
import { h, fill, notice } from './dom.ts';
import { apiJson } from './api.ts';
import { formatTime } from '../lib/format.ts';
import type { Page } from './main.ts';

type Rec = Record<string, unknown>;

const scalar = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/** A table of records: the union of their scalar keys as columns, in first-seen order. */
function recordTable(rows: Rec[], id: string, first: string[] = []): HTMLElement {
  const cols = [...new Set([...first.filter((k) => rows.some((r) => k in r)), ...rows.flatMap((r) => Object.keys(r))])];
  return h(
    'table',
    { id },
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', { class: typeof r[c] === 'number' ? 'num' : '' }, scalar(r[c])))))),
  );
}

/** `{kind: n}` or `[{kind, alive|count}]` → rows. */
function workerRows(v: unknown): Rec[] {
  if (Array.isArray(v)) return v as Rec[];
  if (v && typeof v === 'object') return Object.entries(v as Rec).map(([kind, n]) => (n && typeof n === 'object' ? { kind, ...(n as Rec) } : { kind, alive: n }));
  return [];
}

/** `[{stream, …}]` or `{name: {…}}` → rows. */
function streamRows(v: unknown): Rec[] {
  if (Array.isArray(v)) return v as Rec[];
  if (v && typeof v === 'object') return Object.entries(v as Rec).map(([stream, s]) => ({ stream, ...(s as Rec) }));
  return [];
}

interface DeadLetter {
  seq: number;
  subject?: string;
  reason?: string;
  jobId?: string;
  op?: string;
  at?: string;
  ts?: string;
  [k: string]: unknown;
}

export const clusterPage: Page = (root) => {
  const workers = h('div', { id: 'workers' });
  const streams = h('div', { id: 'streams' });
  const dlq = h('div', { id: 'dlq' });
  const status = h('p', { class: 'muted' });
  root.append(
    h('section', { class: 'card' }, h('h1', {}, 'Cluster'), h('h2', {}, 'Workers alive'), workers, h('h2', {}, 'Streams'), streams, status),
    h('section', { class: 'card' }, h('h2', {}, 'Dead letters'), dlq),
  );
  const retry = async (seq: number, btn: HTMLButtonElement) => {
    btn.disabled = true;
    try {
      await apiJson('POST', `/api/dlq/${seq}/retry`);
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
      const [c, d] = await Promise.all([apiJson<Rec>('GET', '/api/cluster'), apiJson<DeadLetter[] | { deadLetters?: DeadLetter[]; items?: DeadLetter[] }>('GET', '/api/dlq')]);
      const w = workerRows(c.workers);
      fill(workers, w.length ? recordTable(w, 'workers-table', ['kind', 'alive']) : h('p', { class: 'muted' }, 'no worker has reported'));
      const s = streamRows(c.streams);
      fill(streams, s.length ? recordTable(s, 'streams-table', ['stream', 'pending', 'inFlight', 'lag']) : h('p', { class: 'muted' }, 'no streams'));
      const letters = Array.isArray(d) ? d : (d.deadLetters ?? d.items ?? []);
      fill(
        dlq,
        letters.length
          ? h(
              'table',
              { id: 'dlq-table' },
              h('thead', {}, h('tr', {}, ['seq', 'when', 'subject', 'job', 'reason', ''].map((t) => h('th', {}, t)))),
              h('tbody', {}, letters.map((l) => {
                const btn = h('button', { class: 'retry', 'data-seq': l.seq }, 'Retry');
                btn.addEventListener('click', () => void retry(l.seq, btn));
                return h('tr', { 'data-seq': l.seq }, h('td', { class: 'num' }, String(l.seq)), h('td', {}, formatTime(l.at ?? l.ts)), h('td', {}, h('code', {}, l.subject ?? '')), h('td', {}, l.jobId ?? ''), h('td', { class: 'reason' }, l.reason ?? ''), h('td', {}, btn));
              })),
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
