// The list of pwas commands. Each module exports `register(program: Command): void`.
import type { Command } from "commander";
import { register as serve } from "./serve.js";
import { register as validate } from "./validate.js";
import { register as verify } from "./verify.js";
import { register as pkg } from "./package.js";
import { register as pull } from "./pull.js";
import { register as push } from "./push.js";
import { register as wasmplugin } from "./wasmplugin.js";
import { register as migrate } from "./migrate.js";
import { register as build } from "./build.js";
import { register as init } from "./init.js";
import { register as coverage } from "./coverage.js";
import { register as envoyConfig } from "./envoy-config.js";

export type Register = (program: Command) => void;

export const commands: Register[] = [serve, envoyConfig, validate, verify, pkg, push, pull, wasmplugin, migrate, build, coverage, init];
