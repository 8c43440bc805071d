/**
 * `.treeinfo` (productmd, configparser syntax) read and written keeping section and key order,
 * so what we do not touch stays as pungi wrote it.
 */
export type TreeInfo = Array<{ section: string; entries: Array<[string, string]> }>;

export function parseTreeInfo(text: string): TreeInfo {
  const sections: TreeInfo = [];
  let current: TreeInfo[number] | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = { section: header[1]!, entries: [] };
      sections.push(current);
      continue;
    }
    const eq = line.search(/[=:]/);
    if (!current || eq < 0) throw new Error(`.treeinfo: cannot read line ${JSON.stringify(raw)}`);
    current.entries.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return sections;
}

export function renderTreeInfo(info: TreeInfo): string {
  return `${info.map((s) => [`[${s.section}]`, ...s.entries.map(([k, v]) => `${k} = ${v}`)].join('\n')).join('\n\n')}\n`;
}

function set(info: TreeInfo, section: string, key: string, value: string): void {
  let s = info.find((x) => x.section === section);
  if (!s) {
    s = { section, entries: [] };
    info.push(s);
  }
  const entry = s.entries.find(([k]) => k === key);
  if (entry) entry[1] = value;
  else s.entries.push([key, value]);
}

/**
 * The seed's treeinfoModder: BaseOS's tree also names the AppStream variant, so the installer
 * finds AppStream from the BaseOS tree. `kind` is `os` or `kickstart` (the frozen GA tree).
 * Running it on its own output changes nothing.
 */
export function withAppStreamVariant(text: string, arch: string, kind: 'os' | 'kickstart'): string {
  const info = parseTreeInfo(text);
  const variants = (
    info.find((s) => s.section === 'tree')?.entries.find(([k]) => k === 'variants')?.[1] ?? 'BaseOS'
  )
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (!variants.includes('AppStream')) variants.push('AppStream');
  set(info, 'tree', 'variants', variants.join(','));
  const base = `../../../AppStream/${arch}/${kind}`;
  for (const [key, value] of [
    ['id', 'AppStream'],
    ['name', 'AppStream'],
    ['packages', `${base}/Packages`],
    ['repository', `${base}/`],
    ['type', 'variant'],
    ['uid', 'AppStream'],
  ] as const)
    set(info, 'variant-AppStream', key, value);
  return renderTreeInfo(info);
}
