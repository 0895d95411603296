/**
 * Runs `onFirstUse` the first time the app reads `globalThis[name]`, then puts the original
 * property back exactly as it was. This is how fetch gets its instrumentation lazily: undici
 * is built into Node, so there is no module to resolve.
 * If the app assigns the global before reading it, the property is restored with the new value
 * and nothing is loaded (the app brought its own fetch).
 */
export function onFirstGlobalUse(name: string, onFirstUse: () => void): void {
  const g = globalThis as Record<string, unknown>;
  const original = Object.getOwnPropertyDescriptor(g, name);
  if (original === undefined || !original.configurable || !('value' in original)) return;
  const restore = (value: unknown): void => {
    Object.defineProperty(g, name, { ...original, value });
  };
  Object.defineProperty(g, name, {
    configurable: true,
    enumerable: original.enumerable ?? false,
    get() {
      restore(original.value);
      try {
        onFirstUse();
      } catch {
        // onFirstUse reports its own failures; the app still gets its global
      }
      return original.value;
    },
    set(value: unknown) {
      restore(value);
    },
  });
}
