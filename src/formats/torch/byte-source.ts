import { open } from 'node:fs/promises';
import { LorasmithError } from '../../core/errors.ts';

/**
 * Random access to a file's bytes. Model files run to many GiB, so containers read what they need (the zip
 * central directory, one pickle, one storage) instead of loading the file.
 */
export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes from `offset`; throws if the range is outside the source. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface FileByteSource extends ByteSource {
  close(): Promise<void>;
}

function outOfRange(offset: number, length: number, size: number): LorasmithError {
  return new LorasmithError({
    code: 'formats.read_range',
    message: `read of ${length} bytes at ${offset} is outside the ${size}-byte input`,
  });
}

export function bufferSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > bytes.length) throw outOfRange(offset, length, bytes.length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

export async function openFileSource(path: string): Promise<FileByteSource> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    return {
      size,
      read: async (offset, length) => {
        if (offset < 0 || length < 0 || offset + length > size) throw outOfRange(offset, length, size);
        const buffer = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(buffer, done, length - done, offset + done);
          if (bytesRead === 0) throw outOfRange(offset, length, size);
          done += bytesRead;
        }
        return buffer;
      },
      close: () => handle.close(),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
