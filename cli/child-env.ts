// The environment for npm child processes. When pwas itself runs under npm (npm test,
// npm run), npm exports npm_config_* and npm_package_* variables, which a nested npm
// reads as its own settings, and puts node_modules/.bin first on PATH, where a package
// may have installed an old npm of its own (as-pect pulls in npm 6). Either makes a
// nested `npm pack` fail (ENOLOCAL). Children get the user's npm and settings.
import { delimiter, sep } from "node:path";

export function npmChildEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name)) env[name] = value;
  }
  const path = env.PATH ?? env.Path;
  if (path !== undefined) {
    env.PATH = path
      .split(delimiter)
      .filter((dir) => !dir.endsWith(`${sep}node_modules${sep}.bin`))
      .join(delimiter);
  }
  return { ...env, ...extra };
}
