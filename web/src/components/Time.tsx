import { formatTime } from '../format.ts';

export function Time({ iso, withSeconds = false }: { iso: string; withSeconds?: boolean }) {
  return <time dateTime={iso}>{formatTime(iso, withSeconds)}</time>;
}
