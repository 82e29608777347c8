// The list of pwas commands. Each module exports `register(program: Command): void`.
import type { Command } from "commander";

export type Register = (program: Command) => void;

export const commands: Register[] = [];
