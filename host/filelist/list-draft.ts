import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CHECKSUMS_HEADER,
  type Checksum,
  checksumLine,
  LIST_END,
  LIST_HEADER,
  type TreeListNames,
} from './format.ts';

const WRITE_CHUNK = 1 << 20;
/** Text is encoded sooner: a long rope of small strings outlives young-generation GCs. */
const TEXT_CHUNK = 1 << 16;

/**
 * A temp file written in large sequential writes, its SHA-1 and size computed on the way. Text is
 * gathered as a string and encoded in large pieces; bytes (lines reused from the previous list)
 * are copied into a buffer, so they are never decoded and encoded again.
 */
export class HashedOutput {
  private text = '';
  private readonly bytes = Buffer.allocUnsafe(WRITE_CHUNK);
  private used = 0;
  private readonly hash = createHash('sha1');
  private fd: number | undefined;
  size = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'wx');
  }

  write(text: string): void {
    if (this.used) {
      // Among copied bytes (a fresh line between reused ones): encode it right there.
      if (this.used + text.length * 3 <= WRITE_CHUNK) {
        this.used += this.bytes.write(text, this.used, 'utf8');
        return;
      }
      this.flushBytes();
    }
    this.text += text;
    if (this.text.length >= TEXT_CHUNK) this.flushText();
  }

  /** Writes bytes [start, end) of `src`. */
  writeBytes(src: Buffer, start: number, end: number): void {
    if (this.text) this.flushText();
    const length = end - start;
    if (this.used + length > WRITE_CHUNK) this.flushBytes();
    if (length > WRITE_CHUNK) this.emit(src.subarray(start, end));
    else this.used += src.copy(this.bytes, this.used, start, end);
  }

  private flushText(): void {
    const text = this.text;
    this.text = '';
    this.emit(Buffer.from(text, 'utf8'));
  }

  private flushBytes(): void {
    const used = this.used;
    this.used = 0;
    this.emit(this.bytes.subarray(0, used));
  }

  private emit(bytes: Buffer): void {
    this.hash.update(bytes);
    for (let done = 0; done < bytes.length; ) done += writeSync(this.fd!, bytes, done);
    this.size += bytes.length;
  }

  /** Flushes and closes; the SHA-1 of everything written. */
  close(): string {
    if (this.text) this.flushText();
    if (this.used) this.flushBytes();
    closeSync(this.fd!);
    this.fd = undefined;
    return this.hash.digest('hex');
  }

  abandon(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

export interface ListFacts {
  sha1: string;
  size: number;
}

/** Writes to a hidden temp name in `dir`; the commit renames it into place. */
export function tempIn(dir: string, name: string): string {
  return join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Both lists of one tree while they are written, under temp names in `tempDir`. */
export class ListDraft {
  readonly fileList: HashedOutput;
  readonly timeList: HashedOutput;
  entries = 0;

  constructor(tempDir: string, names: TreeListNames) {
    this.fileList = new HashedOutput(tempIn(tempDir, 'fullfilelist'));
    this.timeList = new HashedOutput(tempIn(tempDir, names.timeList));
    this.timeList.write(LIST_HEADER);
  }

  /** One listed entry: its time-list line (no newline) and its path. */
  add(line: string, path: string): void {
    this.entries++;
    this.timeList.write(`${line}\n`);
    this.fileList.write(`${path}\n`);
  }

  /** Whole time-list lines reused as they are: bytes [start, end) of `src`. */
  keepLines(src: Buffer, start: number, end: number): void {
    if (end > start) this.timeList.writeBytes(src, start, end);
  }

  /** The entry of one reused line: its path and newline, bytes [start, end) of `src`. */
  keepPath(src: Buffer, start: number, end: number): void {
    this.entries++;
    this.fileList.writeBytes(src, start, end);
  }

  /**
   * A line of a nested tree's list, its path put under `prefix` (`rocky/`): bytes [start, end)
   * of `src` are the line with its newline, its path starting at `pathStart`.
   */
  addNested(src: Buffer, start: number, pathStart: number, end: number, prefix: Buffer): void {
    this.entries++;
    this.timeList.writeBytes(src, start, pathStart);
    this.timeList.writeBytes(prefix, 0, prefix.length);
    this.timeList.writeBytes(src, pathStart, end);
    this.fileList.writeBytes(prefix, 0, prefix.length);
    this.fileList.writeBytes(src, pathStart, end);
  }

  /** Ends the time list with the checksums, sorted by path as create-filelist does. */
  finish(checksums: Checksum[]): { timeList: ListFacts; fileList: ListFacts } {
    this.timeList.write(`\n${CHECKSUMS_HEADER}\n`);
    for (const checksum of checksums.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)))
      this.timeList.write(`${checksumLine(checksum)}\n`);
    this.timeList.write(LIST_END);
    return {
      timeList: { sha1: this.timeList.close(), size: this.timeList.size },
      fileList: { sha1: this.fileList.close(), size: this.fileList.size },
    };
  }

  async discard(): Promise<void> {
    this.fileList.abandon();
    this.timeList.abandon();
    await Promise.all([this.fileList.path, this.timeList.path].map((t) => rm(t, { force: true })));
  }
}
