import { EXIT } from '../shared/exit-codes.ts';

export { EXIT, type ExitCode } from '../shared/exit-codes.ts';

/** The table as the help pages print it. */
export const EXIT_CODE_LINES = [
  `${EXIT.OK}  success`,
  `${EXIT.FAILED}  failed (an execution or host operation failed, a check found problems, input rejected)`,
  `${EXIT.USAGE}  usage or bad input (unknown option, missing argument, bad value); nothing started`,
  `${EXIT.NOT_PUBLISHED}  not published (rejected, timed out, nothing approved)`,
];
