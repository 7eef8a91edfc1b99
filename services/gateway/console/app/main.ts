/**
 * The console's entry: a hash router over three pages (#/jobs, #/job/ID, #/cluster). Each page
 * renders into the main element and returns a function that stops its polling and streams.
 */
import { h, fill } from './dom.ts';
import { jobsPage } from './jobs-page.ts';
import { jobPage } from './job-page.ts';
import { clusterPage } from './cluster-page.ts';

export type Page = (root: HTMLElement, params: Record<string, string>) => () => void;

const routes: { pattern: RegExp; page: Page; keys: string[]; nav: string }[] = [
  { pattern: /^#\/jobs\/?$/, page: jobsPage, keys: [], nav: 'jobs' },
  { pattern: /^#\/job\/([A-Za-z0-9_-]+)\/?$/, page: jobPage, keys: ['id'], nav: 'jobs' },
  { pattern: /^#\/cluster\/?$/, page: clusterPage, keys: [], nav: 'cluster' },
];

let stop: (() => void) | null = null;

function route(): void {
  const hash = location.hash || '#/jobs';
  if (!hash.startsWith('#/')) return; // an in-page anchor (a citation's reference): keep the page
  const r = routes.find((x) => x.pattern.test(hash));
  if (!r) {
    location.hash = '#/jobs';
    return;
  }
  const m = r.pattern.exec(hash)!;
  const params = Object.fromEntries(r.keys.map((k, i) => [k, decodeURIComponent(m[i + 1])]));
  stop?.();
  const main = document.getElementById('main')!;
  main.replaceChildren();
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.getAttribute('data-nav') === r.nav);
  stop = r.page(main, params);
}

function boot(): void {
  const header = document.getElementById('top')!;
  fill(
    header,
    h('a', { class: 'brand', href: '#/jobs' }, 'LLM×MapReduce'),
    h('nav', {}, h('a', { href: '#/jobs', 'data-nav': 'jobs' }, 'Jobs'), h('a', { href: '#/cluster', 'data-nav': 'cluster' }, 'Cluster')),
  );
  window.addEventListener('hashchange', route);
  route();
}

boot();
