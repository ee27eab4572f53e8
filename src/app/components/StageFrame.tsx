import type { CSSProperties, ReactNode } from 'react';

/** A box with the image's aspect ratio that fits the available space. */
export function StageFrame({
  width,
  height,
  children,
  className = '',
}: {
  width: number;
  height: number;
  children: ReactNode;
  className?: string;
}) {
  const style: CSSProperties = {
    aspectRatio: `${width} / ${height}`,
    width: `min(100%, calc(var(--stage-max-h) * ${width / height}))`,
  };
  return (
    <div className={`stage-frame ${className}`} style={style}>
      {children}
    </div>
  );
}
