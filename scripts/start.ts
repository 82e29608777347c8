// npm start: serves the example plugins as a chain with `pwas serve` in front of a
// built-in echo upstream, shows each plugin at work with a few requests, and keeps
// serving for your own curl commands until Ctrl-C.
import { startFromFlags } from "../cli/commands/serve.js";
import { CliError } from "../cli/errors.js";

const listen = `127.0.0.1:${process.env.PORT ?? "8080"}`;

async function show(base: URL, title: string, curl: string, init: RequestInit & { path: string }): Promise<void> {
  const response = await fetch(new URL(init.path, base), init);
  const body = await response.text();
  console.log(`\n$ ${curl}`);
  console.log(`  → ${response.status} ${title}`);
  for (const name of ["www-authenticate", "first-header", "another-header", "content-type"]) {
    const value = response.headers.get(name);
    if (value !== null) console.log(`    ${name}: ${value}`);
  }
  console.log(`    body: ${body.length > 120 ? `${body.slice(0, 120).replace(/\s+/g, " ")}…` : body.trim()}`);
}

try {
  const running = await startFromFlags(
    { plugin: ["examples/dev-chain.yaml"], upstream: "echo", listen, name: "plugin", watch: true },
    (line) => console.log(`  ${line}`),
  );
  const base = running.proxy.address.url;
  console.log(`pwas serve is listening on ${base.href} in front of an echo upstream (${running.upstream.href})`);
  console.log(`chain: ${running.proxy.plugins.map((p) => `${p.name} (${p.phase})`).join(" → ")}`);

  const credentials = "Basic YWRtaW4zOmFkbWluMw=="; // admin3:admin3
  await show(base, "basic-auth (AUTHN) asks for credentials on /productpage", `curl -i ${base.href}productpage`, { path: "/productpage" });
  await show(base, "header-authorization (AUTHZ) denies: no `allow: true`", `curl -i -u admin3:admin3 ${base.href}productpage`, { path: "/productpage", headers: { authorization: credentials } });
  await show(base, "allowed; header-append (STATS) added its headers", `curl -i -u admin3:admin3 -H 'allow: true' ${base.href}productpage`, { path: "/productpage", headers: { authorization: credentials, allow: "true" } });
  await show(base, "an unprotected path: the body goes through to the upstream", `curl -i -H 'allow: true' -d 'hello' ${base.href}echo`, { path: "/echo", method: "POST", headers: { allow: "true" }, body: "hello" });

  console.log(`\nTry it yourself (the modules reload when rebuilt: npm run build:examples):`);
  console.log(`  curl -i ${base.href}productpage`);
  console.log(`  curl -i -u admin3:admin3 -H 'allow: true' ${base.href}productpage`);
  console.log(`Ctrl-C stops.`);
  const stop = async () => {
    await running.stop();
    console.log("stopped");
    process.exit(0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
} catch (error) {
  if (error instanceof CliError) {
    console.error(`npm start: ${error.message}${error.hint ? `\nhint: ${error.hint}` : ""}`);
    process.exit(error.exitCode);
  }
  throw error;
}
