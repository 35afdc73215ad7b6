// AES-256-GCM for every object the worker writes to the backup bucket (WAL, base backups, manifests).
// Object layout: "CBK1" | key-id length (1 byte) | key id (ASCII) | 12-byte IV | ciphertext | 16-byte tag.
import crypto from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

const MAGIC = Buffer.from('CBK1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface BackupKey {
  key: Buffer;
  /** First 16 hex digits of SHA-256 of the key: recorded with every object, never the key. */
  id: string;
}

export class BackupKeyError extends Error {
  override name = 'BackupKeyError';
}

/** Reads BACKUP_ENCRYPTION_KEY: 32 bytes as 64 hex digits or base64. */
export function parseBackupKey(raw: string): BackupKey {
  const text = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) {
    throw new BackupKeyError('BACKUP_ENCRYPTION_KEY must be 32 bytes as 64 hex digits or base64; generate one with: openssl rand -base64 32');
  }
  return { key, id: crypto.createHash('sha256').update(key).digest('hex').slice(0, 16) };
}

function header(key: BackupKey, iv: Buffer): Buffer {
  const id = Buffer.from(key.id, 'ascii');
  return Buffer.concat([MAGIC, Buffer.from([id.length]), id, iv]);
}

export function encryptBuffer(key: BackupKey, plain: Buffer): Buffer {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key.key, iv);
  return Buffer.concat([header(key, iv), cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** The key id an object was encrypted with (from its header). */
export function objectKeyId(data: Buffer): string {
  if (data.length < 5 || !data.subarray(0, 4).equals(MAGIC)) throw new BackupKeyError('not a Clawbase backup object (bad header)');
  return data.subarray(5, 5 + data[4]!).toString('ascii');
}

export function decryptBuffer(key: BackupKey, data: Buffer, what = 'object'): Buffer {
  const keyId = objectKeyId(data);
  if (keyId !== key.id) throw new BackupKeyError(`${what} was encrypted with key ${keyId}, but BACKUP_ENCRYPTION_KEY has id ${key.id}: set the key it was made with.`);
  const start = 5 + keyId.length;
  const iv = data.subarray(start, start + IV_BYTES);
  const decipher = crypto.createDecipheriv('aes-256-gcm', key.key, iv);
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(data.subarray(start + IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  } catch (err) {
    throw new BackupKeyError(`${what} failed authentication (corrupted or tampered with)`, { cause: err });
  }
}

/** Streaming encryption: header, ciphertext, tag at the end. */
export function encryptStream(key: BackupKey): Transform {
  const iv = crypto.randomBytes(IV_BYTES);
  const cipher = crypto.createCipheriv('aes-256-gcm', key.key, iv);
  let started = false;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      if (!started) {
        started = true;
        this.push(header(key, iv));
      }
      cb(null, cipher.update(chunk));
    },
    flush(cb: TransformCallback) {
      if (!started) this.push(header(key, iv));
      this.push(cipher.final());
      cb(null, cipher.getAuthTag());
    },
  });
}

/**
 * Streaming decryption. Plaintext is released before the tag is checked at the end, so callers
 * must check the object's SHA-256 first (restore does) and treat a failure at the end as fatal.
 */
export function decryptStream(key: BackupKey, what = 'object'): Transform {
  let head = Buffer.alloc(0);
  let decipher: crypto.DecipherGCM | undefined;
  let tail = Buffer.alloc(0);
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      try {
        if (!decipher) {
          head = Buffer.concat([head, chunk]);
          if (head.length < 5 || head.length < 5 + head[4]! + IV_BYTES) return cb();
          const keyId = objectKeyId(head);
          if (keyId !== key.id) throw new BackupKeyError(`${what} was encrypted with key ${keyId}, but BACKUP_ENCRYPTION_KEY has id ${key.id}: set the key it was made with.`);
          const start = 5 + keyId.length;
          decipher = crypto.createDecipheriv('aes-256-gcm', key.key, head.subarray(start, start + IV_BYTES));
          chunk = head.subarray(start + IV_BYTES);
        }
        const all = tail.length ? Buffer.concat([tail, chunk]) : chunk;
        const cut = Math.max(0, all.length - TAG_BYTES);
        tail = Buffer.from(all.subarray(cut));
        cb(null, cut ? decipher.update(all.subarray(0, cut)) : undefined);
      } catch (err) {
        cb(err as Error);
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (!decipher || tail.length !== TAG_BYTES) throw new BackupKeyError(`${what} is truncated`);
        decipher.setAuthTag(tail);
        cb(null, decipher.final());
      } catch (err) {
        cb(err instanceof BackupKeyError ? err : new BackupKeyError(`${what} failed authentication (corrupted or tampered with)`, { cause: err }));
      }
    },
  });
}
