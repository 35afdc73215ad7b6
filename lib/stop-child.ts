// Stopping a child process the same way everywhere: SIGTERM, then SIGKILL if it is still there
// after a grace period.
import type { ChildProcess } from 'node:child_process';

export async function stopChild(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
