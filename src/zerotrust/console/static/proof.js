// Verifies an audit entry's inclusion proof in the browser (RFC 6962 §2.1, with the
// transparency-dev verifier's path decomposition) against the latest signed checkpoint,
// and the checkpoint's Ed25519 signature where WebCrypto offers Ed25519.
"use strict";

(() => {
  const enc = new TextEncoder();
  const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

  async function sha256(...parts) {
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { data.set(p, at); at += p.length; }
    return new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  }
  const leafHash = (entry) => sha256(Uint8Array.of(0), entry);
  const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);

  // The root the audit path implies for leaf ``index`` of a tree of ``size`` leaves.
  async function rootFromProof(index, size, leaf, path) {
    if (index >= size) throw new Error("the index is outside the tree");
    const x = index ^ (size - 1n);
    const inner = x === 0n ? 0 : x.toString(2).length;
    const border = (index >> BigInt(inner)).toString(2).split("1").length - 1;
    if (path.length !== inner + border) throw new Error("the proof has the wrong length");
    let seed = leaf;
    for (let i = 0; i < inner; i++) {
      seed = ((index >> BigInt(i)) & 1n) === 0n ? await nodeHash(seed, path[i]) : await nodeHash(path[i], seed);
    }
    for (const h of path.slice(inner)) seed = await nodeHash(h, seed);
    return seed;
  }

  // C2SP signed note: "body\n\n— name base64(keyhash[4] || signature[64])\n".
  async function signatureValid(note, vkey) {
    // name+hash+key, where the base64 key may itself contain "+".
    const first = vkey.indexOf("+");
    const second = vkey.indexOf("+", first + 1);
    const [name, keyHash, keyB64] = [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
    const raw = unb64(keyB64);
    if (raw[0] !== 1) return "unsupported key type";
    const split = note.indexOf("\n\n");
    const body = enc.encode(note.slice(0, split + 1));
    const line = note.slice(split + 2).split("\n").find((l) => l.startsWith("\u2014 " + name + " "));
    if (!line) return false;
    const sig = unb64(line.split(" ")[2]);
    if (hex(sig.slice(0, 4)) !== keyHash) return false;
    let key;
    try {
      key = await crypto.subtle.importKey("raw", raw.slice(1), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      if (e.name === "NotSupportedError") return "checked by the server only (no Ed25519 in this browser)";
      return false;
    }
    return crypto.subtle.verify({ name: "Ed25519" }, key, sig.slice(4), body);
  }

  async function verify(seq, out) {
    out.className = "proof-result";
    out.textContent = "verifying…";
    const res = await fetch(`/console/audit/proof?seq=${seq}`, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const p = await res.json();
    if (!res.ok) throw new Error(p.title || `the proof could not be fetched (${res.status})`);
    const leaf = await leafHash(enc.encode(p.entry));
    if (!equal(leaf, unb64(p.leaf_hash))) throw new Error("the entry does not match its leaf hash");
    const lines = p.checkpoint.split("\n");
    const size = BigInt(lines[1]);
    if (size !== BigInt(p.tree_size)) throw new Error("the proof is for another tree size");
    const root = await rootFromProof(BigInt(p.seq), size, leaf, p.proof.map(unb64));
    if (!equal(root, unb64(lines[2]))) throw new Error("the path does not lead to the signed root");
    const signed = await signatureValid(p.checkpoint, p.vkey);
    if (signed === false) throw new Error("the checkpoint signature does not verify");
    const sigText = signed === true ? "signature valid" : "signature " + signed;
    out.className = "proof-result ok";
    out.textContent = `included in the signed tree of ${size} entries (root ${hex(root).slice(0, 12)}…); ${sigText}`;
    out.dataset.verified = "true";
  }

  document.addEventListener("click", async (e) => {
    const button = e.target.closest("button[data-verify]");
    if (!button) return;
    const out = document.getElementById("proof-" + button.dataset.verify);
    button.disabled = true;
    try { await verify(button.dataset.verify, out); } catch (err) {
      out.className = "proof-result bad";
      out.textContent = "not verified: " + err.message;
      out.dataset.verified = "false";
    } finally { button.disabled = false; }
  });
})();
