/** The mapper service as its own process (one role per pod on Kubernetes). */
import { loadEnv } from '../../shared/config/env.ts';
import { runRoleMain } from '../role.ts';

await runRoleMain('mapper', loadEnv());
