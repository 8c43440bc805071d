import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { CHECKSUMS_HEADER, type Checksum, LIST_HEADER } from './format.ts';

/** A time list that is not in the format file-lists writes. */
export class MalformedList extends Error {
  override readonly name = 'MalformedList';
}

/**
 * What reads a time list's lines. [Files] lines come as byte offsets into a buffer that is
 * reused once `flush` has been called, so a sink can copy runs of lines without decoding them.
 */
export interface TimeListSink {
  /**
   * One [Files] line, bytes [start, nl) of `buf`: its path starts at `pathStart`, its directory
   * is [pathStart, parentEnd) (empty for a top-level entry), `type` is the letter's byte.
   */
  file(buf: Buffer, start: number, pathStart: number, parentEnd: number, nl: number, type: number): void;
  /** The [Files] lines handed so far end at `end`; `buf` is reused after this. */
  flush(buf: Buffer, end: number): void;
  checksum(checksum: Checksum): void;
}

const READ_CHUNK = 1 << 20;
const NEWLINE = 10;
const TAB = 9;
const SLASH = 47;
const HEADER_LINES = LIST_HEADER.split('\n').slice(0, -1);

type Section = 'header' | 'files' | 'checksums-header' | 'checksums' | 'end' | 'after';

/**
 * Streams a time list through `sink` in large reads, checking its sections as it goes; returns
 * the SHA-1 of the bytes read. A missing file throws ENOENT; anything else out of place
 * throws MalformedList.
 */
export function readTimeList(path: string, sink: TimeListSink): string {
  const fd = openSync(path, 'r');
  const hash = createHash('sha1');
  let section = 'header' as Section;
  let lineNo = 0;
  const malformed = () => new MalformedList(`${path} is not a list file-lists wrote (line ${lineNo})`);

  /** A line outside [Files]: few, decoded. */
  const otherLine = (line: string) => {
    if (section === 'checksums') {
      if (line === '') section = 'end';
      else {
        const tab = line.indexOf('\t');
        if (tab < 0) throw malformed();
        sink.checksum({ path: line.slice(tab + 1), sha1: line.slice(0, tab) });
      }
    } else if (section === 'header') {
      if (line !== HEADER_LINES[lineNo - 1]) throw malformed();
      if (lineNo === HEADER_LINES.length) section = 'files';
    } else if (section === 'checksums-header') {
      if (line !== CHECKSUMS_HEADER) throw malformed();
      section = 'checksums';
    } else if (section === 'end') {
      if (line !== '[End]') throw malformed();
      section = 'after';
    } else throw malformed();
  };

  /** Handles the whole lines in buf[0, end); returns where the first incomplete one starts. */
  const lines = (buf: Buffer, end: number): number => {
    let pos = 0;
    for (let nl = buf.indexOf(NEWLINE, pos); nl >= 0 && nl < end; nl = buf.indexOf(NEWLINE, pos)) {
      const start = pos;
      pos = nl + 1;
      lineNo++;
      if (section !== 'files') {
        otherLine(buf.toString('utf8', start, nl));
        continue;
      }
      if (nl === start) {
        sink.flush(buf, start);
        section = 'checksums-header';
        continue;
      }
      // `<mtime>\t<type>\t<size>\t<path>`: the path starts after the third tab, its directory
      // ends at its last slash.
      let type = 0;
      let pathStart = start;
      for (let tabs = 0; tabs < 3; pathStart++) {
        if (pathStart === nl) throw malformed();
        if (buf[pathStart] === TAB && ++tabs === 1) type = buf[pathStart + 1]!;
      }
      let parentEnd = nl - 1;
      while (parentEnd > pathStart && buf[parentEnd] !== SLASH) parentEnd--;
      sink.file(buf, start, pathStart, parentEnd, nl, type);
    }
    if (section === 'files') sink.flush(buf, pos);
    return pos;
  };

  let buf = Buffer.allocUnsafe(READ_CHUNK);
  let have = 0;
  try {
    for (;;) {
      if (have === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]); // a huge line
      const n = readSync(fd, buf, have, buf.length - have, null);
      if (n === 0) break;
      hash.update(buf.subarray(have, have + n));
      have += n;
      const used = lines(buf, have);
      buf.copyWithin(0, used, have);
      have -= used;
    }
  } finally {
    closeSync(fd);
  }
  if (have > 0 || section !== 'after') throw malformed();
  return hash.digest('hex');
}
