/** Entry of `releng-host OPERATION --root DIR …`; operations register in host/operations. */
export async function main(argv: string[]): Promise<number> {
  process.stderr.write(`releng-host: no operations yet (${argv[0] ?? 'none given'})\n`);
  return 2;
}
