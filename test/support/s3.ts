// s3rver (an in-process S3 stand-in) on a free loopback port, with a client for checking objects.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
// @ts-expect-error s3rver ships no type declarations
import S3rver from 's3rver';
import type { S3Settings } from '../../lib/config.ts';
import { makeS3Client } from '../../lib/s3.ts';
import { freePort } from './ports.ts';

export interface TestS3 {
  settings: S3Settings;
  client: S3Client;
  keys(prefix?: string): Promise<string[]>;
  /** Stops the server (the data stays), so the next start serves the same objects. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startS3(bucket: string): Promise<TestS3> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maintenance-s3rver-'));
  const port = await freePort();
  let server: { run(): Promise<unknown>; close(): Promise<void> } | undefined;
  const start = async () => {
    server = new S3rver({ port, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: [{ name: bucket }] });
    await server!.run();
  };
  await start();
  const settings: S3Settings = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
    logsBucket: bucket,
  };
  const client = makeS3Client(settings, { maxAttempts: 1 });
  return {
    settings,
    client,
    async keys(prefix = '') {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        out.push(...(r.Contents ?? []).map((c) => c.Key!));
        token = r.NextContinuationToken;
      } while (token);
      return out.sort();
    },
    async stop() {
      await server?.close();
      server = undefined;
    },
    start,
    async close() {
      await server?.close();
      client.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
