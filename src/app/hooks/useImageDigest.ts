import { useEffect, useState } from 'react';

/** The sha256 (hex) of an image's bytes, or null until it is known. */
export function useImageDigest(blob: Blob | null): string | null {
  const [digest, setDigest] = useState<{ of: Blob; hex: string } | null>(null);
  useEffect(() => {
    if (!blob) return;
    let live = true;
    void blob
      .arrayBuffer()
      .then((bytes) => crypto.subtle.digest('SHA-256', bytes))
      .then((d) => {
        if (live)
          setDigest({
            of: blob,
            hex: [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join(''),
          });
      });
    return () => {
      live = false;
    };
  }, [blob]);
  return digest && digest.of === blob ? digest.hex : null;
}
