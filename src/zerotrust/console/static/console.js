// zerotrust console: the browser's half of the session binding, the actions, live updates.
// The session key (session-key.js) is a non-extractable ECDSA P-256 key made at sign-in
// and kept in IndexedDB; every state-changing request carries a DPoP proof (RFC 9449)
// signed by it and the page's CSRF token, and the service worker (sw.js) signs the rest.
// Script cannot read the session cookie (HttpOnly).
"use strict";

const ZT = (() => {
  const b64u = self.ZTKey.b64u;
  const unb64u = (s) =>
    Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));

  const { newKey, forgetKey, proof } = self.ZTKey;

  // The service worker signs page loads and the live stream (session-key.js, sw.js).
  const worker = () =>
    "serviceWorker" in navigator
      ? navigator.serviceWorker.register("/console/sw.js", { scope: "/console/" }).then(() => navigator.serviceWorker.ready)
      : Promise.resolve(null);

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  async function post(url, body, { pair, csrfToken } = {}) {
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    headers.DPoP = await proof("POST", url, pair);
    const token = csrfToken ?? csrf();
    if (token) headers["X-CSRF-Token"] = token;
    const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(body || {}), credentials: "same-origin" });
    let data = {};
    try { data = await res.json(); } catch (e) { data = {}; }
    return { ok: res.ok, status: res.status, data };
  }

  // WebAuthn: JSON options in, JSON credential out (binary fields base64url).
  const ids = (list) => (list || []).map((c) => ({ ...c, id: unb64u(c.id) }));
  function credentialJSON(cred) {
    const r = cred.response;
    const out = {
      id: cred.id, rawId: b64u(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults(),
      response: { clientDataJSON: b64u(r.clientDataJSON) },
    };
    if (r.signature) {
      out.response.authenticatorData = b64u(r.authenticatorData);
      out.response.signature = b64u(r.signature);
      if (r.userHandle) out.response.userHandle = b64u(r.userHandle);
    } else {
      out.response.attestationObject = b64u(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    }
    return out;
  }
  async function assertPasskey(o) {
    const publicKey = { ...o, challenge: unb64u(o.challenge), allowCredentials: ids(o.allowCredentials) };
    return credentialJSON(await navigator.credentials.get({ publicKey }));
  }
  async function createPasskey(o) {
    const publicKey = { ...o, challenge: unb64u(o.challenge), user: { ...o.user, id: unb64u(o.user.id) }, excludeCredentials: ids(o.excludeCredentials) };
    return credentialJSON(await navigator.credentials.create({ publicKey }));
  }

  function say(text, isError) {
    const box = document.getElementById("status");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
    box.classList.toggle("error", !!isError);
  }

  // Step-up: a dialog, the passkey ceremony again, a rotated session and a new CSRF token.
  function stepUp() {
    const dialog = document.getElementById("stepup");
    const go = document.getElementById("stepup-go");
    const cancel = document.getElementById("stepup-cancel");
    const error = document.getElementById("stepup-error");
    return new Promise((resolve) => {
      const finish = (ok) => { go.onclick = cancel.onclick = null; dialog.close(); resolve(ok); };
      go.onclick = async () => {
        go.disabled = true;
        try {
          const options = await post("/console/stepup/options", {});
          if (!options.ok) throw new Error(options.data.title || "Verification is not possible now.");
          const credential = await assertPasskey(options.data);
          const verified = await post("/console/stepup/verify", { credential });
          if (!verified.ok) throw new Error(verified.data.title || "The passkey was not accepted.");
          document.querySelector('meta[name="csrf-token"]').content = verified.data.csrf;
          finish(true);
        } catch (e) {
          error.textContent = e.message; error.hidden = false;
        } finally { go.disabled = false; }
      };
      cancel.onclick = () => finish(false);
      error.hidden = true;
      dialog.showModal();
      go.focus();
    });
  }

  async function act(url, body) {
    let r = await post(url, body);
    if (r.status === 401 && r.data.code === "insufficient_user_authentication" && (await stepUp())) {
      r = await post(url, body);
    }
    if (r.status === 401 && ["not_signed_in", "invalid_token", "invalid_dpop_proof"].includes(r.data.code)) {
      location.href = "/console/signin?next=" + encodeURIComponent(location.pathname);
    }
    return r;
  }

  async function finish(r, target) {
    if (!r.ok) {
      const why = r.data.reason ? ` (${r.data.reason})` : "";
      say((r.data.title || `The request failed (${r.status}).`) + why, true);
      return;
    }
    if (r.data.next && r.data.reload !== true) {
      if (r.data.next.endsWith("/signin")) await forgetKey();
      location.href = r.data.next;
      return;
    }
    if (target && r.data.html !== undefined) { target.innerHTML = r.data.html; say(""); return; }
    say(r.data.message || "Done.");
    if (r.data.reload) setTimeout(() => location.reload(), 600);
  }

  function formJSON(form) {
    const data = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      data[el.name] = el.type === "checkbox" ? el.checked : el.value;
    }
    return data;
  }

  document.addEventListener("click", async (e) => {
    const button = e.target.closest("button[data-post]");
    if (button) {
      if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
      button.disabled = true;
      try {
        const body = button.dataset.body ? JSON.parse(button.dataset.body) : {};
        await finish(await act(button.dataset.post, body));
      } catch (err) { say(err.message, true); } finally { button.disabled = false; }
      return;
    }
    if (e.target.closest("[data-stepup-reload]") && (await stepUp())) location.reload();
  });

  document.addEventListener("submit", async (e) => {
    const form = e.target.closest("form[data-post]");
    if (!form) return;
    e.preventDefault();
    const button = form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    try {
      const target = form.dataset.target ? document.getElementById(form.dataset.target) : null;
      await finish(await act(form.dataset.post, formJSON(form)), target);
    } catch (err) { say(err.message, true); } finally { if (button) button.disabled = false; }
  });

  function live() {
    const root = document.getElementById("overview");
    if (!root || !window.EventSource) return;
    const state = document.getElementById("live-state");
    const stream = new EventSource(root.dataset.stream);
    let updated = 0;
    stream.addEventListener("overview", (e) => {
      updated = Date.now();
      const d = JSON.parse(e.data);
      for (const [name, points] of Object.entries(d.decisions.lines)) {
        document.getElementById("line-" + name)?.setAttribute("points", points);
        const total = document.getElementById("total-" + name);
        if (total) total.textContent = d.decisions.totals[name];
      }
      document.getElementById("decisions-top").textContent = d.decisions.top;
      document.getElementById("open-count").textContent = d.open;
      document.getElementById("signins-ok").textContent = d.signins.success;
      document.getElementById("signins-failed").textContent = d.signins.failure;
      for (const s of d.severity) {
        document.querySelector(`[data-sev="${s.label}"]`)?.setAttribute("width", s.width);
        const count = document.querySelector(`[data-sev-count="${s.label}"]`);
        if (count) { count.textContent = s.count; count.setAttribute("x", 86 + s.width); }
      }
      riskTable(d.risky);
      state.textContent = "Live · updated " + new Date().toLocaleTimeString();
    });
    stream.addEventListener("signedout", () => { location.href = "/console/signin"; });
    // Behind the gateway every snapshot is a request of its own, and the end of each one
    // reads as an error here: only a silence says the updates are not getting through.
    stream.onerror = () => {
      if (Date.now() - updated > 10000) state.textContent = "Live updates reconnecting…";
    };
  }

  function riskTable(rows) {
    const body = document.querySelector("#risky tbody");
    if (!body) return;
    body.replaceChildren(...rows.map((r) => {
      const tr = document.createElement("tr");
      const name = document.createElement("td"); name.textContent = r.name;
      const score = document.createElement("td"); score.textContent = String(r.score);
      const level = document.createElement("td");
      const badge = document.createElement("span"); badge.className = "badge " + r.level; badge.textContent = r.level;
      level.append(badge);
      tr.append(name, score, level);
      return tr;
    }));
  }

  function whatIfFiles() {
    const texts = document.getElementById("policy-texts");
    const file = document.getElementById("w-file");
    if (!texts || !file) return;
    const known = new Map(JSON.parse(texts.textContent));
    file.addEventListener("change", () => {
      if (known.has(file.value)) document.getElementById("w-text").value = known.get(file.value);
    });
  }

  document.addEventListener("DOMContentLoaded", () => { worker().catch(() => null); live(); whatIfFiles(); });
  return { b64u, unb64u, newKey, forgetKey, post, assertPasskey, createPasskey, say, worker };
})();
