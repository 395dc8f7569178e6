/** The HTML of the browser guest's page (the shell); its script is lib/web/guest/shell.ts. */
import { OWN_PREFIX } from "./guest/protocol.ts";

const STYLE = `
html, body { margin: 0; height: 100%; font: 13px/1.4 system-ui, sans-serif; }
body { display: flex; flex-direction: column; }
#tun-bar { display: flex; gap: 12px; align-items: center; padding: 4px 10px;
  background: #1d2430; color: #d8dee9; }
#tun-bar b { color: #fff; }
#tun-status.ok { color: #a3d9a5; }
#tun-status.error { color: #ff9b9b; }
#tun-timing { margin-left: auto; color: #8a94a6; }
#tun-notices .notice { padding: 4px 10px; background: #fff4d6; color: #5c4400;
  border-bottom: 1px solid #e8d9a8; }
#tun-app { flex: 1; border: 0; width: 100%; }
`;

export function shellPage(name: string): string {
  const safe = name.replace(/[^0-9A-Za-z]/g, "");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>tun · ${safe}</title>
<style>${STYLE}</style>
</head>
<body>
<div id="tun-bar"><b>tun</b><span id="tun-name">${safe}</span><span id="tun-status">starting ...</span><span id="tun-timing"></span></div>
<div id="tun-notices"></div>
<iframe id="tun-app" title="shared app"></iframe>
<noscript>The tun browser guest needs JavaScript.</noscript>
<script type="module" src="${OWN_PREFIX}shell.js"></script>
</body>
</html>
`;
}

/** The relay's landing page for /_tun/join without a session name. */
export function landingPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tun</title><style>${STYLE}</style></head>
<body><div id="tun-bar"><b>tun</b><span>open the link the host printed (tun p2p ... shows it as "open")</span></div></body></html>
`;
}
