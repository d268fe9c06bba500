// The harness every script runs in (evaluated before the user's script, in the same fresh context).
// It gives the script its only ways out (fetch, ethCall, storage, secrets, console), all through one
// host function, and makes time and randomness come from the host's input so a replay is identical.
(function (host, now, seed, storageJson) {
  "use strict";
  const RealDate = Date;
  function FixedDate(...args) {
    if (!new.target) return new RealDate(now).toString();
    return args.length ? new RealDate(...args) : new RealDate(now);
  }
  FixedDate.prototype = RealDate.prototype;
  Object.defineProperty(RealDate.prototype, "constructor", { value: FixedDate, writable: false });
  FixedDate.now = () => now;
  FixedDate.parse = RealDate.parse;
  FixedDate.UTC = RealDate.UTC;
  globalThis.Date = FixedDate;

  let state = seed >>> 0 || 0x9e3779b9;
  Math.random = () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state / 4294967296;
  };
  delete globalThis.WeakRef;
  delete globalThis.FinalizationRegistry;

  const call = (kind, request) => {
    const answer = JSON.parse(host(kind, JSON.stringify(request)));
    if (answer.error !== undefined) throw new Error(answer.error);
    return answer;
  };
  const text = (v) => (typeof v === "string" ? v : JSON.stringify(v));
  globalThis.fetch = async (url, options = {}) => {
    const headers = {};
    for (const [k, v] of Object.entries(options.headers || {})) headers[String(k)] = String(v);
    const answer = call("fetch", {
      url: String(url),
      method: String(options.method || "GET").toUpperCase(),
      headers,
      body: options.body === undefined || options.body === null ? null : text(options.body),
    });
    return Object.freeze({
      status: answer.status,
      ok: answer.status >= 200 && answer.status < 300,
      text: async () => answer.body,
      json: async () => JSON.parse(answer.body),
    });
  };
  globalThis.ethCall = async (request) =>
    call("eth_call", {
      chainId: String(request.chainId === undefined ? "" : request.chainId),
      to: String(request.to),
      data: String(request.data),
    }).result;
  globalThis.secrets = Object.freeze({ get: (name) => call("secret", { name: String(name) }).value });

  const stored = JSON.parse(storageJson);
  const updates = {};
  const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  globalThis.storage = Object.freeze({
    get: (key) => {
      key = String(key);
      if (has(updates, key)) return updates[key];
      return has(stored, key) ? stored[key] : null;
    },
    set: (key, value) => {
      updates[String(key)] = value === null || value === undefined ? null : text(value);
    },
  });
  const log = (...parts) => { host("log", JSON.stringify(parts.map(text).join(" "))); };
  globalThis.console = Object.freeze({ log, info: log, warn: log, error: log });

  // Called by the host after the user's script was evaluated.
  return async (input) => {
    if (typeof main !== "function") throw new Error("the script defines no function main(input)");
    const output = await main(input);
    return JSON.stringify({ output: output === undefined ? null : output, storageUpdates: updates });
  };
})
