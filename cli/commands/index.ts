// The list of pwas commands. Each module exports `register(program: Command): void`.
import type { Command } from "commander";
import { register as serve } from "./serve.js";

export type Register = (program: Command) => void;

export const commands: Register[] = [serve];
