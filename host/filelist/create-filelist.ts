/**
 * quick-fedora-mirror's create-filelist, in modules: the list format and line rules
 * (format.ts), the temp lists written and hashed on the way (list-draft.ts), a full walk with
 * find (walk.ts), the previous list read back (list-reader.ts) and the commit that renames the
 * lists into place (commit.ts). Re-exported here for callers that want the whole of it.
 */
export { type CommitOptions, commitLists, type ListDigests } from './commit.ts';
export * from './format.ts';
export { ListDraft, type ListFacts } from './list-draft.ts';
export { fullWalk } from './walk.ts';
