import '../../cli/engine/polyfill.ts';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { LANE_LOCK_FORMAT, laneLockName, STAGING_LOCK_FORMAT, stagingLockName } from '../../shared/lanes.ts';

/** What States.Format makes of `template` with the input's major and compose. */
async function statesFormat(template: string, args: string, input: Record<string, string>) {
  const definition = {
    StartAt: 'Name',
    States: {
      Name: { Type: 'Pass', Parameters: { 'name.$': `States.Format('${template}', ${args})` }, End: true },
    },
  };
  const { result } = new StateMachine(definition as never).run(input as never);
  return ((await result) as { name: string }).name;
}

describe('lock names', () => {
  it('the state machines and the code name a lane lock alike', async () => {
    const lane = { major: '8', compose: 'Rocky-devel' };
    expect(laneLockName(lane)).toBe('lane:8/Rocky-devel');
    expect(await statesFormat(LANE_LOCK_FORMAT, '$.major, $.compose', lane)).toBe(laneLockName(lane));
  });

  it('the state machines and the code name a staging lock alike', async () => {
    expect(stagingLockName('9')).toBe('staging:9');
    expect(await statesFormat(STAGING_LOCK_FORMAT, '$.major', { major: '9' })).toBe(stagingLockName('9'));
  });
});
