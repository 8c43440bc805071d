import '../../cli/engine/polyfill.ts';
import { quietUnwantedWarnings } from '../../bin/quiet-warnings.mjs';

// As bin/releng.mjs does: the AWS SDK's Node-version notice is not the tests' output.
quietUnwantedWarnings();
