// Entry point: pick the transport (the Electron preload bridge when present, else the HTTP
// API of `sekisho serve` on this same origin) and the language, then mount the app.
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { preloadClient } from './lib/api/preload-client.js';
import { httpClient } from './lib/api/http-client.js';
import type { PreloadBridge } from './lib/api/client.js';
import { I18n } from './lib/i18n/i18n.svelte.js';

const bridge = (window as unknown as { sekisho?: PreloadBridge }).sekisho;
const api = bridge ? preloadClient(bridge) : httpClient('');
const i18n = new I18n();

mount(App, { target: document.getElementById('app')!, props: { api, i18n } });
