// Sign-in (passkey with user verification, a fresh session key, the device link) and
// first-passkey enrolment. Uses ZT from console.js.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const show = (el, text) => { el.textContent = text; el.hidden = !text; };
  const problem = (r) => (r.data && r.data.title) || `The request failed (${r.status}).`;

  function signIn() {
    const root = $("signin");
    if (!root) return;
    const error = $("signin-error");
    let pair = null;
    let timer = null;

    // Behind the gateway every page load must be signed: the service worker must be
    // running before the browser goes on to a page.
    const go = async (target) => { await ZT.worker().catch(() => null); location.href = target; };

    async function complete(withoutDevice) {
      const r = await ZT.post("/console/signin/complete", { without_device: withoutDevice }, { pair, csrfToken: "" });
      if (r.ok && r.data.status === "signed_in") { clearInterval(timer); await go(root.dataset.next || r.data.next); }
      else if (!r.ok) { clearInterval(timer); show(error, problem(r)); $("link").hidden = true; }
    }

    $("signin-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      show(error, "");
      const username = $("username").value.trim();
      if (!username) { show(error, "Enter your username."); $("username").focus(); return; }
      $("signin-go").disabled = true;
      try {
        pair = await ZT.newKey(); // a new non-extractable key for every sign-in
        const options = await ZT.post("/console/signin/options", { username }, { pair, csrfToken: "" });
        if (!options.ok) throw new Error(problem(options));
        const credential = await ZT.assertPasskey(options.data);
        const verified = await ZT.post("/console/signin/verify", { username, credential }, { pair, csrfToken: "" });
        if (!verified.ok) throw new Error(problem(verified));
        const code = verified.data.code;
        $("link-code").textContent = code;
        $("link-ttl").textContent = verified.data.expires_in;
        $("link-command").textContent = `zt agent request POST /console/link --json '{"code": "${code}"}'`;
        $("signin-form").hidden = true;
        $("link").hidden = false;
        $("link-skip").focus();
        timer = setInterval(() => complete(false), 2000);
      } catch (err) {
        show(error, err.name === "NotAllowedError" ? "The passkey prompt was cancelled or timed out." : err.message);
      } finally { $("signin-go").disabled = false; }
    });
    $("link-skip").addEventListener("click", () => complete(true));

    // Already signed in here (the key is in this browser)? Try the page; if the session is
    // over, the gateway sends the browser back with a reason, and the form stays.
    if (root.dataset.resume === "true") {
      ZTKey.sessionKey().then((key) => { if (key) go(root.dataset.next); }).catch(() => null);
    }
  }

  function enrol() {
    const root = $("enrol");
    if (!root) return;
    const error = $("enrol-error");
    let pair = null;
    const step = (form, next) => { form.hidden = true; next.hidden = false; next.querySelector("input").focus(); };

    $("enrol-password").addEventListener("submit", async (e) => {
      e.preventDefault(); show(error, "");
      pair = await ZT.newKey();
      const body = { username: $("e-username").value.trim(), password: $("e-password").value };
      const r = await ZT.post("/console/enrol/password", body, { pair, csrfToken: "" });
      $("e-password").value = "";
      if (!r.ok) { show(error, problem(r)); return; }
      step($("enrol-password"), $("enrol-code"));
    });
    let creation = null;
    $("enrol-code").addEventListener("submit", async (e) => {
      e.preventDefault(); show(error, "");
      const r = await ZT.post("/console/enrol/code", { code: $("e-code").value.trim() }, { pair, csrfToken: "" });
      if (!r.ok) { show(error, problem(r)); return; }
      creation = r.data;
      step($("enrol-code"), $("enrol-passkey"));
    });
    $("enrol-passkey").addEventListener("submit", async (e) => {
      e.preventDefault(); show(error, "");
      try {
        const credential = await ZT.createPasskey(creation);
        const r = await ZT.post("/console/enrol/passkey", { credential, name: $("e-name").value }, { pair, csrfToken: "" });
        if (!r.ok) throw new Error(problem(r));
        $("enrol-passkey").hidden = true;
        $("enrol-done").hidden = false;
      } catch (err) { show(error, err.message); }
    });
  }

  document.addEventListener("DOMContentLoaded", () => { signIn(); enrol(); });
})();
