import { useEffect, useRef } from 'react';

/** Calls `reload` whenever `version` changes after the first render (the first fetch happens anyway). */
export function useReloadOn(version: number, reload: () => void): void {
  const first = useRef(version);
  useEffect(() => {
    if (version !== first.current) reload();
  }, [version, reload]);
}
