import { describe, expect, it } from 'vitest';
import { ENGINE_NOFILE, hardOpenFiles, withEngineLimits } from './engine-limits.ts';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max core file size        unlimited            unlimited            bytes
Max open files            1024                 4096                 files
`;

describe('withEngineLimits', () => {
  it('puts prlimit in front of the argv: no core dumps, the open-file limit raised to the hard limit', () => {
    expect(withEngineLimits(['/venv/bin/python', '-E', 'train.py'], { prlimit: '/usr/bin/prlimit', limitsText: LIMITS })).toEqual({
      argv: ['/usr/bin/prlimit', '--core=0', '--nofile=4096:4096', '--', '/venv/bin/python', '-E', 'train.py'],
      limits: { prlimit: '/usr/bin/prlimit', core: 0, nofile: 4096 },
    });
  });

  it('asks for ENGINE_NOFILE when the hard limit is unlimited or higher', () => {
    const unlimited = LIMITS.replace('1024                 4096', 'unlimited            unlimited');
    expect(hardOpenFiles(unlimited)).toBeNull();
    expect(withEngineLimits(['x'], { prlimit: '/usr/bin/prlimit', limitsText: unlimited }).limits?.nofile).toBe(ENGINE_NOFILE);
  });

  it('leaves the argv alone and records no limits when prlimit is not installed', () => {
    expect(withEngineLimits(['/venv/bin/python'], { prlimit: '/nonexistent/prlimit', limitsText: LIMITS })).toEqual({ argv: ['/venv/bin/python'], limits: null });
  });
});
