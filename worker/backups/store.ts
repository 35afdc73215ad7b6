// The backup bucket: encrypted objects written once, verified after upload (size, MD5 ETag) and
// carrying their SHA-256 so a restore can tell a damaged object before it unpacks anything.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BackupConfig, S3Settings } from '../../lib/config.ts';
import { makeS3Client } from '../../lib/s3.ts';
import { parseBackupKey, type BackupKey } from './crypto.ts';

export interface BackupStore {
  client: S3Client;
  bucket: string;
  /** Key prefix, without trailing slash. */
  prefix: string;
  key: BackupKey;
}

export interface StoredObject {
  key: string;
  size: number;
  sha256: string;
}

export const storeUrl = (store: BackupStore, key: string) => `s3://${store.bucket}/${key}`;

/** Uploads a file or buffer and checks what the store kept: same size, same MD5 (ETag), SHA-256 in its metadata. */
export async function putVerified(store: BackupStore, key: string, body: Buffer | { file: string }): Promise<StoredObject> {
  const data = Buffer.isBuffer(body) ? body : undefined;
  const file = Buffer.isBuffer(body) ? undefined : body.file;
  const sha = crypto.createHash('sha256');
  const md5 = crypto.createHash('md5');
  let size = 0;
  if (data) {
    sha.update(data);
    md5.update(data);
    size = data.length;
  } else {
    for await (const chunk of fs.createReadStream(file!)) {
      sha.update(chunk as Buffer);
      md5.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  }
  const sha256 = sha.digest('hex');
  const md5hex = md5.digest('hex');
  await store.client.send(
    new PutObjectCommand({
      Bucket: store.bucket,
      Key: key,
      Body: data ?? fs.createReadStream(file!),
      ContentLength: size,
      ContentType: 'application/octet-stream',
      Metadata: { sha256, 'key-id': store.key.id },
    }),
  );
  const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
  const etag = (head.ETag ?? '').replace(/"/g, '');
  if (head.ContentLength !== size) throw new Error(`upload of ${key} not verified: the store holds ${head.ContentLength} bytes, we sent ${size}`);
  // A single-part upload's ETag is the MD5 of the bytes on stores without KMS encryption.
  if (/^[0-9a-f]{32}$/.test(etag) && etag !== md5hex) throw new Error(`upload of ${key} not verified: ETag ${etag} is not the MD5 ${md5hex} of what we sent`);
  if (head.Metadata?.sha256 !== sha256) throw new Error(`upload of ${key} not verified: its stored SHA-256 is missing or wrong`);
  return { key, size, sha256 };
}

export async function listKeys(store: BackupStore, under: string): Promise<Array<{ key: string; size: number }>> {
  const out: Array<{ key: string; size: number }> = [];
  let token: string | undefined;
  do {
    const r = await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: `${store.prefix}/${under}`, ContinuationToken: token }));
    out.push(...(r.Contents ?? []).map((c) => ({ key: c.Key!, size: c.Size ?? 0 })));
    token = r.NextContinuationToken;
  } while (token);
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

export async function getBuffer(store: BackupStore, key: string): Promise<Buffer> {
  const r = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

/** Downloads to a file and returns its SHA-256, to compare with the one recorded at backup time. */
export async function getToFile(store: BackupStore, key: string, file: string): Promise<string> {
  const r = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }));
  const sha = crypto.createHash('sha256');
  const body = r.Body as Readable;
  body.on('data', (c: Buffer) => sha.update(c));
  await pipeline(body, fs.createWriteStream(file));
  return sha.digest('hex');
}

export async function deleteKeys(store: BackupStore, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    await store.client.send(new DeleteObjectsCommand({ Bucket: store.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
  }
}

/** The backup bucket from the configuration; undefined when S3_BUCKET_BACKUPS is not set. */
export function openBackupStore(backups: BackupConfig, s3: S3Settings): BackupStore | undefined {
  if (!backups.bucket || !backups.encryptionKey) return undefined;
  return { client: makeS3Client(s3), bucket: backups.bucket, prefix: backups.prefix, key: parseBackupKey(backups.encryptionKey) };
}
