// WWW-Authenticate challenges (RFC 7235) as registries send them:
//   Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"
//   Basic realm="Registry Realm"

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a header that may hold several challenges. Scheme names are lowercased. */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (re: RegExp) => {
    while (i < header.length && re.test(header[i]!)) i++;
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const schemeMatch = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(header.slice(i));
    if (!schemeMatch) break;
    const challenge: Challenge = { scheme: schemeMatch[0].toLowerCase(), params: {} };
    i += schemeMatch[0].length;
    for (;;) {
      const save = i;
      skip(/[\s,]/);
      const param = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*/.exec(header.slice(i));
      if (!param) {
        i = save;
        break;
      }
      i += param[0].length;
      let value = "";
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < header.length) i++;
          value += header[i++];
        }
        i++;
      } else {
        const token = /^[^\s,]*/.exec(header.slice(i))![0];
        value = token;
        i += token.length;
      }
      challenge.params[param[1]!.toLowerCase()] = value;
    }
    // token68 form (e.g. "Negotiate abc=="): not used by registries; skip to the next comma.
    if (Object.keys(challenge.params).length === 0) skip(/[^,]/);
    challenges.push(challenge);
  }
  return challenges;
}
