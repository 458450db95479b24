/** The one cookie the studio sets; parsed by hand because it is the only one we read. */
export function sessionCookieName(port: number): string {
  return `lorasmith_session_${port}`;
}

export function readCookie(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index === -1) continue;
    if (part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return null;
}

export function sessionCookie(params: { name: string; value: string; maxAgeSeconds: number; secure: boolean }): string {
  const attributes = [`${params.name}=${params.value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${params.maxAgeSeconds}`];
  if (params.secure) attributes.push('Secure');
  return attributes.join('; ');
}
