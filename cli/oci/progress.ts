// Upload progress on a terminal: one self-rewriting line per blob. Silent when the stream is
// not a TTY or with --quiet, so logs and pipes stay clean.

export interface ProgressTask {
  update(done: number): void;
  finish(note?: string): void;
}

export interface Progress {
  task(label: string, total: number): ProgressTask;
}

const SILENT: ProgressTask = { update: () => undefined, finish: () => undefined };
export const silentProgress: Progress = { task: () => SILENT };

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): Progress {
  return {
    task(label, total) {
      let last = -Infinity;
      const draw = (done: number) => {
        const width = 24;
        const ratio = total > 0 ? Math.min(1, done / total) : 1;
        const filled = Math.round(ratio * width);
        const bar = `${"=".repeat(Math.max(0, filled - 1))}${filled > 0 ? (ratio < 1 ? ">" : "=") : ""}${" ".repeat(width - filled)}`;
        stream.write(`\r\x1b[2K${label} [${bar}] ${String(Math.round(ratio * 100)).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)}`);
      };
      return {
        update(done) {
          // At most ten redraws a second.
          if (now() - last < 100 && done < total) return;
          last = now();
          draw(done);
        },
        finish(note) {
          draw(total);
          stream.write(note ? ` ${note}\n` : "\n");
        },
      };
    },
  };
}

export function progressFor(stream: NodeJS.WriteStream, quiet: boolean): Progress {
  return !quiet && stream.isTTY ? terminalProgress(stream) : silentProgress;
}
