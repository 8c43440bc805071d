import * as z from 'zod';
import { PATTERNS, type PatternName } from './patterns.ts';

/** A string schema for one of the shared patterns, failing with "not a valid <what>". */
export const matching = (name: PatternName, what: string) =>
  z.string().regex(new RegExp(PATTERNS[name]), { message: `not a valid ${what}` });

/** Fields both the config and the messages use. */
export const Identifier = matching('identifier', 'name (letters, digits, - and _)');
export const Major = matching('major', 'major version');
export const Revision = matching('revision', 'revision (MAJOR.MINOR, e.g. 8.10)');
export const Arch = matching('arch', 'architecture');
export const RelativePath = matching('relativePath', 'relative path');
