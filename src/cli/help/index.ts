/** The help of one command as the terminal shows it (`--help`, `vmlan help COMMAND`). */
import type { Cmd } from "../tree.ts";
import { helpModel } from "./model.ts";
import { renderHelp } from "./render.ts";

export async function helpText(cmd: Cmd, path: string[]): Promise<string> {
  return renderHelp(await helpModel(cmd, path));
}
