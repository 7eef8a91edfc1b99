/** A service role as a child process for kill tests: the real role, plus test ops and scripts. */
import { loadEnv } from '../../shared/config/env.ts';
import { startRole, type Role } from '../../services/role.ts';
import { TEST_OPS, fanoutScript } from './test-ops.ts';

const role = process.argv[2] as Role;
const h = await startRole(role, { env: loadEnv(), extraOps: TEST_OPS, extraScripts: { v1: fanoutScript } });
process.on('SIGTERM', () => void h.stop().then(() => process.exit(0)));
