/** The Markdown table of a `convert:bench` report (docs/convert.md holds the latest). */
import type { BenchReport, BenchRow } from './run';

const MIB = 2 ** 20;

function mib(n: number | undefined): string {
  return n === undefined || Number.isNaN(n) ? '–' : `${(n / MIB).toFixed(0)} MiB`;
}

function mb(n: number | undefined): string {
  return n === undefined || Number.isNaN(n) ? '–' : `${(n / 1e6).toFixed(1)} MB`;
}

function seconds(s: number | undefined): string {
  if (s === undefined) return '–';
  if (s < 0.1) return `${(s * 1000).toFixed(1)} ms`;
  return s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(0)} s`;
}

function identity(row: BenchRow): string {
  const c = row.comparison;
  if (!c) return '–';
  const after = row.finished ? ` (after ${row.finished})` : '';
  const what = row.comparedAs === 'graph-files' ? `graph files only (${c.files})` : `${c.files} files`;
  if (c.identical) {
    const ignored = c.ignored.length ? `; ${c.ignored.join(', ')} set aside` : '';
    const colours =
      c.colorMaxDiff !== undefined ? `; colours ≤ ${c.colorMaxDiff.toExponential(0)} apart` : '';
    return `identical${after}, ${what}${ignored}${colours}`;
  }
  return `differs${after} (${c.differing} of ${c.files}): first \`${c.firstDifference?.file}\`, ${c.firstDifference?.why}`;
}

export function markdownTable(report: BenchReport): string {
  const head = [
    '| source | converter | wall | CPU | peak RSS (tree) | largest process | read (converter / rchar) | read once | × read once | package |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const lines = report.rows.map((r) => {
    if (r.status === 'not run') return `| ${r.source} | ${r.converter} | not run: ${r.why} | | | | | | | |`;
    const read = `${r.converterBytesRead !== undefined ? mb(r.converterBytesRead) : '–'} / ${mb(r.rcharBytes)}`;
    // below 0.1 s the read is noise beside a process's start-up: no ratio
    const ratio =
      r.readOnceS !== undefined && r.readOnceS >= 0.1 && r.wallS
        ? `${(r.wallS / r.readOnceS).toFixed(1)}×`
        : '–';
    const result = r.status === 'failed' ? `failed: ${r.why}` : identity(r);
    return `| ${r.source} | ${r.converter} | ${seconds(r.wallS)} | ${seconds(r.cpuS)} | ${mib(r.peakTreeRssBytes)} | ${mib(r.maxProcessRssBytes)} | ${read} | ${seconds(r.readOnceS)} | ${ratio} | ${result} |`;
  });
  const sources = report.sources
    .filter((s) => s.readOnce)
    .map(
      (s) =>
        `- ${s.source}: ${s.what}; ${s.readOnce!.files} safetensors files, ${mb(s.readOnce!.bytes)}, read once in ${seconds(s.readOnce!.wallS)}`,
    );
  return [
    ...head,
    ...lines,
    '',
    `${report.machine.cpus} × ${report.machine.cpuModel}, ${(report.machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, node ${report.machine.node}`,
    ...report.sources.map((s) => {
      const m = s.measured ?? { date: report.date, tree: report.tree };
      const changed = m.tree.changed.length
        ? ` with ${m.tree.changed.length} converter files changed in the working tree`
        : '';
      return `- ${s.source} measured ${m.date} at commit ${m.tree.commit.slice(0, 7)}${changed}`;
    }),
    ...sources,
    ...report.sources
      .filter((s) => s.pythonVsNode)
      .map((s) => {
        const c = s.pythonVsNode!;
        return `- ${s.source}: python's package against node's: ${
          c.identical
            ? `identical (${c.files} files)`
            : `differ (${c.differing} of ${c.files}): first \`${c.firstDifference?.file}\`, ${c.firstDifference?.why}`
        }`;
      }),
    ...report.sources
      .filter((s) => s.notRun)
      .map((s) => `- ${s.source} (${s.what}): not run, ${s.notRun}; ${s.howTo ?? ''}`),
  ].join('\n');
}
