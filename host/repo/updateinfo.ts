import {
  childElements,
  detached,
  element,
  firstChild,
  parseXml,
  rootElement,
  serializeXml,
  textOf,
  type XmlElement,
} from '../../shared/xml/document.ts';

/** The parts of updateinfo.xml the pipeline checks: advisory ids and the packages each names. */
export interface AdvisoryPackage {
  name: string;
  arch: string;
  filename: string;
}

export interface Advisory {
  id: string;
  packages: AdvisoryPackage[];
  /** Short names of the advisory's package collections (`rocky-linux-8-baseos-rpms`). */
  collections: string[];
  /** The `<update>` element as parsed, written back as it was into filtered files. */
  element: XmlElement;
}

function advisory(update: XmlElement): Advisory {
  const idElement = firstChild(update, 'id');
  const id = idElement && textOf(idElement).trim();
  if (!id) throw new Error('an <update> has no <id>');
  const packages: AdvisoryPackage[] = [];
  const collections: string[] = [];
  for (const pkglist of childElements(update, 'pkglist'))
    for (const collection of childElements(pkglist, 'collection')) {
      if (collection.attributes.short) collections.push(collection.attributes.short);
      for (const pkg of childElements(collection, 'package')) {
        const file = firstChild(pkg, 'filename');
        const filename = file && textOf(file).trim();
        const { name, arch } = pkg.attributes;
        if (!filename || !name || !arch)
          throw new Error(`advisory ${id} has a package without name, arch or filename`);
        packages.push({ name, arch, filename });
      }
    }
  return { id, packages, collections, element: update };
}

export function parseUpdateinfo(xml: string): Advisory[] {
  const root = parseXml(xml, 'updateinfo.xml');
  if (root.local !== 'updates')
    throw new Error(`not an updateinfo document (no <updates>; the root element is <${root.name}>)`);
  return childElements(root, 'update').map(advisory);
}

/** An updateinfo document holding only `advisories`, its root in their namespace. */
export function updateinfoXml(advisories: Advisory[]): string {
  const first = advisories[0]?.element;
  const root = first ? detached(element(first, 'updates')) : rootElement('updates');
  root.children = advisories.flatMap((a) => [{ text: '\n  ' }, detached(a.element, root.scope)]);
  root.children.push({ text: '\n' });
  return serializeXml(root);
}

/** The packages of an advisory a repo of `arch` must carry (its arch and noarch; no sources). */
export function packagesFor(advisory: Advisory, arch: string): AdvisoryPackage[] {
  return advisory.packages.filter((p) => p.arch === arch || p.arch === 'noarch');
}
