import { createHash } from 'node:crypto';

/** SHA-256 as lower-case hex: signed payload hashes, the stored admin token. */
export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
