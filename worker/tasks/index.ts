// The worker's task list: one task per file, named as the crontab and add_job calls name them.
import type { TaskList } from 'graphile-worker';
import { purgeExpired } from './purge-expired.ts';

export const taskList: TaskList = {
  purge_expired: purgeExpired,
};
