/**
 * Where the demo store's packages land, per major. Rocky 8 and 9 name things differently: the
 * builder repo is PowerTools in 8 and CRB in 9, and 9 has one compose (Rocky) whose variants
 * include extras, where 8 composes Extras on its own (common_9's NONSIG_COMPOSE=(Rocky)).
 */

export const UPDATES_TAG = (major: string) => `dist-rocky${major}-updates-build`;
export const EXTRAS_TAG = (major: string) => `dist-rocky${major}-extras-build`;

export interface StoreLayout {
  /** Variant -> package names: what pungi's gather decides from its config and comps. */
  variants: Record<string, string[]>;
  /** Variant -> its one comps group. */
  compsGroups: Record<string, { id: string; name: string; packages: string[] }>;
  /** Koji tag -> compose short name. */
  tags: Record<string, string>;
  /** The config's composes for the demo: compose -> variants. */
  composes: Record<string, { variants: string[] }>;
}

export function storeLayout(major: string): StoreLayout {
  const builder = Number(major) >= 9 ? 'CRB' : 'PowerTools';
  const separateExtras = Number(major) < 9;
  return {
    variants: {
      BaseOS: ['rocky-demo-release', 'demo-hello'],
      AppStream: ['demo-tool', 'demo-modlib'],
      [builder]: ['demo-headers'],
      extras: ['demo-extras'],
    },
    compsGroups: {
      BaseOS: { id: 'core', name: 'Core', packages: ['rocky-demo-release', 'demo-hello'] },
      AppStream: { id: 'demo-tools', name: 'Demo Tools', packages: ['demo-tool'] },
      [builder]: { id: 'demo-development', name: 'Demo Development', packages: ['demo-headers'] },
    },
    tags: {
      [UPDATES_TAG(major)]: 'Rocky',
      [EXTRAS_TAG(major)]: separateExtras ? 'Extras' : 'Rocky',
    },
    composes: separateExtras
      ? { Rocky: { variants: ['BaseOS', 'AppStream', builder] }, Extras: { variants: ['extras'] } }
      : { Rocky: { variants: ['BaseOS', 'AppStream', builder, 'extras'] } },
  };
}
