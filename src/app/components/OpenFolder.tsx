import { useActions } from '../state/context';
import { folderFromInput } from '../media/folderFiles';
import { ConvertOffer } from './ConvertOffer';

/**
 * Opens a converted model package from a folder on disk (dropping the folder on the page does the
 * same, see useImageInput): its files are copied into this browser's model store, checked against
 * the package's manifest, and then the package opens like any other, offline too. A checkpoint
 * folder (no manifest) is offered for conversion in the tab (ConvertOffer).
 */
export function OpenFolder() {
  const { openFolder } = useActions();
  return (
    <>
      <div className="row">
        <label className="button" htmlFor="open-folder">
          Open folder…
        </label>
        <input
          id="open-folder"
          className="visually-hidden"
          type="file"
          data-testid="open-folder"
          // React does not know the attribute; the browser then offers folders, not files
          ref={(el) => el?.setAttribute('webkitdirectory', '')}
          onChange={(e) => {
            const folder = e.currentTarget.files ? folderFromInput(e.currentTarget.files) : null;
            e.currentTarget.value = '';
            if (folder) void openFolder(folder);
          }}
        />
        <span className="hint">
          a converted package (the folder with manifest.json) or a checkpoint to convert, or drop it on the
          page
        </span>
      </div>
      <ConvertOffer />
    </>
  );
}
