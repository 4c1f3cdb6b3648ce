/**
 * What a command's help says beyond citty's own `meta` (name, description, alias, hidden), declared
 * on citty's `CommandMeta` so each command keeps its text in its own file, next to its flags:
 *   description  one short line: the command lists (`vmlan --help`, `vmlan network --help`)
 *   details      the long text, shown by the command's own --help and its man page
 *   examples     command lines, each optionally ending in "  # what it does"; every --help has some
 *   usage        the synopsis after "vmlan <path> ", when the one derived from the flags says too little
 *   sections     extra man page sections (vmlan(1): ENVIRONMENT, EXIT STATUS, FILES)
 */
declare module "citty" {
  interface CommandMeta {
    details?: string;
    examples?: string[];
    usage?: string;
    sections?: { title: string; body: string }[];
  }
}
export {};
