import { useEffect, useState } from 'react';

export interface ExampleImage {
  url: string;
  instruction: string | null;
  blob: Blob;
  /** An object URL of `blob` for <img> (package images may live on another site, which the page's policies keep out of <img src>). */
  objectUrl: string;
}

/** Fetches the model's example images once per model; examples that fail to download are left out. */
export function useExampleImages(
  examples: readonly { url: string; instruction: string | null }[] | undefined,
): ExampleImage[] {
  const [loaded, setLoaded] = useState<{ for: typeof examples; images: ExampleImage[] }>({
    for: undefined,
    images: [],
  });
  useEffect(() => {
    if (!examples?.length) return;
    let live = true;
    const made: string[] = [];
    void Promise.all(
      examples.map(async (e) => {
        try {
          const response = await fetch(e.url);
          if (!response.ok) return null;
          const blob = await response.blob();
          const objectUrl = URL.createObjectURL(blob);
          made.push(objectUrl);
          return { ...e, blob, objectUrl };
        } catch {
          return null;
        }
      }),
    ).then((images) => {
      if (live) setLoaded({ for: examples, images: images.filter((i): i is ExampleImage => i !== null) });
    });
    return () => {
      live = false;
      for (const u of made) URL.revokeObjectURL(u);
    };
  }, [examples]);
  return loaded.for === examples ? loaded.images : [];
}
