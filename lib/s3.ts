// One S3 client factory for everything that talks to the object store (log flush, backups).
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Settings } from './config.ts';

export type S3ClientSettings = Pick<S3Settings, 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey' | 'forcePathStyle'>;

/**
 * An S3Client for AWS or any S3-compatible store. Checksums only when the API requires them: with
 * the SDK's defaults a streamed upload to some stores (s3rver, older MinIO) returns 200 and stores
 * the aws-chunked framing inside the object.
 */
export function makeS3Client(s: S3ClientSettings, opts: { maxAttempts?: number } = {}): S3Client {
  return new S3Client({
    region: s.region,
    endpoint: s.endpoint,
    forcePathStyle: s.forcePathStyle,
    credentials: s.accessKeyId && s.secretAccessKey ? { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey } : undefined,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: opts.maxAttempts ?? 3,
  });
}
