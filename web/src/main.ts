// Entry point: the panel's first request (early.ts must stay the first import: its body runs
// before Lit and the panels are evaluated), theme variables, then the app shell.
import './early.ts';
import { loadConfig } from './config.ts';
import './theme.css';
import './components/cb-app.ts';

// Take the preloaded /config.json at once, signed in or not (an unused preload is a console warning);
// a failure shows where it is used.
loadConfig().catch(() => undefined);
