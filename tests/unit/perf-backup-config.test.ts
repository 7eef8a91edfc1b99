import { describe, expect, it } from 'vitest';
import { backupConfig } from '../../services/coordinator/context.ts';

describe('backup task settings', () => {
  it('are on by default: a second attempt after twice the median, in the last quarter of a barrier', () => {
    expect(backupConfig({})).toEqual({ on: true, after: 2, tail: 0.25 });
  });

  it('are turned off and tuned by MR_BACKUP_TASKS, MR_BACKUP_AFTER and MR_BACKUP_TAIL', () => {
    expect(backupConfig({ MR_BACKUP_TASKS: 'off', MR_BACKUP_AFTER: '3.5', MR_BACKUP_TAIL: '0.1' })).toEqual({ on: false, after: 3.5, tail: 0.1 });
  });

  it('refuse a bad value, naming the variable', () => {
    expect(() => backupConfig({ MR_BACKUP_TASKS: 'maybe' })).toThrow(/MR_BACKUP_TASKS/);
    expect(() => backupConfig({ MR_BACKUP_AFTER: '0.5' })).toThrow(/MR_BACKUP_AFTER/);
  });
});
