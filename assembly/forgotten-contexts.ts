// Features that keep state per context (callouts map tokens to their context) hear when a
// context is forgotten. Never set in an HTTP-only build, where this costs a null check.
// Below both the registry, which reports, and the features, which listen.
export abstract class ForgetListener {
  abstract forgotten(contextId: u32): void;
}
let forgetListener: ForgetListener | null = null;

/** Called by a feature the first time it keeps state for a context. */
export function listenForForgottenContexts(listener: ForgetListener): void {
  forgetListener = listener;
}

/** The registry forgot `contextId`. */
export function contextForgotten(contextId: u32): void {
  const listener = forgetListener;
  if (listener !== null) listener.forgotten(contextId);
}
