/**
 * The parts of updateinfo.xml the pipeline checks: advisory ids and the packages each names.
 * Parsed with anchored patterns over the flat format Apollo and createrepo tools write.
 */
export interface AdvisoryPackage {
  name: string;
  arch: string;
  filename: string;
}

export interface Advisory {
  id: string;
  packages: AdvisoryPackage[];
  /** The `<update>…</update>` element as it appeared, to write filtered files. */
  xml: string;
}

const attr = (tag: string, name: string) => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];

export function parseUpdateinfo(xml: string): Advisory[] {
  if (!/<updates[\s>]/.test(xml) && !/<updates\/>/.test(xml))
    throw new Error('not an updateinfo document (no <updates>)');
  const advisories: Advisory[] = [];
  for (const match of xml.matchAll(/<update\b[^>]*>[\s\S]*?<\/update>/g)) {
    const block = match[0];
    const id = /<id>\s*([^<\s]+)\s*<\/id>/.exec(block)?.[1];
    if (!id) throw new Error('an <update> has no <id>');
    const packages: AdvisoryPackage[] = [];
    for (const pkg of block.matchAll(/<package\b([^>]*)>([\s\S]*?)<\/package>/g)) {
      const filename = /<filename>\s*([^<\s]+)\s*<\/filename>/.exec(pkg[2]!)?.[1];
      const name = attr(pkg[1]!, 'name');
      const arch = attr(pkg[1]!, 'arch');
      if (!filename || !name || !arch)
        throw new Error(`advisory ${id} has a package without name, arch or filename`);
      packages.push({ name, arch, filename });
    }
    advisories.push({ id, packages, xml: block });
  }
  return advisories;
}

/** An updateinfo document holding only `advisories`. */
export function updateinfoXml(advisories: Advisory[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<updates>\n${advisories.map((a) => `  ${a.xml}`).join('\n')}\n</updates>\n`;
}

/** The packages of an advisory a repo of `arch` must carry (its arch and noarch; no sources). */
export function packagesFor(advisory: Advisory, arch: string): AdvisoryPackage[] {
  return advisory.packages.filter((p) => p.arch === arch || p.arch === 'noarch');
}
