// The console's service worker: it signs every request the console's pages make — page
// loads, scripts' fetches, the live-update stream — with a DPoP proof by the session's
// browser key, so that zerotrust's gateway can verify each one (the session cookie alone
// is not enough there: a stolen cookie is useless without the key, which never leaves
// this browser). The ways in to a session (sign-in, enrolment, step-up) and the static
// files are public routes at the gateway and go out as they are, as does any request
// that already carries a proof (the scripts sign their own state-changing requests).
"use strict";

importScripts("/console/static/session-key.js");

const UNSIGNED = [/^\/console\/static\//, /^\/console\/sw\.js$/, /^\/console\/(signin|enrol|stepup)(\/|$)/];

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname !== "/console" && !url.pathname.startsWith("/console/")) return;
  if (UNSIGNED.some((r) => r.test(url.pathname)) || request.headers.has("DPoP")) return;
  event.respondWith(signed(request));
});

async function signed(request) {
  let key = null;
  try { key = await self.ZTKey.sessionKey(); } catch (e) { key = null; }
  if (!key) return fetch(request); // no session here: the gateway sends the page to sign in
  const headers = new Headers(request.headers);
  headers.set("DPoP", await self.ZTKey.proof(request.method, request.url, key));
  // A navigation asks for a page; say so, since this fetch is no longer a navigation.
  if (request.mode === "navigate") headers.set("Accept", "text/html");
  const init = {
    method: request.method,
    headers,
    credentials: "same-origin",
    cache: "no-store",
    // A redirect is the browser's to follow: as a navigation of its own, signed afresh.
    redirect: request.mode === "navigate" ? "manual" : "follow",
    signal: request.signal,
  };
  if (request.method !== "GET" && request.method !== "HEAD") init.body = await request.arrayBuffer();
  return fetch(request.url, init);
}
