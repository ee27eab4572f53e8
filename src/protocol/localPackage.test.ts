import { describe, expect, it } from 'vitest';
import { isLocalPackageUrl, localPackageName, localPackageUrl } from './localPackage';

const sha = 'ab'.repeat(32);

describe('a local package key', () => {
  it('names the folder and the manifest hash, and gives the folder name back', () => {
    const url = localPackageUrl('my model #2/ü', sha);
    expect(url).toBe(`local:///my%20model%20%232%2F%C3%BC/${sha}/`);
    expect(isLocalPackageUrl(url)).toBe(true);
    expect(localPackageName(url)).toBe('my model #2/ü');
  });

  it('resolves package paths under itself, as a package URL does', () => {
    const url = localPackageUrl('tiny', sha);
    expect(new URL('fp32/vq_encode.onnx', new URL(url, 'http://127.0.0.1/')).href).toBe(
      `local:///tiny/${sha}/fp32/vq_encode.onnx`,
    );
  });

  it('is not any other URL', () => {
    for (const url of ['/models/tiny-random/', 'https://huggingface.co/a/b/resolve/main/', 'local:tiny/']) {
      expect(isLocalPackageUrl(url)).toBe(false);
      expect(localPackageName(url)).toBeNull();
    }
  });
});
