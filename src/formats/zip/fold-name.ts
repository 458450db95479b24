/**
 * The key two names collide under (ARC-R04): NFC, then case folded the way case-insensitive filesystems
 * (APFS, NTFS) and kohya's upper/lower-case extension globs would see them. Upper then lower folds "ß"
 * with "SS" as well, which is stricter than any filesystem and never wrong to refuse.
 */
export function foldName(name: string): string {
  return name.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC');
}
