import { useActions } from '../state/context';
import { DomainExamples } from './DomainExamples';

const ACCEPT = 'image/png,image/jpeg,image/webp,image/gif,image/bmp,image/avif,image/*';

/** The file picker; drop and paste work anywhere on the page (see useImageInput). */
export function ImagePicker() {
  const { openFiles } = useActions();
  return (
    <div className="picker">
      <label className="button" htmlFor="file-input">
        Choose image…
      </label>
      <input
        id="file-input"
        className="visually-hidden"
        type="file"
        accept={ACCEPT}
        data-testid="file-input"
        onChange={(e) => {
          const files = e.currentTarget.files ? Array.from(e.currentTarget.files) : [];
          e.currentTarget.value = '';
          if (files.length) void openFiles(files);
        }}
      />
      <span className="hint">or drop / paste an image</span>
      <DomainExamples />
    </div>
  );
}
