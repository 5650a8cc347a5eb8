// The console session's browser key, shared by the pages and the service worker: a
// non-extractable ECDSA P-256 key pair made at sign-in and kept in IndexedDB (script can
// use it; nobody can read it out), and DPoP proofs (RFC 9449) signed with it.
"use strict";

self.ZTKey = (() => {
  const enc = new TextEncoder();
  const b64u = (bytes) =>
    btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  function store(mode, work) {
    return new Promise((resolve, reject) => {
      const open = indexedDB.open("zerotrust-console", 1);
      open.onupgradeneeded = () => open.result.createObjectStore("keys");
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const tx = open.result.transaction("keys", mode);
        const req = work(tx.objectStore("keys"));
        tx.oncomplete = () => { open.result.close(); resolve(req.result); };
        tx.onerror = () => { open.result.close(); reject(tx.error); };
      };
    });
  }
  async function newKey() {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    await store("readwrite", (s) => s.put(pair, "session"));
    return pair;
  }
  const sessionKey = () => store("readonly", (s) => s.get("session"));
  const forgetKey = () => store("readwrite", (s) => s.delete("session"));

  // A proof for one request: ``htu`` is the URL without query or fragment (RFC 9449 §4.2).
  async function proof(method, url, pair) {
    pair = pair || (await sessionKey());
    if (!pair) throw new Error("This browser holds no session key: sign in again.");
    const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
    const target = new URL(url, self.location.href);
    const header = { typ: "dpop+jwt", alg: "ES256", jwk: { kty, crv, x, y } };
    const claims = {
      jti: b64u(crypto.getRandomValues(new Uint8Array(16))),
      htm: method,
      htu: target.origin + target.pathname,
      iat: Math.floor(Date.now() / 1000),
    };
    const input = b64u(enc.encode(JSON.stringify(header))) + "." + b64u(enc.encode(JSON.stringify(claims)));
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, enc.encode(input));
    return input + "." + b64u(sig); // WebCrypto's r||s is already the JWS form
  }

  return { b64u, newKey, sessionKey, forgetKey, proof };
})();
