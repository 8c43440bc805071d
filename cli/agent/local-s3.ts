import { join, resolve, sep } from 'node:path';

/** An S3 object address: bucket and key. */
export interface S3Location {
  bucket: string;
  key: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** `s3.amazonaws.com`, `s3.eu-west-1.amazonaws.com`, `s3-eu-west-1.amazonaws.com`, `.com.cn` too. */
const S3_HOST = /^s3([.-][a-z0-9-]+)?\.amazonaws\.com(\.cn)?$/;

/**
 * The bucket and key an S3 URL names, in any form the agent accepts: path style
 * (`https://s3.REGION.amazonaws.com/BUCKET/KEY`, the form CDK's `asset.httpUrl` gives),
 * virtual-hosted (`https://BUCKET.s3.REGION.amazonaws.com/KEY`) and `s3://BUCKET/KEY`.
 * Throws naming the URL when it is none of these.
 */
export function parseS3Url(url: string): S3Location {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    throw new Error(`not an S3 URL: ${JSON.stringify(url)}`);
  }
  const path = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  let bucket: string;
  let key: string;
  if (parsed.protocol === 's3:') {
    bucket = parsed.hostname;
    key = path;
  } else if (parsed.protocol === 'https:' && S3_HOST.test(parsed.hostname)) {
    const slash = path.indexOf('/');
    bucket = slash < 0 ? path : path.slice(0, slash);
    key = slash < 0 ? '' : path.slice(slash + 1);
  } else if (parsed.protocol === 'https:') {
    const at = parsed.hostname.indexOf('.s3');
    const rest = at < 0 ? '' : parsed.hostname.slice(at + 1);
    if (at < 0 || !S3_HOST.test(rest)) throw new Error(`not an S3 URL: ${JSON.stringify(url)}`);
    bucket = parsed.hostname.slice(0, at);
    key = path;
  } else {
    throw new Error(`not an S3 URL: ${JSON.stringify(url)}`);
  }
  if (!BUCKET.test(bucket)) throw new Error(`S3 URL ${JSON.stringify(url)} names no valid bucket`);
  if (key === '') throw new Error(`S3 URL ${JSON.stringify(url)} names no key`);
  return { bucket, key };
}

/**
 * The local twin's S3: a directory holding `BUCKET/KEY` files. A key ending in `/` is a folder
 * (a prefix), as the agent's download treats it.
 */
export class LocalS3 {
  /** @param dir the directory standing for S3, e.g. `<root>/engine/s3` */
  constructor(readonly dir: string) {}

  /** The local file (or folder, for a key ending in `/`) an S3 URL maps to. */
  pathOf(url: string): string {
    const { bucket, key } = parseS3Url(url);
    const bucketDir = resolve(this.dir, bucket);
    const path = resolve(bucketDir, key);
    if (!path.startsWith(bucketDir + sep)) throw new Error(`S3 key ${JSON.stringify(key)} leaves its bucket`);
    return key.endsWith('/') ? path + sep : path;
  }

  /** The path-style https URL of `bucket/key`, the form CDK gives an asset. */
  static urlOf(bucket: string, key: string, region = 'us-east-1'): string {
    return `https://s3.${region}.amazonaws.com/${bucket}/${key}`;
  }

  /** Where `bucket/key` lives in this directory. */
  fileOf(bucket: string, key: string): string {
    return join(this.dir, bucket, key);
  }
}
