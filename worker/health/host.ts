// Host figures from /proc and statfs: CPU busy share, memory in use, disk use, network bytes.
import fs from 'node:fs';

interface CpuSample {
  idle: number;
  total: number;
}

function cpuSample(): CpuSample {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { idle, total: v.reduce((a, b) => a + b, 0) };
}

function meminfo(): { totalBytes: number; availableBytes: number } {
  const text = fs.readFileSync('/proc/meminfo', 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0) * 1024;
  return { totalBytes: kb('MemTotal'), availableBytes: kb('MemAvailable') };
}

function network(): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of fs.readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2)) {
    const [name, rest] = line.split(':');
    if (!rest || name!.trim() === 'lo') continue;
    const f = rest.trim().split(/\s+/).map(Number);
    rxBytes += f[0] ?? 0;
    txBytes += f[8] ?? 0;
  }
  return { rxBytes, txBytes };
}

export interface DiskUsage {
  path: string;
  totalBytes: number;
  freeBytes: number;
  usedPercent: number;
}

export function diskUsage(path: string): DiskUsage {
  const s = fs.statfsSync(path);
  const total = s.blocks * s.bsize;
  // Used as df counts it: blocks minus those free to everyone, over what non-root users can reach.
  const used = (s.blocks - s.bfree) * s.bsize;
  const avail = s.bavail * s.bsize;
  return { path, totalBytes: total, freeBytes: avail, usedPercent: used + avail > 0 ? (100 * used) / (used + avail) : 0 };
}

export interface HostMetrics {
  cpuPercent: number;
  cores: number;
  load1: number;
  memTotalBytes: number;
  memUsedPercent: number;
  disk: DiskUsage;
  netRxBytes: number;
  netTxBytes: number;
  netRxBytesPerSec: number;
  netTxBytesPerSec: number;
}

/** Samples CPU and network over `sampleMs` (two readings of /proc), the rest once. */
export async function hostMetrics(diskPath: string, sampleMs = 250): Promise<HostMetrics> {
  const c0 = cpuSample();
  const n0 = network();
  await new Promise((r) => setTimeout(r, sampleMs));
  const c1 = cpuSample();
  const n1 = network();
  const dt = c1.total - c0.total;
  const mem = meminfo();
  const load1 = Number(fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  const secs = sampleMs / 1000;
  return {
    cpuPercent: dt > 0 ? round(100 * (1 - (c1.idle - c0.idle) / dt)) : 0,
    cores: fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:/gm)?.length ?? 1,
    load1,
    memTotalBytes: mem.totalBytes,
    memUsedPercent: mem.totalBytes ? round(100 * (1 - mem.availableBytes / mem.totalBytes)) : 0,
    disk: { ...diskUsage(diskPath), usedPercent: round(diskUsage(diskPath).usedPercent) },
    netRxBytes: n1.rxBytes,
    netTxBytes: n1.txBytes,
    netRxBytesPerSec: Math.round((n1.rxBytes - n0.rxBytes) / secs),
    netTxBytesPerSec: Math.round((n1.txBytes - n0.txBytes) / secs),
  };
}

const round = (x: number) => Math.round(x * 10) / 10;
