/**
 * Text to stdout or stderr with write(2), not through process.stdout/process.stderr: the first use
 * of those streams loads node:stream, which in a compiled binary costs 3–6 ms and about 3.5 MB of RSS
 * (measured), so a helper paid it on its ready path for one start line. Whatever write(2) does not
 * take at once (a full non-blocking pipe) or refuses goes to the stream, which queues it as before.
 */
import { writeSync } from "node:fs";

export function writeOut(fd: 1 | 2, text: string): void {
  const bytes = Buffer.from(text);
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done);
  } catch {
    (fd === 1 ? process.stdout : process.stderr).write(bytes.subarray(done));
  }
}
