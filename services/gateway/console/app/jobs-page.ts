/** The jobs page: every job with its state, pipeline, start, wall time, tokens and cost (live), and the submit form. */
import { h, fill } from './dom.ts';
import { apiJson } from './api.ts';
import { formatCount, formatDollars, formatMs, formatTime, wallMs } from '../lib/format.ts';
import { submitForm } from './submit-form.ts';
import type { Page } from './main.ts';

export interface JobRow {
  jobId: string;
  pipeline: string;
  state: string;
  owner?: string;
  submittedAt?: string | null;
  startedAt?: string | null;
  finishedAt?: string | null;
  wallMs?: number | null;
  usage?: { calls?: number; tokens?: number; promptTokens?: number; completionTokens?: number; costDollars?: number } | null;
}

export function stateBadge(state: string): HTMLElement {
  return h('span', { class: `badge state-${state}`, 'data-state': state }, state);
}

export const tokensOf = (u: JobRow['usage']) => (u ? (u.tokens ?? (u.promptTokens ?? 0) + (u.completionTokens ?? 0)) : undefined);

function rows(jobs: JobRow[]): HTMLElement[] {
  return jobs.map((j) =>
    h(
      'tr',
      { 'data-job': j.jobId },
      h('td', {}, h('a', { href: `#/job/${encodeURIComponent(j.jobId)}` }, j.jobId)),
      h('td', {}, stateBadge(j.state)),
      h('td', {}, j.pipeline),
      h('td', {}, formatTime(j.startedAt ?? j.submittedAt)),
      h('td', { class: 'num' }, formatMs(wallMs(j))),
      h('td', { class: 'num' }, formatCount(j.usage?.calls)),
      h('td', { class: 'num' }, formatCount(tokensOf(j.usage))),
      h('td', { class: 'num' }, formatDollars(j.usage?.costDollars)),
    ),
  );
}

export const jobsPage: Page = (root) => {
  const body = h('tbody', {}, h('tr', {}, h('td', { colspan: 8 }, 'loading…')));
  const status = h('p', { class: 'muted', id: 'jobs-status' });
  const table = h(
    'table',
    { class: 'jobs', id: 'jobs-table' },
    h('thead', {}, h('tr', {}, ...['job', 'state', 'pipeline', 'started', 'wall time', 'calls', 'tokens', 'cost'].map((t) => h('th', {}, t)))),
    body,
  );
  root.append(h('section', { class: 'card' }, h('h1', {}, 'Jobs'), table, status), submitForm());

  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const refresh = async () => {
    try {
      const { jobs } = await apiJson<{ jobs: JobRow[] }>('GET', '/api/jobs?limit=100');
      if (jobs.length) fill(body, rows(jobs));
      else fill(body, h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No jobs yet: submit one below.')));
      status.textContent = `${jobs.length} job(s), updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      status.textContent = `could not list jobs: ${(err as Error).message}`;
    }
    if (!stopped) timer = setTimeout(refresh, 2000);
  };
  void refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
};

