import { useExampleImages } from '../hooks/useExampleImages';
import { useActions, useApp } from '../state/context';

/** One-click example images from the loaded model's domain, beside the file picker. */
export function DomainExamples() {
  const domain = useApp((s) => s.model?.domain ?? null);
  const name = useApp((s) => s.model?.name);
  const { openExample } = useActions();
  const images = useExampleImages(domain?.examples);
  if (!domain || images.length === 0) return null;
  return (
    <div className="examples" role="group" aria-label="Example images" data-testid="domain-examples">
      <span className="hint">Try one of {name}’s examples:</span>
      <div className="row">
        {images.map((img, i) => (
          <button
            key={img.url}
            type="button"
            className="example"
            data-testid="domain-example"
            title={img.instruction ? `Open it, with “${img.instruction}”` : 'Open it'}
            onClick={() =>
              void openExample(img.blob, img.url.split('/').pop() || `example-${i + 1}.png`, img.instruction)
            }
          >
            <img src={img.objectUrl} alt={`Example ${i + 1}`} width={56} height={56} />
          </button>
        ))}
      </div>
    </div>
  );
}
