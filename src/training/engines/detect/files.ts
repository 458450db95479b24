/** The file checks engine detection, the installer and the location setter share (stat follows symlinks, as a venv's python is one). */
import { access, constants, stat } from 'node:fs/promises';

export async function existsAs(file: string, kind?: 'file' | 'dir'): Promise<boolean> {
  try {
    const info = await stat(file);
    return kind === undefined || (kind === 'file' ? info.isFile() : info.isDirectory());
  } catch {
    return false;
  }
}

export async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
