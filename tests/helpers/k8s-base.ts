/** Shared types and helpers of the Kubernetes manifest checks (k8s-checks.ts and its parts). */
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { TASK_KINDS, WORKER_OF } from '../../shared/protocol/names.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One rendered object: what every check looks at. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  [key: string]: unknown;
}

export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The services the image runs (`node bin/llmxmr.js service <name>`). */
export const SERVICES = ['coordinator', ...TASK_KINDS.map((k) => WORKER_OF[k])] as const;
/** The repository name of our image, whatever the registry and tag. */
export const OUR_IMAGE = 'llmxmapreduce';

export const id = (o: { kind?: unknown; metadata?: { name?: unknown } }) =>
  `${String(o.kind)}/${String(o.metadata?.name)}`;

export const gvk = (o: K8sObject) => `${o.apiVersion}/${o.kind}`;
