import fs from 'node:fs';
import { tempDir, uniquePrefix, waitFor } from './index';

describe('test helpers', () => {
  it('gives every call its own prefix', () => {
    expect(uniquePrefix('x')).not.toBe(uniquePrefix('x'));
  });

  it('removes the temporary directory on cleanup', () => {
    const { dir, cleanup } = tempDir();
    expect(fs.existsSync(dir)).toBe(true);
    cleanup();
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('waitFor times out with the name of what it waited for', async () => {
    await expect(waitFor(() => false, 100, 10, 'the moon')).rejects.toThrow('the moon');
    await expect(waitFor(() => 42, 100)).resolves.toBe(42);
  });
});
