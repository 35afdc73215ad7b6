// Entry point: theme variables, then the app shell (which imports each panel).
import { loadConfig } from './config.ts';
import './theme.css';
import './components/cb-app.ts';

// Take the preloaded /config.json at once, signed in or not (an unused preload is a console warning);
// a failure shows where it is used.
loadConfig().catch(() => undefined);
