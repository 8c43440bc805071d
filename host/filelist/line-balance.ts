import { createHash } from 'node:crypto';

/**
 * An order-free account of how the new lines differ from the previous list's: the SHA-1 of each
 * line added or taken away, summed lane by lane (mod 2^32). It balances to zero exactly when the
 * lines written afresh are the lines dropped, in any order: the list's content did not change,
 * although its order did, and the lists on disk can stay (a rerun changes nothing). Only lines
 * of changed directories pass through it, and none once a difference is certain (`differs`).
 */
export class LineBalance {
  private readonly lanes = new Uint32Array(5);
  private count = 0;
  /** A difference is certain: nothing more to add up. */
  settled = false;

  add(line: string): void {
    if (!this.settled) this.fold(line, 1);
  }

  remove(line: string): void {
    if (!this.settled) this.fold(line, -1);
  }

  differs(): void {
    this.settled = true;
  }

  get balanced(): boolean {
    return !this.settled && this.count === 0 && this.lanes.every((lane) => lane === 0);
  }

  private fold(line: string, sign: 1 | -1): void {
    const digest = createHash('sha1').update(line).digest();
    for (let i = 0; i < 5; i++) this.lanes[i] = this.lanes[i]! + sign * digest.readUInt32BE(i * 4);
    this.count += sign;
  }
}
